"""Engine benchmark: the dialing engine's CPU with N operators and M concurrent client calls.

    python bench/engine_load.py --operators 50 --lines 200 --warmup 60 --seconds 180

Everything real on loopback except the people: Kamailio is the carrier's edge (our trunk registers
there with digest auth) in front of SIPp playing the subscribers (tests/integration/sipp/
carrier_clients.xml: by the number's last digit a call answers after 1-4 s and streams audio, is
busy, rings until cancelled, or does not exist); a second SIPp answers the operators' phone calls
(nailed-up legs, streaming audio both ways once bridged). The engine (the `Runtime`, as `dialer
serve` runs it, without the HTTP server) runs one predictive campaign in this process on SQLite with
recordings on; the trunk allows ``--lines`` channels, and the leads are mostly numbers that ring out,
so the pacer keeps the trunk full. Operator "bots" end each call after 10-30 s. The phones' bindings
are put into the registrar directly (the registrar itself is tested with baresip).

Printed over the measured window: this process's CPU (user + system) as a share of one core, client
calls in progress (mean, p50, max) and bridged calls (mean), attempts per second, connects,
abandons, operator occupancy (talking / logged-in), event-loop lag p50/p99/max (how late a 100 ms
timer fires), RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shlex
import socket
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.media_load import cpu_seconds, rss_mb
from dialer import campaigns
from dialer.accounts.operators import add_operator
from dialer.accounts.projects import create_project
from dialer.config import DatabaseSettings, RecordingSettings, Settings, SipSettings, Tariff, TrunkSettings
from dialer.engine.attempts import Disposition
from dialer.engine.board import OperatorState
from dialer.engine.service import EngineService
from dialer.leads import store
from dialer.runtime import Runtime
from dialer.storage import create_engine, upgrade, writing
from sip.registrar import Binding
from tests.integration.servers import free_port
from tests.integration.sip_peers import kamailio, sipp_uas
from tests.integration.test_engine_service import midday_zone
from tests.integration.test_media_loopback import tone
from tests.integration.test_media_sipp import write_ulaw_wav

# Last digit of a number -> what the carrier scenario does with it (see its header).
ANSWERS, BUSY, RINGS_OUT, MISSING = "01234", "56", "78", "9"


def numbers(n: int, rng: random.Random) -> list[str]:
    """Mobile numbers: 25 % answer, 10 % busy, 60 % ring out, 5 % do not exist."""
    kinds = rng.choices([ANSWERS, BUSY, RINGS_OUT, MISSING], weights=[25, 10, 60, 5], k=n)
    return [f"+7912{rng.randrange(10**6):06d}{rng.choice(kind)}" for kind in kinds]


async def seed(database: DatabaseSettings, operators: list[str], leads: int, rng: random.Random) -> None:
    engine = create_engine(database)
    try:
        await upgrade(engine)
        async with writing(engine) as conn:
            project = await create_project(conn, "loans", window="daily-9-21", time_zone=midday_zone())
            settings = campaigns.CampaignIn(mode="predictive", ring_timeout=30.0, wrap_up=3.0, max_attempts=1)
            await campaigns.put(conn, project, "main", settings)
            for login in operators:
                await add_operator(
                    conn, login, name=login, password=f"{login}-pw-123", project_ids=[project.id]
                )
            rows = [{"external_id": f"L{i}", "phones": [p], "campaign": "main"}
                    for i, p in enumerate(numbers(leads, rng))]  # fmt: skip
            await store.upsert_many(conn, project, rows, now=datetime.now(UTC))
            await campaigns.act(conn, project, "main", "start")
    finally:
        await engine.dispose()


async def operator_bot(service: EngineService, login: str, stop: asyncio.Event, rng: random.Random) -> None:
    seen: set[str] = set()
    while not stop.is_set():
        on_screen = service.current(login)
        if on_screen is not None and on_screen.call_id is not None and on_screen.call_id not in seen:
            seen.add(on_screen.call_id)
            await asyncio.sleep(rng.uniform(10.0, 30.0))
            await service.dispose(login, Disposition(login, "completed"))
        await asyncio.sleep(0.5)


async def lag_probe(samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.1)
        samples.append((time.perf_counter() - started - 0.1) * 1000)


async def run(args: argparse.Namespace, work: Path) -> None:
    rng = random.Random(args.seed)
    operators = [f"op{i:02d}" for i in range(args.operators)]
    database = DatabaseSettings(path=work / "db.sqlite3")
    await seed(database, operators, args.leads, rng)
    write_ulaw_wav(work / "carrier" / "tone.wav", tone(1250, 30.0))
    write_ulaw_wav(work / "phones" / "tone.wav", tone(1250, 30.0))
    with ExitStack() as stack:
        carrier = stack.enter_context(
            sipp_uas("carrier_clients.xml", work / "carrier", calls=10**6, timeout=3600)
        )
        edge = stack.enter_context(
            kamailio(work / "kamailio", users={"dialer": "trunk-pw"}, far_end=carrier.port)
        )
        phones = stack.enter_context(
            sipp_uas("answer_stream_audio.xml", work / "phones", calls=10**6, timeout=3600)
        )
        settings = Settings(
            database=database,
            sip=SipSettings(host="127.0.0.1", port=free_port(socket.SOCK_DGRAM)),
            recordings=RecordingSettings(directory=work / "recordings"),
            trunks={"carrier": TrunkSettings(
                host="127.0.0.1", port=edge.port, username="dialer", password="trunk-pw",
                max_channels=args.lines, max_cps=args.cps,
                tariffs=[Tariff(prefix="7", price_per_minute=Decimal("1.2"))],
            )},
        )  # fmt: skip
        db = create_engine(database)
        runtime = Runtime(settings, db, webhooks=False)
        await runtime.start()
        assert runtime.engine is not None and runtime.voice is not None
        service, voice = runtime.engine, runtime.voice
        for login in operators:  # the phones "registered": every extension rings the phones' SIPp
            voice.registrar.bindings[login] = Binding(
                login,
                f"sip:{login}@127.0.0.1:{phones.port}",
                ("127.0.0.1", phones.port),
                time.monotonic() + 7200,
            )
            await service.ready(login)
        stop = asyncio.Event()
        lag: list[float] = []
        tasks = [asyncio.create_task(operator_bot(service, login, stop, random.Random(i)))
                 for i, login in enumerate(operators)]  # fmt: skip
        tasks.append(asyncio.create_task(lag_probe(lag, stop)))
        print(f"warming up {args.warmup:g} s ...", file=sys.stderr)
        await asyncio.sleep(args.warmup)
        loop = next(iter(service.loops.values())).loop
        before = (
            cpu_seconds(),
            time.monotonic(),
            loop.stats.launched,
            loop.stats.connected,
            loop.stats.abandoned,
        )
        lag.clear()
        in_progress: list[int] = []
        bridged: list[int] = []
        talking = 0
        for _ in range(int(args.seconds)):
            await asyncio.sleep(1.0)
            assert voice.telephony is not None
            in_progress.append(len(voice.telephony.calls))
            bridged.append(len(voice.telephony.bridges))
            talking += sum(o.state is OperatorState.TALKING for o in service.board.operators.values())
        cpu, wall = cpu_seconds() - before[0], time.monotonic() - before[1]
        launched, connected, abandoned = (loop.stats.launched - before[2], loop.stats.connected - before[3],
                                          loop.stats.abandoned - before[4])  # fmt: skip
        rss = rss_mb()
        stop.set()
        await asyncio.gather(*tasks)
        await runtime.stop()
        await db.dispose()
    print(f"command: python {shlex.join(sys.argv)}")
    print(f"{args.operators} operators, trunk of {args.lines} channels, measured {wall:.0f} s after "
          f"{args.warmup:g} s of warm-up (2-core machine; SIPp and Kamailio on the same cores)")  # fmt: skip
    print(f"  engine CPU: {100 * cpu / wall:.1f} % of one core")
    print(f"  client calls in progress: mean {np.mean(in_progress):.0f}, p50 {np.median(in_progress):.0f}, "
          f"max {max(in_progress)}; bridged to operators: mean {np.mean(bridged):.1f}")  # fmt: skip
    print(f"  attempts {launched} ({launched / wall:.1f}/s), connected {connected}, abandoned {abandoned} "
          f"({abandoned / max(1, connected + abandoned):.1%} of live answers)")  # fmt: skip
    print(f"  operator occupancy (talking / logged in): {talking / (len(operators) * len(in_progress)):.1%}")
    print(f"  event-loop lag of a 100 ms timer: p50 {np.percentile(lag, 50):.1f} ms, "
          f"p99 {np.percentile(lag, 99):.1f} ms, max {max(lag):.1f} ms; RSS {rss:.0f} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--operators", type=int, default=50)
    parser.add_argument("--lines", type=int, default=200, help="trunk channels (concurrent client calls)")
    parser.add_argument("--cps", type=float, default=20.0, help="trunk calls per second")
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--warmup", type=float, default=60.0)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="engine-load-") as tmp:
        work = Path(tmp)
        for sub in ("carrier", "phones", "kamailio"):
            (work / sub).mkdir()
        asyncio.run(run(args, work))


if __name__ == "__main__":
    main()
