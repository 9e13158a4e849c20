"""Opening the configured trunks as SIP user agents (for the CLI now, the engine later).

A ``kind = "sip"`` trunk becomes a :class:`~sip.useragent.UserAgent` on its own UDP socket; the
built-in simulated carrier has no SIP side yet and is reported as such.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dialer.config import TrunkSettings
from dialer.errors import DialerError
from sip.stack import SipStack
from sip.useragent import Credentials, UserAgent


class TrunkUnavailable(DialerError):
    """A trunk cannot be used as configured (simulated, unresolvable host, ...)."""


@asynccontextmanager
async def open_trunk(name: str, trunk: TrunkSettings) -> AsyncIterator[UserAgent]:
    """A user agent for ``trunk``; its socket is closed on exit."""
    if trunk.kind != "sip" or trunk.host is None:
        raise TrunkUnavailable(f"trunk {name}: the built-in simulated carrier places no SIP calls yet")
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(trunk.host, trunk.port, type=2)  # SOCK_DGRAM
    except OSError as exc:
        raise TrunkUnavailable(f"trunk {name}: cannot resolve {trunk.host}: {exc.strerror or exc}") from None
    address = (str(infos[0][4][0]), int(infos[0][4][1]))
    local = "127.0.0.1" if address[0].startswith("127.") else "0.0.0.0"
    stack = SipStack()
    await stack.open(local, 0)
    credentials = None
    if trunk.registers and trunk.username and trunk.password is not None:
        credentials = Credentials(trunk.username, trunk.password.get_secret_value())
    try:
        yield UserAgent(stack, address, domain=trunk.from_domain or trunk.host, credentials=credentials)
    finally:
        stack.close()
