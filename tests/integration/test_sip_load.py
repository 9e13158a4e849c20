"""1,000 calls at 20 per second through Kamailio to a SIPp far end that answers, is busy or rings
until we cancel, at random. Every call must end in exactly one outcome, the one SIPp logged for that
Call-ID; SIPp exits 0 only if every 200 was ACKed and every call followed its branch; and nothing is
left over afterwards."""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path

from sip.stack import SipStack
from sip.transaction import Timers
from sip.useragent import Call, Category, Credentials, UserAgent
from tests.integration.sip_peers import kamailio, sipp_uas

CALLS = 1000
RATE = 20.0
# Short transaction timers so that leftovers show within seconds (loopback, no loss).
TIMERS = Timers(t1=0.1, t2=1.0, t4=0.5, d=1.0)


async def place(agent: UserAgent, number: str) -> Call:
    call = await agent.originate(number, caller_id="100200", ring_timeout=2.0)
    await asyncio.wait_for(call.wait(), 30)
    if call.category is Category.ANSWERED:
        await asyncio.sleep(0.3)
        call.hangup()
    await asyncio.wait_for(call.wait_ended(), 30)
    return call


async def test_thousand_calls_each_end_once_as_the_far_end_says(tmp_path: Path) -> None:
    far, carrier_dir = tmp_path / "far", tmp_path / "carrier"
    far.mkdir()
    carrier_dir.mkdir()
    stack = SipStack(TIMERS)
    await stack.open("127.0.0.1", 0)
    try:
        with (
            sipp_uas("random_far_end.xml", far, calls=CALLS, timeout=300) as sipp,
            kamailio(carrier_dir, users={"100200": "s3cret-pass"}, far_end=sipp.port) as carrier,
        ):
            agent = UserAgent(stack, ("127.0.0.1", carrier.port), domain="127.0.0.1",
                              credentials=Credentials("100200", "s3cret-pass"))  # fmt: skip
            tasks = []
            async with asyncio.TaskGroup() as group:
                for i in range(CALLS):
                    tasks.append(group.create_task(place(agent, f"7900{i:07d}")))
                    await asyncio.sleep(1 / RATE)
            calls = [t.result() for t in tasks]
            assert await asyncio.to_thread(sipp.wait, 120) == 0, sipp.errors()[-3000:]
            far_end = sipp.outcomes()

        ours = {call.call_id: call.category.value if call.category else "none" for call in calls}
        assert len(ours) == CALLS
        mismatched = {cid: (ours[cid], far_end.get(cid)) for cid in ours if far_end.get(cid) != [ours[cid]]}
        assert not mismatched, list(mismatched.items())[:5]
        counts = collections.Counter(ours.values())
        assert set(counts) == {"answered", "busy", "no_answer"} and min(counts.values()) > CALLS / 6, counts
        assert all(c.hangup_by == "local" for c in calls if c.category is Category.ANSWERED)

        await asyncio.sleep(64 * TIMERS.t1 + 1)  # every transaction and call record should be gone
        assert stack.transaction_count == 0
        assert agent.calls == {}
        assert stack.malformed == 0
    finally:
        stack.close()
