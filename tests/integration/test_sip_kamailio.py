"""Our user agent against Kamailio as the carrier: digest registration (with and without qop), a
clear error for a wrong password, and an authenticated call proxied to a SIPp far end."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sip.stack import SipStack
from sip.useragent import CallState, Credentials, RegistrationError, UserAgent
from tests.integration.sip_peers import kamailio, sipp_uas

USERS = {"100200": "s3cret-pass"}


@pytest.mark.parametrize("qop", [True, False], ids=["qop-auth", "no-qop"])
async def test_register_with_digest(stack: SipStack, tmp_path: Path, qop: bool) -> None:
    with kamailio(tmp_path, users=USERS, qop=qop) as carrier:
        agent = UserAgent(stack, ("127.0.0.1", carrier.port), domain="127.0.0.1",
                          credentials=Credentials("100200", "s3cret-pass"))  # fmt: skip
        registration = await asyncio.wait_for(agent.register(expires=600), 10)
        assert registration.ok and registration.status == 200
        assert registration.expires == 300  # the registrar's max_expires, not what we asked
        assert 0 < registration.rtt < 5


async def test_wrong_password_is_a_clear_error(stack: SipStack, tmp_path: Path) -> None:
    with kamailio(tmp_path, users=USERS) as carrier:
        agent = UserAgent(stack, ("127.0.0.1", carrier.port), domain="127.0.0.1",
                          credentials=Credentials("100200", "wrong"))  # fmt: skip
        with pytest.raises(RegistrationError, match="refused \\(wrong username or password\\?\\)") as caught:
            await asyncio.wait_for(agent.register(), 10)
        assert caught.value.status == 401


async def test_authenticated_call_through_the_proxy(stack: SipStack, tmp_path: Path) -> None:
    far = tmp_path / "far"
    far.mkdir()
    carrier_dir = tmp_path / "carrier"
    carrier_dir.mkdir()
    with (
        sipp_uas("answer_remote_bye_proxied.xml", far) as sipp,
        kamailio(carrier_dir, users=USERS, far_end=sipp.port) as carrier,
    ):
        agent = UserAgent(stack, ("127.0.0.1", carrier.port), domain="127.0.0.1",
                          credentials=Credentials("100200", "s3cret-pass"))  # fmt: skip
        call = await agent.originate("79123456789", caller_id="100200")
        assert await asyncio.wait_for(call.wait(), 10) is CallState.ANSWERED, call.events
        assert call.dialog is not None and call.dialog.route_set  # Kamailio record-routed
        await asyncio.wait_for(call.wait_ended(), 10)
        assert call.hangup_by == "remote"
        assert await asyncio.to_thread(sipp.wait) == 0, sipp.errors()


async def test_pool_keeps_registrations_fresh_and_says_why_a_trunk_is_down(tmp_path: Path) -> None:
    from decimal import Decimal

    from dialer.config import Tariff, TrunkSettings
    from sip.trunks import TrunkPool, TrunkState

    config = TrunkSettings(
        host="127.0.0.1", username="100200", password="x", tariffs=[Tariff(price_per_minute=Decimal(1))]
    )
    stacks = [SipStack(), SipStack()]
    for s in stacks:
        await s.open("127.0.0.1", 0)
    with kamailio(tmp_path, users=USERS, max_expires=2) as carrier:
        good = UserAgent(
            stacks[0],
            ("127.0.0.1", carrier.port),
            domain="127.0.0.1",
            credentials=Credentials("100200", "s3cret-pass"),
        )
        bad = UserAgent(
            stacks[1],
            ("127.0.0.1", carrier.port),
            domain="127.0.0.1",
            credentials=Credentials("100200", "nope"),
        )
        pool = TrunkPool(
            {"good": TrunkState("good", config, good), "bad": TrunkState("bad", config, bad)}, check_every=0.5
        )
        await pool.start()
        try:
            assert pool.down == {"bad"}
            assert "registration failed: 401 Unauthorized" in pool.trunks["bad"].reason
            await asyncio.sleep(3.5)  # granted 2 s: refreshed every second
            assert pool.trunks["good"].registrations >= 3 and pool.trunks["good"].up
        finally:
            await pool.stop()
            for s in stacks:
                s.close()
