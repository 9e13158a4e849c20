"""Our user agent against SIPp as the far end, on loopback: answer, busy, ring timeout with CANCEL,
and a BYE from the far end. SIPp exits with 0 only when the call followed its scenario exactly,
which proves we ACKed what had to be ACKed and answered its BYE."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sip.sdp import make_offer
from sip.stack import SipStack
from sip.useragent import CallState, Category, UserAgent
from tests.integration.sip_peers import sipp_uac, sipp_uas


def agent(stack: SipStack, port: int) -> UserAgent:
    return UserAgent(stack, ("127.0.0.1", port), domain="127.0.0.1")


async def test_answered_call_ended_by_the_far_end(stack: SipStack, tmp_path: Path) -> None:
    with sipp_uas("answer_remote_bye.xml", tmp_path) as sipp:
        offer = bytes(make_offer("127.0.0.1", 30000, session_id=1))
        call = await agent(stack, sipp.port).originate("79123456789", caller_id="dialer", sdp=offer)
        assert await asyncio.wait_for(call.wait(), 10) is CallState.ANSWERED
        assert call.category is Category.ANSWERED and b"PCMA/8000" in call.remote_sdp
        await asyncio.wait_for(call.wait_ended(), 10)
        assert call.hangup_by == "remote"
        assert [e.kind for e in call.events] == ["ringing", "answered", "ended"]
        assert await asyncio.to_thread(sipp.wait) == 0, sipp.errors()
    assert stack.malformed == 0


async def test_busy_is_reported_and_acked(stack: SipStack, tmp_path: Path) -> None:
    with sipp_uas("busy.xml", tmp_path) as sipp:
        call = await agent(stack, sipp.port).originate("79000000000", caller_id="dialer")
        assert await asyncio.wait_for(call.wait(), 10) is CallState.FAILED
        assert (call.status, call.category) == (486, Category.BUSY)
        assert await asyncio.to_thread(sipp.wait) == 0, sipp.errors()


async def test_ring_timeout_cancels_and_counts_as_no_answer(stack: SipStack, tmp_path: Path) -> None:
    with sipp_uas("ring_until_cancel.xml", tmp_path) as sipp:
        call = await agent(stack, sipp.port).originate("79111111111", caller_id="dialer", ring_timeout=1.0)
        assert await asyncio.wait_for(call.wait(), 10) is CallState.FAILED
        assert (call.status, call.category) == (487, Category.NO_ANSWER)
        assert call.events[0].kind == "ringing"
        assert await asyncio.to_thread(sipp.wait) == 0, sipp.errors()


async def test_answer_crossing_our_cancel_is_acked_and_ended_with_bye(
    stack: SipStack, tmp_path: Path
) -> None:
    with sipp_uas("answer_after_cancel.xml", tmp_path) as sipp:
        call = await agent(stack, sipp.port).originate("79222222222", caller_id="dialer", ring_timeout=1.0)
        assert await asyncio.wait_for(call.wait(), 10) is CallState.FAILED
        assert call.category is Category.NO_ANSWER  # we gave up at the ring timeout: no ghost call
        assert call.status == 200  # the true final status stays on the record
        assert await asyncio.to_thread(sipp.wait) == 0, sipp.errors()  # it got the ACK and the BYE


async def test_options_from_the_network_are_answered(stack: SipStack, tmp_path: Path) -> None:
    agent(stack, 9)  # installs the request handler
    assert await asyncio.to_thread(sipp_uac, "options_uac.xml", tmp_path, stack.local) == 0


async def test_session_refresh_by_update_is_answered(stack: SipStack, tmp_path: Path) -> None:
    with sipp_uas("answer_update_bye.xml", tmp_path) as sipp:
        call = await agent(stack, sipp.port).originate("79333333333", caller_id="dialer")
        assert await asyncio.wait_for(call.wait(), 10) is CallState.ANSWERED
        await asyncio.wait_for(call.wait_ended(), 10)
        assert call.hangup_by == "remote"
        assert await asyncio.to_thread(sipp.wait) == 0, sipp.errors()  # our 200 to its UPDATE arrived


FAILURES = {
    "404": (404, "Not Found", False, Category.INVALID_NUMBER, ["failed"]),
    "503": (503, "Service Unavailable", False, Category.CONGESTION, ["failed"]),
    "183-then-480": (480, "Temporarily Unavailable", True, Category.NO_ANSWER, ["early_media", "failed"]),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
async def test_failures_are_categorised_and_acked(stack: SipStack, tmp_path: Path, case: str) -> None:
    status, reason, early, category, kinds = FAILURES[case]
    template = (Path(__file__).parent / "sipp" / "final_status.xml.in").read_text()
    filled = template.replace("@STATUS@", str(status)).replace("@REASON@", reason)
    scenario = tmp_path / f"final_{status}.xml"
    scenario.write_text(filled.replace("@EARLY@", str(int(early))).replace("@NO_EARLY@", str(int(not early))))
    with sipp_uas(str(scenario), tmp_path) as sipp:
        call = await agent(stack, sipp.port).originate("79444444444", caller_id="dialer")
        assert await asyncio.wait_for(call.wait(), 10) is CallState.FAILED
        assert (call.status, call.category) == (status, category)
        assert [e.kind for e in call.events] == kinds
        assert await asyncio.to_thread(sipp.wait) == 0, sipp.errors()  # it got our ACK
