"""The stack routes by method: REGISTER to the registrar, the rest to the user agent, whichever of the
two was set up on the stack first."""

from __future__ import annotations

import pytest

from sip.registrar import Registrar
from sip.stack import SipStack
from sip.useragent import Credentials, UserAgent


@pytest.mark.parametrize("registrar_first", [True, False])
async def test_register_and_options_reach_their_handler_in_either_order(registrar_first: bool) -> None:
    server, phone = SipStack(), SipStack()
    await server.open("127.0.0.1", 0)
    await phone.open("127.0.0.1", 0)
    try:
        registrar = Registrar(server, realm="dialer", password_of={"100": "s3cret"}.get)
        if registrar_first:
            registrar.install()
            UserAgent(server, ("127.0.0.1", 9), domain="dialer")
        else:
            UserAgent(server, ("127.0.0.1", 9), domain="dialer")
            registrar.install()
        client = UserAgent(phone, server.local, domain="dialer", credentials=Credentials("100", "s3cret"))
        registration = await client.register(expires=60)
        assert registration.ok and registrar.binding("100") is not None  # the registrar took REGISTER
        status, _ = await client.ping()
        assert status == 200  # OPTIONS went to the user agent, which answers it
    finally:
        server.close()
        phone.close()
