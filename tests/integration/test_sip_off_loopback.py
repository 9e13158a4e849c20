"""The dialer reached off loopback: a carrier in its own network namespace (no 127.x anywhere), with
Kamailio authenticating INVITEs and checking the From user against the account, and SIPp behind it as
the callee who hangs up. Our Via, Contact and SDP must name the address the carrier can reach, so the
callee's BYE comes back through Kamailio by our Contact; the caller ID goes in P-Asserted-Identity,
not the From user; answers' received/rport are learned and registered."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dialer.config import SipSettings, TrunkSettings
from dialer.voice.trunks import open_agent
from sip.message import Request, parse_message
from sip.stack import SipStack
from sip.streams.clock import MediaClock
from sip.streams.session import agent_offer
from sip.useragent import CallState
from tests.integration.netns import carrier_network
from tests.integration.sip_peers import kamailio, sipp_uas

USERS = {"100200": "s3cret-pass"}


@pytest.mark.parametrize("caller_id_in", ["auto", "rpid", "display"])
async def test_a_call_through_an_authenticating_carrier_off_loopback(
    tmp_path: Path, caller_id_in: str
) -> None:
    far, edge = tmp_path / "far", tmp_path / "edge"
    far.mkdir()
    edge.mkdir()
    with carrier_network() as net, \
            sipp_uas("answer_remote_bye_proxied.xml", far, namespace=net.name,
                     extra=["-trace_msg"]) as sipp, \
            kamailio(edge, users=USERS, far_end=sipp.port, host=net.theirs, from_check=True,
                     namespace=net.name) as carrier:  # fmt: skip
        trunk = TrunkSettings(host=net.theirs, port=carrier.port, username="100200", password="s3cret-pass",
                              caller_id="74951234567", caller_id_in=caller_id_in)  # fmt: skip
        agent = await open_agent("main", trunk, SipSettings())
        try:
            assert agent.stack.local[0] == net.ours  # the interface that routes to the carrier
            assert (await asyncio.wait_for(agent.register(), 10)).ok
            # the offer as the engine's telephony makes it: bound on the routed address, naming the
            # configured or learned public one
            leg, offer = await agent_offer(agent, MediaClock(), agent.trunk, session_id=1)
            leg.close()
            call = await agent.originate("79123456789", caller_id="74951234567", sdp=offer)
            assert await asyncio.wait_for(call.wait(), 10) is CallState.ANSWERED, call.events
            await asyncio.wait_for(call.wait_ended(), 10)  # the callee's BYE found us by our Contact
            assert call.hangup_by == "remote"
            assert await asyncio.to_thread(sipp.wait) == 0, sipp.errors()
        finally:
            agent.stack.close()
    invite = received_invite(far)
    text = str(invite.headers.get("Contact")) + " ".join(invite.headers.get_all("Via")) + invite.body.decode()
    assert "0.0.0.0" not in text and "127.0.0.1:" not in str(invite.headers.get("Contact"))
    assert f"@{net.ours}:" in str(invite.headers.get("Contact"))
    assert f"c=IN IP4 {net.ours}" in invite.body.decode()
    assert "<sip:100200@" in str(invite.headers.get("From"))  # the account, which Kamailio checked
    assert '"74951234567"' in str(invite.headers.get("From"))  # the number as display name
    if caller_id_in == "auto":
        assert "74951234567" in str(invite.headers.get("P-Asserted-Identity"))
    elif caller_id_in == "rpid":
        assert "74951234567" in str(invite.headers.get("Remote-Party-ID"))


def received_invite(workdir: Path) -> Request:
    """The INVITE SIPp received (from its -trace_msg log)."""
    log = next(workdir.glob("*_messages.log")).read_text(errors="replace")
    start = log.index("INVITE sip:")
    end = log.index("\n\n----", start) if "\n\n----" in log[start:] else len(log)
    raw = log[start:end].strip().replace("\r\n", "\n").replace("\n", "\r\n")
    head, _, body = raw.partition("\r\n\r\n")
    message = parse_message((head + "\r\n\r\n" + body + ("\r\n" if body else "")).encode())
    assert isinstance(message, Request)
    return message


async def test_the_from_user_check_refuses_the_caller_id_as_from_user(tmp_path: Path) -> None:
    """What the held-out carrier did to us: with the number as From user, 403."""
    with carrier_network() as net, kamailio(tmp_path, users=USERS, far_end=9, host=net.theirs,
                                            from_check=True, namespace=net.name) as carrier:  # fmt: skip
        trunk = TrunkSettings(host=net.theirs, port=carrier.port, username="100200", password="s3cret-pass",
                              caller_id_in="from")  # fmt: skip
        agent = await open_agent("main", trunk, SipSettings())
        try:
            call = await agent.originate("79123456789", caller_id="74951234567")
            assert await asyncio.wait_for(call.wait(), 10) is CallState.FAILED
            assert call.status == 403
        finally:
            agent.stack.close()


async def test_received_and_rport_are_learned_and_registered() -> None:
    """A registrar behind NAT reports where it saw us (RFC 3581); we register that address."""
    registrar = SipStack()
    await registrar.open("127.0.0.1", 0)
    contacts: list[str] = []

    def answer(request: Request, _address: tuple[str, int]) -> None:
        from sip.stack import response_to

        contacts.append(str(request.headers.get("Contact")))
        response = response_to(request, 200, "OK", to_tag="t")
        via = response.headers.get_all("Via")[0]
        response.headers.set("Via", via.replace(";rport", ";received=203.0.113.7;rport=40123"))
        response.headers.add("Contact", f"{request.headers.get('Contact')};expires=300")
        registrar.respond(request, response)

    registrar.request_handler = answer
    trunk = TrunkSettings(host="127.0.0.1", port=registrar.local[1], username="u1", password="p1")
    agent = await open_agent("main", trunk, SipSettings())
    try:
        await asyncio.wait_for(agent.register(), 10)
        assert agent.stack.sent_by(agent.trunk) == ("203.0.113.7", 40123)
        assert len(contacts) == 2 and "@203.0.113.7:40123" in contacts[1]  # registered again at once
    finally:
        agent.stack.close()
        registrar.close()


async def test_a_configured_public_address_is_named_and_nothing_is_learned() -> None:
    trunk = TrunkSettings(host="127.0.0.1", port=9, register=False)
    agent = await open_agent("main", trunk, SipSettings(public_address="198.51.100.20:5080"))
    try:
        assert agent.stack.sent_by(agent.trunk) == ("198.51.100.20", 5080)
        assert not agent.learn_address
    finally:
        agent.stack.close()
