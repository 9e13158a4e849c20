"""Console benchmark: how long the leads list takes to load with a million leads in the project.

    python bench/console_leads.py                    # 1,000,000 leads, 50 loads of each page
    python bench/console_leads.py --leads 200000 --loads 20

Fills a SQLite file directly (leads of one project, 5 % of them callbacks, names and numbers that
differ), runs a real ``dialer serve`` on 127.0.0.1 and, signed in as an admin over HTTP, loads the
leads page as a supervisor would: the first page, a page far down the list (keyset), and filtered by
status, by part of a phone number, by application number and by name. Each load is the whole page:
the query, the template and the transfer. Prints p50/p99 per kind of page.
"""

from __future__ import annotations

import argparse
import asyncio
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

from dialer.accounts import people
from dialer.accounts.people import Role
from dialer.accounts.projects import create_project
from dialer.config import DatabaseSettings
from dialer.storage import create_engine, upgrade, writing
from dialer.storage.tables import LEAD
from tests.integration.console_client import sign_in
from tests.integration.servers import free_port

DIALER = [sys.executable, "-m", "dialer"]
NAMES = ["Иван Петров", "Мария Смирнова", "Олег Кузнецов", "Анна Попова", "Павел Соколов"]


async def fill(path: Path, count: int) -> None:
    engine = create_engine(DatabaseSettings(path=path))
    await upgrade(engine)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    async with writing(engine) as conn:
        project = await create_project(conn, "bench", window="any-hour")
        await people.add_person(conn, "root", name="Root", role=Role.ADMIN, password="root-password")
    chunk = 20_000
    for first in range(0, count, chunk):
        rows = [
            {"project_id": project.id, "external_id": f"Z-{i:07d}", "phones": [f"+7912{i:07d}"],
             "name": f"{NAMES[i % len(NAMES)]} {i}", "data": {"amount": 10_000 + i % 40_000},
             "status": "callback" if i % 20 == 0 else "new", "queue_rank": 0 if i % 20 == 0 else 1,
             "created_at": start + timedelta(seconds=i), "updated_at": start + timedelta(seconds=i),
             "next_attempt_at": start, "bad_contacts": {}}
            for i in range(first, min(count, first + chunk))
        ]  # fmt: skip
        async with writing(engine) as conn:
            await conn.execute(insert(LEAD), rows)
    await engine.dispose()


def pct(samples: list[float]) -> str:
    a = np.asarray(samples) * 1000
    return f"p50 {np.percentile(a, 50):7.1f} ms   p99 {np.percentile(a, 99):7.1f} ms"


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        await fill(root / "bench.sqlite3", args.leads)
        filled = time.perf_counter() - started
        port = free_port()
        config = root / "config.toml"
        config.write_text(
            f'[server]\nport = {port}\n[database]\npath = "bench.sqlite3"\n[sip]\nenabled = false\n'
        )
        server = subprocess.Popen([*DIALER, "--config", str(config), "serve"],  # noqa: ASYNC220
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        results: dict[str, list[float]] = {}
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
                for _ in range(200):
                    try:
                        async with client.get(f"{base}/healthz") as response:
                            if response.status == 200:
                                break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.1)
                await sign_in(client, base, "root", "root-password")
                deep = args.leads // 2
                pages = {
                    "first page": "",
                    f"page at lead {deep:,}": f"before={deep}",
                    "status = callback": "status=callback",
                    "phone contains 0012345": "phone=0012345",
                    "application number Z-00999": "external_id=Z-00999",
                    "name contains 'Попова 77'": "name=Попова+77",
                }
                for label, query in pages.items():
                    samples = []
                    for _ in range(args.loads):
                        begun = time.perf_counter()
                        async with client.get(f"{base}/projects/bench/leads?{query}") as response:
                            body = await response.text()
                            assert response.status == 200, body[:300]
                        samples.append(time.perf_counter() - begun)
                    results[label] = samples
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(30)
    print(f"command: python {shlex.join(sys.argv)}")
    print(f"{args.leads:,} leads stored in {filled:.0f} s; {args.loads} loads of each page (SQLite, 2 cores)")
    for label, samples in results.items():
        print(f"  {label:<32} {pct(samples)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--loads", type=int, default=50)
    asyncio.run(main(parser.parse_args()))
