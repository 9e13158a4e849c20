"""The built-in simulated carrier against our own trunk code, over real sockets on loopback: every
outcome kind, RTP both ways, BYE from either side, CANCEL on the ring timeout, the 200/CANCEL race,
and a run of 500 calls where each call ends as the carrier decided for its Call-ID."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dialer.config import SimulationProfile, SipSettings, TrunkSettings
from dialer.voice.carrier import SimulatedCarrier
from dialer.voice.trunks import open_agent
from sip.streams.clock import MediaClock
from sip.streams.session import agent_offer, call_with_media
from sip.useragent import Category, UserAgent

EXPECTED = {"human": Category.ANSWERED, "machine": Category.ANSWERED, "busy": Category.BUSY,
            "no_answer": Category.NO_ANSWER, "invalid": Category.INVALID_NUMBER,
            "congestion": Category.CONGESTION}  # fmt: skip


@asynccontextmanager
async def carrier(
    profile: SimulationProfile, *, seed: int = 1
) -> AsyncIterator[tuple[SimulatedCarrier, UserAgent]]:
    clock = MediaClock()
    settings = TrunkSettings(kind="simulated", max_channels=1000, max_cps=1000, simulate=profile)
    sim = SimulatedCarrier("sim", settings, clock, seed=seed)
    await sim.start()
    agent = await open_agent("sim", sim.trunk(), SipSettings())
    try:
        if profile.registers:
            assert (await agent.register()).ok
        yield sim, agent
    finally:
        await sim.stop()
        await agent.settle(2.0)
        agent.stack.close()


async def test_every_outcome_by_last_digit_with_audio_both_ways_and_a_bye_from_the_carrier() -> None:
    profile = SimulationProfile(deterministic=True, post_dial_delay=(0.0, 0.05), ring=(0.1, 0.3),
                                talk=(1.5, 1.5), register=True)  # fmt: skip
    async with carrier(profile) as (sim, agent):
        placed = await asyncio.gather(*(
            call_with_media(agent, sim.clock, f"+7912000000{digit}", caller_id="7495", ring_timeout=2.0)
            for digit in range(10)
        ))  # fmt: skip
        answered = [(call, leg) for call, leg in placed if leg is not None]
        await asyncio.gather(*(call.wait_ended() for call, _ in answered))
        for call, leg in answered:
            assert call.hangup_by == "remote"  # the carrier's person hung up after talking
            assert leg.stats.received > 40, leg.stats  # their greeting reached us
            leg.close()
        await asyncio.sleep(0.2)
    by_digit = {call.invite.uri.split("@")[0][-1]: call for call, _ in placed}
    for digit, call in by_digit.items():
        decided = sim.decided[call.call_id]
        assert call.category is EXPECTED[decided], (digit, decided, call.category, call.status)
    assert [sim.decided[by_digit[d].call_id] for d in "0459678"] == [
        "human", "machine", "busy", "human", "no_answer", "invalid", "congestion"]  # fmt: skip
    assert by_digit["6"].status == 487  # rang until our ring timer cancelled it
    for call, _ in answered:
        far = sim.outcome_of(call.call_id)
        assert far is not None and far.ended_by == "callee" and far.heard_packets > 20  # we were heard too


async def test_our_bye_ends_the_call_at_the_carrier() -> None:
    profile = SimulationProfile(
        deterministic=True, post_dial_delay=(0.0, 0.0), ring=(0.1, 0.1), talk=(30, 30)
    )
    async with carrier(profile) as (sim, agent):
        call, leg = await call_with_media(agent, sim.clock, "+79120000001", caller_id="1", ring_timeout=5)
        assert leg is not None
        await asyncio.sleep(0.3)
        call.hangup()
        await call.wait_ended()
        leg.close()
        await agent.settle(2.0)
        far = sim.outcome_of(call.call_id)
        assert call.hangup_by == "local" and far is not None and far.ended_by == "caller"
        assert sim.answerer.calls == {}


async def test_a_200_crossing_our_cancel_leaves_no_call_up_at_the_carrier() -> None:
    """The carrier answers just as our ring timer cancels: whichever wins, no call stays up."""
    profile = SimulationProfile(
        deterministic=True, post_dial_delay=(0.0, 0.0), ring=(0.5, 0.5), talk=(30, 30)
    )
    async with carrier(profile) as (sim, agent):
        legs = [await agent_offer(agent, sim.clock, agent.trunk, session_id=i) for i in range(40)]
        calls = await asyncio.gather(*(
            agent.originate(f"+7912000{i:04d}0", caller_id="1", sdp=offer, ring_timeout=0.496 + i % 5 * 0.002)
            for i, (_, offer) in enumerate(legs)
        ))  # fmt: skip
        await asyncio.gather(*(asyncio.wait_for(c.wait(), 10) for c in calls))
        for call in calls:
            if call.category is Category.ANSWERED:
                call.hangup()
        await asyncio.gather(*(asyncio.wait_for(c.wait_ended(), 10) for c in calls))
        await agent.settle(2.0)
        for leg, _ in legs:
            leg.close()
        deadline = time.monotonic() + 5
        while sim.answerer.calls and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        assert sim.answerer.calls == {}  # nothing left ringing or talking at the far end
    outcomes = Counter(c.category for c in calls)
    assert set(outcomes) <= {Category.ANSWERED, Category.NO_ANSWER}, outcomes
    for call in calls:
        far = sim.outcome_of(call.call_id)
        assert far is not None
        if call.category is Category.NO_ANSWER:  # cancelled in time (487), or taken and ended at once
            assert far.outcome == "cancelled" or far.ended_by == "caller", (
                far.final,
                far.ended_by,
                far.acked,
                call.status,
                [e.kind for e in call.events],
            )


async def test_five_hundred_calls_each_end_as_the_carrier_decided() -> None:
    profile = SimulationProfile(post_dial_delay=(0.0, 0.1), ring=(0.1, 0.6), talk=(0.2, 0.8), machine=0.2)
    async with carrier(profile, seed=7) as (sim, agent):
        sink, offer = await agent_offer(
            agent, sim.clock, agent.trunk, session_id=1
        )  # one port takes all audio
        calls = []
        for i in range(500):
            calls.append(await agent.originate(f"+7912{i:07d}", caller_id="1", sdp=offer, ring_timeout=5.0))
            if i % 25 == 24:
                await asyncio.sleep(0.05)
        await asyncio.gather(*(asyncio.wait_for(c.wait_ended(), 30) for c in calls))
        sink.close()
    decided = Counter(sim.decided[c.call_id] for c in calls)
    assert set(decided) == set(EXPECTED), decided  # every kind happened
    wrong = [(c.call_id, sim.decided[c.call_id], c.category) for c in calls
             if c.category is not EXPECTED[sim.decided[c.call_id]]]  # fmt: skip
    assert not wrong, wrong[:5]
