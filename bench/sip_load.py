"""SIP load benchmark: N calls at R per second, one CSV row per call, latency, CPU and memory.

Against a configured trunk (the ``[trunks.NAME]`` of a dialer config, registering first when it asks):

    python bench/sip_load.py --config config.toml --trunk main --numbers numbers.txt \\
        --calls 1000 --cps 50 --ring-timeout 25 --hold 0 --report calls.csv

Self-contained on loopback, beside SIPp as the reference caller on the same scenario (SIPp's built-in
``uas`` answers every call): our user agent places the calls, then ``sipp -sn uac`` places as many at
the same rate, and both are reported:

    python bench/sip_load.py --sipp-far-end --calls 3000 --cps 100 --report /tmp/calls.csv

Setup latency is the time from sending the INVITE to receiving the final response; on loopback with
a far end that answers at once it is the stack's own overhead. CPU is this process's (user + system).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import csv
import os
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialer.config import TrunkSettings, load_settings
from dialer.voice.trunks import open_agent
from sip.useragent import Call, Category, UserAgent


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sipp(args: list[str], workdir: Path) -> subprocess.Popen[bytes]:
    sipp = shutil.which("sipp")
    if sipp is None:
        raise SystemExit("sipp not found: apt-get install sip-tester")
    return subprocess.Popen([sipp, *args, "-nostdin"], cwd=workdir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def wait_bound(port: int, deadline_s: float = 10.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


async def place(
    agent: UserAgent, number: str, ring_timeout: float, hold: float, caller_id: str = ""
) -> tuple[Call, float]:
    call = await agent.originate(number, caller_id=caller_id, ring_timeout=ring_timeout)
    await call.wait()
    setup = time.monotonic() - call.invited_at
    if call.category is Category.ANSWERED:
        if hold > 0:
            await asyncio.sleep(hold)
        call.hangup()
    await call.wait_ended()
    return call, setup


async def run_calls(
    agent: UserAgent,
    numbers: list[str],
    *,
    calls: int,
    cps: float,
    ring_timeout: float,
    hold: float,
    caller_id: str = "",
) -> tuple[list[tuple[Call, float]], float]:
    tasks = []
    started = time.monotonic()
    async with asyncio.TaskGroup() as group:
        for i in range(calls):
            delay = started + i / cps - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            number = numbers[i % len(numbers)]
            tasks.append(group.create_task(place(agent, number, ring_timeout, hold, caller_id)))
        placing = time.monotonic() - started
    return [t.result() for t in tasks], calls / placing if placing > 0 else float("inf")


def write_report(path: Path, results: list[tuple[Call, float]]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["call_id", "number", "outcome", "sip_status", "t_invite", "t_ring", "t_answer", "t_end"]
        )
        for call, _setup in results:
            times = {e.kind: e.at for e in call.events}
            first = call.invited_at
            writer.writerow([
                call.call_id, call.invite.uri.split(":", 1)[1].split("@")[0],
                call.category.value if call.category else "none", call.status or "",
                f"{first:.6f}", f"{times.get('ringing', times.get('early_media', 0.0)):.6f}",
                f"{times.get('answered', 0.0):.6f}", f"{times.get('ended', times.get('failed', 0.0)):.6f}",
            ])  # fmt: skip


async def bench(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="sip-bench-"))
    far_end = None
    caller_id = args.caller_id or ""
    if args.sipp_far_end:
        port = free_udp_port()
        far_end = start_sipp(["-sn", "uas", "-i", "127.0.0.1", "-p", str(port)], workdir)
        wait_bound(port)
        name, cfg, sip = "sipp", TrunkSettings(host="127.0.0.1", port=port, register=False), None
    else:
        settings = load_settings(args.config)
        name = args.trunk or next(n for n, t in settings.trunks.items() if t.kind == "sip")
        cfg, sip = settings.trunks[name], settings.sip
        caller_id = caller_id or cfg.caller_id or ""
    numbers: list[str] = args.numbers
    # the dialer's own trunk opener: the address that routes to the carrier, the account as From user
    # and the caller ID where the trunk says (so a carrier that authenticates INVITEs accepts them)
    agent = await open_agent(name, cfg, sip)
    stack = agent.stack
    try:
        if agent.credentials is not None:
            registration = await agent.register()
            print(
                f"registered: {registration.status} {registration.reason}, expires {registration.expires} s"
            )
        cpu0 = time.process_time()
        results, achieved = await run_calls(
            agent, numbers, calls=args.calls, cps=args.cps, ring_timeout=args.ring_timeout, hold=args.hold,
            caller_id=caller_id,
        )  # fmt: skip
        cpu = time.process_time() - cpu0
    finally:
        stack.close()
    write_report(Path(args.report), results)
    setups = np.array([s for c, s in results if c.category is Category.ANSWERED]) * 1000
    counts = collections.Counter(c.category.value if c.category else "none" for c, _ in results)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nour user agent: {args.calls} calls offered at {args.cps:g}/s, placed at {achieved:.1f}/s")
    print(f"  outcomes: {dict(counts)}")
    if setups.size:
        print(f"  setup latency (INVITE -> final), answered calls: p50 {np.percentile(setups, 50):.2f} ms, "
              f"p99 {np.percentile(setups, 99):.2f} ms, max {setups.max():.2f} ms")  # fmt: skip
    print(f"  CPU {cpu:.2f} s = {cpu / args.calls * 1000:.3f} ms per call; peak RSS {rss_mb:.0f} MB")
    print(f"  report: {args.report}")
    if far_end is not None:
        far_end.terminate()
        far_end.wait()
        reference(args, workdir)


def reference(args: argparse.Namespace, workdir: Path) -> None:
    """SIPp as the caller on the same scenario, for comparison."""
    port = free_udp_port()
    far = start_sipp(["-sn", "uas", "-i", "127.0.0.1", "-p", str(port)], workdir)
    wait_bound(port)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    caller = start_sipp(["-sn", "uac", "-i", "127.0.0.1", "-r", f"{args.cps:g}", "-m", str(args.calls),
                         f"127.0.0.1:{port}"], workdir)  # fmt: skip
    code = caller.wait()
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    far.terminate()
    far.wait()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"\nreference, SIPp as the caller (sipp -sn uac), same far end and rate: exit {code}, "
          f"{args.calls} calls in {elapsed:.1f} s ({args.calls / elapsed:.1f}/s)")  # fmt: skip
    print(f"  CPU {cpu:.2f} s = {cpu / args.calls * 1000:.3f} ms per call")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default="config.toml")
    parser.add_argument("--trunk")
    parser.add_argument("--caller-id", help="number to present (default: the trunk's caller_id)")
    parser.add_argument("--numbers", help="file with one number per line (default: generated)")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--cps", type=float, default=50.0)
    parser.add_argument("--ring-timeout", type=float, default=25.0)
    parser.add_argument("--hold", type=float, default=0.0, help="seconds to keep answered calls up")
    parser.add_argument("--report", default="sip_load.csv")
    parser.add_argument("--sipp-far-end", action="store_true", help="start SIPp as the far end on loopback")
    args = parser.parse_args()
    args.numbers = (
        [n.strip() for n in Path(args.numbers).read_text().split() if n.strip()]
        if args.numbers
        else [f"7900{i:07d}" for i in range(args.calls)]
    )
    print("command:", shlex.join([Path(sys.executable).name, *sys.argv]), f"(pid {os.getpid()})")
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
