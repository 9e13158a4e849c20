"""Opening the configured trunks as SIP user agents: one opener for the engine, the CLI and the benches.

A ``kind = "sip"`` trunk becomes a :class:`~sip.useragent.UserAgent` on its own UDP socket, bound to
the trunk's ``local_address`` or else to the address that routes to the carrier, so that Via, Contact
and SDP name an address the carrier can reach (a socket on 0.0.0.0 would name 0.0.0.0, and the callee's
BYE could never come back). Behind NAT, ``[sip] public_address`` is named instead; without it the
address the carrier reports having seen us at (``received``/``rport``) is learned and registered. The
presented number goes where the trunk's ``caller_id_in`` says, the From user staying the account.
A ``kind = "simulated"`` trunk is opened by :mod:`dialer.voice.side`, which starts the built-in
carrier first and opens the SIP trunk that reaches it here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dialer.config import SipSettings, TrunkSettings
from dialer.errors import DialerError
from sip.stack import Address, SipStack, route_address
from sip.useragent import Credentials, UserAgent


class TrunkUnavailable(DialerError):
    """A trunk cannot be used as configured (simulated, unresolvable host, ...)."""


async def resolve(name: str, trunk: TrunkSettings) -> Address:
    """The carrier's address for ``trunk``; :class:`TrunkUnavailable` when it cannot be used."""
    if trunk.kind != "sip" or trunk.host is None:
        raise TrunkUnavailable(f"trunk {name}: the built-in simulated carrier runs inside `dialer serve`")
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(trunk.host, trunk.port, type=2)  # SOCK_DGRAM
    except OSError as exc:
        raise TrunkUnavailable(f"trunk {name}: cannot resolve {trunk.host}: {exc.strerror or exc}") from None
    return (str(infos[0][4][0]), int(infos[0][4][1]))


def advertised(public_address: str | None, port: int) -> Address | None:
    """``[sip] public_address`` as (host, port): ``host`` alone keeps our own port."""
    if not public_address:
        return None
    host, colon, given = public_address.rpartition(":")
    if colon and given.isdigit() and host and not host.endswith(":"):
        return (host, int(given))
    return (public_address, port)


async def open_agent(name: str, trunk: TrunkSettings, sip: SipSettings | None = None) -> UserAgent:
    """A user agent for ``trunk`` on a socket of its own (the caller closes ``agent.stack``)."""
    sip = sip or SipSettings()
    address = await resolve(name, trunk)
    stack = SipStack()
    try:
        await stack.open(trunk.local_address or route_address(address), 0)
    except OSError as exc:
        raise TrunkUnavailable(f"trunk {name}: cannot open a SIP socket: {exc.strerror or exc}") from None
    stack.advertised = advertised(sip.public_address, stack.local[1])
    credentials = None
    if trunk.registers and trunk.username and trunk.password is not None:
        credentials = Credentials(trunk.username, trunk.password.get_secret_value())
    agent = UserAgent(
        stack,
        address,
        domain=trunk.from_domain or trunk.host or address[0],
        credentials=credentials,
        account=trunk.username,
        caller_id_in=trunk.caller_id_in,
        learn_address=sip.public_address is None,
    )
    agent.media_ports = sip.rtp_ports
    return agent


@asynccontextmanager
async def open_trunk(
    name: str, trunk: TrunkSettings, sip: SipSettings | None = None
) -> AsyncIterator[UserAgent]:
    """A user agent for ``trunk``; its socket is closed on exit."""
    agent = await open_agent(name, trunk, sip)
    try:
        yield agent
    finally:
        agent.stack.close()
