"""Media benchmark: N bridged pairs (2N legs) held for S seconds in this one process.

    python bench/media_load.py --pairs 300 --seconds 600

SIPp, on loopback, is the far end of every leg: it answers 2N calls and streams a looped mu-law
file on each (``tests/integration/sipp/answer_stream_audio.xml``), so every leg receives 50 packets a
second and, bridged, sends 50 back. We print, for this process: CPU (user + system, as a share of one
core and per bridged pair), RSS at start and end of the hold (flat memory = no leak), packets per
second sent and received, the gap between our successive sends on a leg (every leg sends once per
tick of the shared clock, so tick spacing is that gap) p50/p99/max, and loss seen by our jitter
buffers. SIPp's own CPU for the same traffic (2N streams out, 2N in) is printed beside it as the
reference. The machine has 2 cores: SIPp and this process each get about one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sip.media import g711
from sip.stack import SipStack
from sip.streams.bridge import Bridge
from sip.streams.clock import MediaClock
from sip.streams.leg import RtpLeg
from sip.streams.session import apply_answer, offer_leg
from sip.useragent import Call, CallState, UserAgent

SCENARIO = (
    Path(__file__).resolve().parent.parent / "tests" / "integration" / "sipp" / "answer_stream_audio.xml"
)
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of this process (or of ``pid``)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def connect_leg(agent: UserAgent, clock: MediaClock, n: int) -> tuple[Call, RtpLeg]:
    leg, offer = await offer_leg(clock, "127.0.0.1", session_id=n)
    call = await agent.originate(f"7900{n:07d}", caller_id="bench", sdp=offer)
    if await asyncio.wait_for(call.wait(), 30) is not CallState.ANSWERED:
        raise SystemExit(f"call {n} was not answered: {call.status}")
    apply_answer(leg, call.remote_sdp)
    return call, leg


async def bench(args: argparse.Namespace, workdir: Path) -> None:  # noqa: PLR0915 (one measured run)
    port = free_udp_port()
    command = [
        shutil.which("sipp") or "sipp", "-sf", str(SCENARIO), "-i", "127.0.0.1", "-p", str(port),
        "-m", str(2 * args.pairs), "-nostdin", "-trace_err", "-mp", "20000",
    ]  # fmt: skip
    sipp = subprocess.Popen(  # noqa: ASYNC220 (started once, before any call)
        command,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=(workdir / "sipp.out").open("wb"),
        stderr=subprocess.STDOUT,
    )
    await asyncio.sleep(1.0)
    stack = SipStack()
    await stack.open("127.0.0.1", 0)
    agent = UserAgent(stack, ("127.0.0.1", port), domain="127.0.0.1")
    clock = MediaClock()
    legs: list[RtpLeg] = []
    calls: list[Call] = []
    for start in range(0, 2 * args.pairs, 50):  # 50 calls at a time
        batch = await asyncio.gather(
            *(connect_leg(agent, clock, n) for n in range(start, min(start + 50, 2 * args.pairs)))
        )
        calls += [c for c, _ in batch]
        legs += [leg for _, leg in batch]
    bridges = [Bridge(legs[2 * i], legs[2 * i + 1]) for i in range(args.pairs)]
    print(f"{args.pairs} bridged pairs up ({len(legs)} legs); settling 5 s")
    await asyncio.sleep(5)

    sent0 = sum(leg.stats.sent for leg in legs)
    received0 = sum(leg.stats.received for leg in legs)
    lost0 = sum(leg.jitter.stats.lost for leg in legs)
    cpu0, sipp0, rss0, t0 = cpu_seconds(), cpu_seconds(sipp.pid), rss_mb(), time.monotonic()
    clock.keep_history = True
    rss_samples = [rss0]
    while time.monotonic() - t0 < args.seconds:
        await asyncio.sleep(min(10.0, args.seconds - (time.monotonic() - t0)))
        rss_samples.append(rss_mb())
    elapsed = time.monotonic() - t0
    cpu = cpu_seconds() - cpu0
    sipp_cpu = cpu_seconds(sipp.pid) - sipp0
    clock.keep_history = False
    sent = sum(leg.stats.sent for leg in legs) - sent0
    received = sum(leg.stats.received for leg in legs) - received0
    lost = sum(leg.jitter.stats.lost for leg in legs) - lost0
    gaps = np.diff(np.asarray(clock.started_at)) * 1000

    for bridge in bridges:
        bridge.close()
    for call in calls:
        call.hangup()
    await asyncio.sleep(2)
    for leg in legs:
        leg.close()
    stack.close()
    try:
        sipp.wait(timeout=30)
    except subprocess.TimeoutExpired:
        sipp.kill()

    pairs = args.pairs
    print(f"held {elapsed:.0f} s: {pairs} bridged pairs, {len(legs)} legs, one process")
    print(
        f"CPU: {100 * cpu / elapsed:.1f}% of one core = {100 * cpu / elapsed / pairs:.3f}% per bridged pair"
    )
    print(
        f"RSS: {rss0:.1f} MB at start of hold, {rss_samples[-1]:.1f} MB at end, max {max(rss_samples):.1f} MB"
    )
    print(f"packets: sent {sent / elapsed:,.0f}/s, received {received / elapsed:,.0f}/s")
    p50, p99 = np.percentile(gaps, 50), np.percentile(gaps, 99)
    print(
        f"send gap per leg (tick spacing): p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {gaps.max():.1f} ms"
        f" over {len(gaps)} ticks; clock skipped {clock.skipped} ticks"
    )
    share = 100 * lost / max(1, received + lost)
    print(f"loss seen by our jitter buffers: {lost} of {received + lost} packets ({share:.3f}%)")
    print(
        f"reference, SIPp for the same traffic ({len(legs)} streams out and in): "
        f"{100 * sipp_cpu / elapsed:.1f}% of one core = {100 * sipp_cpu / elapsed / pairs:.3f}% per pair"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=600)
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    with tempfile.TemporaryDirectory(prefix="media-load-") as tmp:
        t = np.arange(8000 * 10) / 8000
        with wave.open(str(Path(tmp) / "tone.wav"), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(1)
            wav.setframerate(8000)
            wav.writeframes(g711.ulaw_encode((6000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)).tobytes())
        asyncio.run(bench(args, Path(tmp)))


if __name__ == "__main__":
    main()
