"""What the built-in simulated carrier costs: CPU of the carrier's process per 100 concurrent calls with
RTP both ways (so the demo's load on a 2-core machine is known).

    python bench/simulated_carrier.py --calls 100 --seconds 30

The carrier (``dialer.voice.carrier``, every call answered, audio from the shipped voices) runs in
this process; a child process places the calls through an ordinary trunk with our user agent and
holds them, sending and receiving 50 RTP packets a second each. Printed: the carrier process's CPU
over the hold (user + system, share of one core, and per 100 calls), its RSS, and the packets its legs
sent and received.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialer.config import SimulationProfile, SipSettings, TrunkSettings
from dialer.voice.carrier import SimulatedCarrier
from dialer.voice.trunks import open_agent
from sip.streams.clock import MediaClock
from sip.streams.session import call_with_media


def caller(trunk_json: str, calls: int, hold: float, ready: multiprocessing.synchronize.Event) -> None:
    async def run() -> None:
        trunk = TrunkSettings.model_validate_json(trunk_json)
        agent = await open_agent("sim", trunk, SipSettings())
        clock = MediaClock()
        placed = []
        for i in range(calls):
            placed.append(
                await call_with_media(agent, clock, f"+7912{i:07d}0", caller_id="1", ring_timeout=10)
            )
        ready.set()
        await asyncio.sleep(hold)
        for call, leg in placed:
            call.hangup()
            if leg is not None:
                leg.close()
        await agent.settle(5.0)
        agent.stack.close()

    asyncio.run(run())


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    print("command:", shlex.join([Path(sys.executable).name, *sys.argv]))
    profile = SimulationProfile(deterministic=True, post_dial_delay=(0, 0), ring=(0.1, 0.1),
                                talk=(3600, 3600))  # fmt: skip
    settings = TrunkSettings(kind="simulated", max_channels=100_000, max_cps=10_000, simulate=profile)
    carrier = SimulatedCarrier("sim", settings, MediaClock())
    await carrier.start()
    trunk = carrier.trunk().model_copy(update={"password": None})
    ready = multiprocessing.get_context("spawn").Event()
    child = multiprocessing.get_context("spawn").Process(
        target=caller, args=(trunk.model_dump_json(), args.calls, args.seconds + 10, ready)
    )
    child.start()
    await asyncio.to_thread(ready.wait, 300)
    await asyncio.sleep(3.0)  # settle
    legs = [c.leg for c in carrier.answerer.calls.values() if c.leg is not None]
    sent0, received0 = sum(leg.stats.sent for leg in legs), sum(leg.stats.received for leg in legs)
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(args.seconds)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    sent = sum(leg.stats.sent for leg in legs) - sent0
    received = sum(leg.stats.received for leg in legs) - received0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    share = cpu / wall
    print(f"{len(legs)} answered calls held {wall:.0f} s at the simulated carrier, RTP both ways")
    print(f"  carrier CPU: {share:.1%} of one core = {share / max(len(legs), 1) * 100:.1%} per 100 calls")
    print(f"  packets: sent {sent / wall:,.0f}/s, received {received / wall:,.0f}/s; peak RSS {rss:.0f} MB")
    await asyncio.to_thread(child.join, 60)
    await carrier.stop()


if __name__ == "__main__":
    asyncio.run(main())
