"""Leads benchmark: bulk ingestion, single-lead POST latency under concurrency, hopper latency.

    python bench/leads.py                      # SQLite file in a temp dir, the defaults below
    python bench/leads.py --postgres auto      # the hopper part on PostgreSQL as well (or a URL)

Runs a real ``dialer serve`` subprocess on 127.0.0.1 (so the HTTP figures include parsing, auth,
validation, phone normalisation and the database) and drives it from this process:

1. bulk: ``--bulk-leads`` leads in POSTs of 10,000 to ``/leads/bulk``; leads/s over the whole run;
2. single: ``--single`` POSTs of one lead from ``--concurrency`` concurrent clients; p50/p99/max;
3. hopper: ``--hopper-leads`` leads stored (inserted directly), then ``next_leads(campaign, 10)``
   called ``--hopper-calls`` times; p50/p99/max.

The machine has 2 cores: the server and this client share them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import numpy as np
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialer import campaigns
from dialer.accounts.projects import create_project
from dialer.config import DatabaseSettings
from dialer.leads import hopper, store
from dialer.storage import create_engine, upgrade, writing
from dialer.storage.tables import LEAD
from tests.integration.servers import free_port, postgres_cluster

DIALER = [sys.executable, "-m", "dialer"]


def lead(i: int, prefix: str) -> dict:
    return {
        "external_id": f"{prefix}-{i}",
        "phones": [f"8 (912) {i // 10000 % 1000:03d}-{i // 100 % 100:02d}-{i % 100:02d}"],
        "name": "Ivan Petrov",
        "data": {"application": f"A-{i}", "amount": 50000 + i % 1000, "address": "Moscow, Tverskaya 1"},
    }


def percentiles(samples: list[float]) -> str:
    a = np.asarray(samples) * 1000
    return f"p50 {np.percentile(a, 50):.1f} ms, p99 {np.percentile(a, 99):.1f} ms, max {a.max():.1f} ms"


def dialer(config: Path, *args: str) -> str:
    done = subprocess.run(
        [*DIALER, "--config", str(config), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


async def http_part(base: str, token: str, args: argparse.Namespace) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{base}/api/v1/projects/bench/leads"
    async with aiohttp.ClientSession(headers=headers) as session:
        started = time.perf_counter()
        created = 0
        for start in range(0, args.bulk_leads, 10_000):
            rows = [lead(i, "B") for i in range(start, min(start + 10_000, args.bulk_leads))]
            async with session.post(url + "/bulk", json={"leads": rows}) as response:
                body = await response.json()
                assert response.status == 200, body
                created += body["created"]
        elapsed = time.perf_counter() - started
        print(
            f"bulk: {created} leads created in {elapsed:.2f} s = {created / elapsed:,.0f} leads/s "
            f"(POSTs of 10,000 to /leads/bulk)"
        )

        for concurrency in args.concurrency:
            await single_posts(session, url, args.single, concurrency)


async def single_posts(session: aiohttp.ClientSession, url: str, count: int, concurrency: int) -> None:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def client() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            t0 = time.perf_counter()
            async with session.post(url, json=lead(i, f"S{concurrency}")) as response:
                await response.read()
                assert response.status == 201, response.status
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    print(
        f"single: {count} POSTs, {concurrency} concurrent: {percentiles(latencies)}, "
        f"{count / elapsed:,.0f} requests/s"
    )


async def hopper_part(db: DatabaseSettings, args: argparse.Namespace, label: str) -> None:
    engine = create_engine(db)
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    try:
        await upgrade(engine)
        async with writing(engine) as conn:
            project = await create_project(conn, "hop", window="daily-9-21")
            await campaigns.put(conn, project, "main", campaigns.CampaignIn())
            campaign_id = (await store.campaign_ids(conn, project.id))["main"]
        started = time.perf_counter()
        chunk = 20_000
        for start in range(0, args.hopper_leads, chunk):
            rows = [
                {
                    "project_id": project.id,
                    "campaign_id": campaign_id,
                    "external_id": f"H{i}",
                    "phones": [f"+7495{i % 10_000_000:07d}"],
                    "name": None,
                    "data": {},
                    "priority": i % 7,
                    "time_zone": None,
                    "expires_at": None,
                    "status": "new" if i % 3 else "retry",
                    "queue_rank": 1 if i % 3 else 2,
                    "attempts": 0 if i % 3 else 1,
                    "next_phone": 0,
                    "next_attempt_at": now - timedelta(seconds=i % 1000)
                    if i % 5
                    else now + timedelta(hours=1),
                    "created_at": now - timedelta(seconds=i),
                    "updated_at": now,
                }
                for i in range(start, min(start + chunk, args.hopper_leads))
            ]
            async with writing(engine) as conn:
                await conn.execute(insert(LEAD), rows)
        async with engine.connect() as conn:  # fresh planner statistics, as autovacuum keeps them in service
            await conn.exec_driver_sql("ANALYZE")
            await conn.commit()
        elapsed = time.perf_counter() - started
        print(f"hopper ({label}): {args.hopper_leads:,} leads stored and analysed in {elapsed:.0f} s")
        latencies = []
        for _ in range(args.hopper_calls):
            t0 = time.perf_counter()
            leases = await hopper.next_leads(engine, campaign_id, 10, owner="bench", now=now)
            latencies.append(time.perf_counter() - t0)
            assert len(leases) == 10
        print(f"hopper ({label}): next_leads(campaign, 10) x {args.hopper_calls}: {percentiles(latencies)}")
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bulk-leads", type=int, default=100_000)
    parser.add_argument("--single", type=int, default=5_000)
    parser.add_argument("--concurrency", type=lambda v: [int(x) for x in v.split(",")], default=[1, 8, 32])
    parser.add_argument("--hopper-leads", type=int, default=1_000_000)
    parser.add_argument("--hopper-calls", type=int, default=200)
    parser.add_argument("--skip-http", action="store_true", help="only the hopper part")
    parser.add_argument(
        "--postgres", help="PostgreSQL URL for a second hopper run; 'auto' starts a throwaway local cluster"
    )
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        config = Path(tmp) / "config.toml"
        config.write_text(
            f'[server]\nport = {port}\n[database]\npath = "dialer.sqlite3"\n[logging]\nlevel = "warning"\n'
        )
        dialer(config, "migrate")
        dialer(config, "project", "create", "bench")
        token = dialer(config, "token", "create", "--project", "bench")
        if not args.skip_http:
            server = subprocess.Popen(
                [*DIALER, "--config", str(config), "serve"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                asyncio.run(_wait(base))
                asyncio.run(http_part(base, token, args))
            finally:
                server.send_signal(signal.SIGINT)
                server.wait(30)
        asyncio.run(hopper_part(DatabaseSettings(path=Path(tmp) / "hopper.sqlite3"), args, "SQLite"))
        if args.postgres == "auto":
            with postgres_cluster() as cluster:
                cluster.sql('CREATE DATABASE "bench"')
                asyncio.run(hopper_part(DatabaseSettings(url=cluster.url("bench")), args, "PostgreSQL"))
        elif args.postgres:
            asyncio.run(hopper_part(DatabaseSettings(url=args.postgres), args, "PostgreSQL"))
    print(f"cpu count {os.cpu_count()}")


async def _wait(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(base + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("dialer serve did not start")


if __name__ == "__main__":
    main()
