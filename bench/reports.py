# ruff: noqa: E501  (a benchmark's wide data tables)
"""Reports benchmark: each report for a month over 1,000,000 attempts and 200,000 operator state
changes, on SQLite and on PostgreSQL.

    python bench/reports.py                        # both databases, 20 runs of each report
    python bench/reports.py --only sqlite --attempts 200000 --states 40000 --runs 5

Builds one project (Europe/Moscow) with 5 campaigns, 60 operators and a lead per 5 attempts; the
attempts (outcomes in a call centre's proportions: a third talked, a fifth of those a success, with
costs, billing and waits), the state spans, dial samples every minute of a 10-hour day, messages and
CRM answers all fall in November 2026, so the month's reports read every row. PostgreSQL is a
throwaway cluster on loopback (the tests' helper). Prints p50 and p99 of ``--runs`` runs of each
report (the domain function, as the page and the API call it), then the query plans of the
statements that read ``attempt`` and ``operator_state``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer import campaigns
from dialer.accounts.operators import add_operator
from dialer.accounts.projects import create_project
from dialer.campaigns import CampaignIn
from dialer.config import DatabaseSettings
from dialer.storage import create_engine, reading, upgrade, writing
from dialer.storage.tables import PROJECT
from reports.costs import costs
from reports.effectiveness import effectiveness
from reports.operators import operators
from reports.rollup import refresh
from reports.scope import scope_of
from reports.successes import successes

MONTH_START = datetime(2026, 10, 31, 21, 0, tzinfo=UTC)  # 2026-11-01 00:00 in Moscow
MONTH_SECONDS = 30 * 86400
OUTCOMES = [("no_answer", 0.30), ("busy", 0.10), ("machine", 0.15), ("human", 0.35), ("abandoned", 0.02),
            ("failed", 0.08)]  # fmt: skip
CAMPAIGNS = 5
OPERATORS = 60
REPORTS = {"costs": costs, "operators": operators, "successes": successes, "effectiveness": effectiveness}


def sqlite_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(attempts: int, states: int, rng: random.Random) -> dict[str, list[tuple[Any, ...]]]:
    """Rows (as tuples in the tables' column order below) of one month."""
    leads = max(1, attempts // 5)
    logins = [f"op{n:02d}" for n in range(OPERATORS)]
    outcome_names = [o for o, _ in OUTCOMES]
    weights = [w for _, w in OUTCOMES]
    rows_attempts = []
    answers = []
    for n in range(attempts):
        started = MONTH_START + timedelta(seconds=rng.random() * MONTH_SECONDS)
        outcome = rng.choices(outcome_names, weights)[0]
        campaign = 1 + n % CAMPAIGNS
        answered = connected = disposed = operator = disposition = success = wait = None
        billed, cost, fee = 0, Decimal(0), Decimal(0)
        ended = started + timedelta(seconds=rng.uniform(5, 30))
        if outcome in ("human", "machine", "abandoned"):
            answered = started + timedelta(seconds=rng.uniform(3, 20))
            talk = rng.uniform(20, 600) if outcome == "human" else rng.uniform(2, 15)
            ended = answered + timedelta(seconds=talk)
            billed = int(talk) + 1
            fee = Decimal("0.10")
            cost = fee + Decimal("1.20") * billed / 60
        if outcome in ("human", "abandoned"):
            wait = rng.uniform(0, 2)
        if outcome == "human":
            connected = answered + timedelta(seconds=wait or 0)
            operator = logins[rng.randrange(OPERATORS)]
            success = rng.random() < 0.2
            disposition = (
                "application_completed"
                if success
                else rng.choice(["callback", "not_interested", "no_person"])
            )
            disposed = ended + timedelta(seconds=rng.uniform(0, 40))
            if success:
                answers.append((1 + n % leads, "income", "90000", f"call-{n}", disposed))
        rows_attempts.append((
            1 + n % leads, campaign, "+79000000000", "main", f"call-{n}", started, answered, connected, ended,
            outcome, round(cost, 4), operator, wait, outcome == "abandoned", disposition, success, disposed, billed,
            "7", fee,
        ))  # fmt: skip
    spans = []
    per_operator = max(1, states // OPERATORS)
    for login in logins:
        moment = MONTH_START + timedelta(seconds=rng.uniform(0, 3600))
        for _ in range(per_operator):
            state = rng.choices(["ready", "talking", "wrap_up", "paused"], [0.35, 0.4, 0.15, 0.1])[0]
            length = timedelta(seconds=rng.uniform(10, 400))
            spans.append(
                (login, state, "break" if state == "paused" else None, None, None, moment, moment + length)
            )
            moment += length + timedelta(
                seconds=rng.choice([0, 0, 0, 3600 * 14]) if rng.random() < 0.01 else 0
            )
    samples = []
    for campaign in range(1, CAMPAIGNS + 1):
        for day in range(30):
            for minute in range(600):
                at = MONTH_START + timedelta(days=day, hours=9, minutes=minute)
                samples.append(
                    (campaign, at, rng.uniform(0.8, 3.0), rng.randrange(5, 60), 12, "predictive: bench")
                )
    messages = []
    for n in range(attempts // 20):
        sent = MONTH_START + timedelta(seconds=rng.random() * MONTH_SECONDS)
        medium = "sms" if n % 3 else "email"
        messages.append((1, 1 + n % leads, medium, medium, "+79000000000", "x", "[]", "delivered", 1, Decimal("1.70")
                         if medium == "sms" else None, sent, sent, sent, sent, 1))  # fmt: skip
    return {"attempt": rows_attempts, "operator_state": spans, "dial_sample": samples, "message": messages,
            "lead_answer": answers, "leads": [(n,) for n in range(1, leads + 1)]}  # fmt: skip


COLUMNS = {
    "attempt": ("lead_id", "campaign_id", "phone", "trunk", "call_id", "started_at", "answered_at", "connected_at",
                "ended_at", "outcome", "cost", "operator", "wait_to_operator", "abandoned", "disposition",
                "success", "disposed_at", "billed_seconds", "tariff_prefix", "connection_fee"),
    "operator_state": ("operator", "state", "reason", "campaign_id", "project_id", "started_at", "ended_at"),
    "dial_sample": ("campaign_id", "at", "level", "calls", "operators", "reason"),
    "message": ("project_id", "lead_id", "medium", "channel", "recipient", "body", "attachments", "status",
                "parts", "cost", "sent_at", "created_at", "next_try_at", "not_after", "tries"),
    "lead_answer": ("lead_id", "field", "value", "call_id", "at"),
}  # fmt: skip


async def prepare(engine: AsyncEngine) -> None:
    await upgrade(engine)
    async with writing(engine) as conn:
        project = await create_project(conn, "bench", name="Bench")
        for n in range(CAMPAIGNS):
            await campaigns.put(conn, project, f"c{n}", CampaignIn())
        for n in range(OPERATORS):
            await add_operator(conn, f"op{n:02d}", name=f"op{n:02d}", password="bench-secret-1",
                               project_ids=[project.id])  # fmt: skip


def load_sqlite(path: Path, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    db = sqlite3.connect(path)
    now = sqlite_text(MONTH_START)
    db.executemany(
        "INSERT INTO lead (id, project_id, campaign_id, external_id, phones, phone_extensions, data, priority, status,"
        " queue_rank, attempts, next_phone, next_attempt_at, bad_contacts, created_at, updated_at) VALUES "
        "(?, 1, 1, 'L' || ?, '[]', '{}', '{}', 0, 'done', 1, 5, 0, ?, '{}', ?, ?)",
        [(n, n, now, now, now) for (n,) in rows["leads"]],
    )  # fmt: skip

    def value(v: Any) -> Any:
        if isinstance(v, datetime):
            return sqlite_text(v)
        if isinstance(v, Decimal):
            return float(v)
        return v

    for table, columns in COLUMNS.items():
        marks = ", ".join("?" for _ in columns)
        db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                       ([value(v) for v in row] for row in rows[table]))  # fmt: skip
    db.commit()
    db.execute("ANALYZE")
    db.close()


async def load_postgres(url: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.copy_records_to_table("lead", columns=(
            "id", "project_id", "campaign_id", "external_id", "phones", "phone_extensions", "data", "priority",
            "status", "queue_rank", "attempts", "next_phone", "next_attempt_at", "bad_contacts", "created_at",
            "updated_at"), records=[(n, 1, 1, f"L{n}", "[]", "{}", "{}", 0, "done", 1, 5, 0, MONTH_START, "{}",
                                      MONTH_START, MONTH_START) for (n,) in rows["leads"]])  # fmt: skip
        for table, columns in COLUMNS.items():
            records = [tuple(str(v) if table == "lead_answer" and c == "value" else v
                             for c, v in zip(columns, row, strict=True)) for row in rows[table]]  # fmt: skip
            if table == "lead_answer":
                records = [(r[0], r[1], '"90000"', r[3], r[4]) for r in records]
            await conn.copy_records_to_table(table, columns=columns, records=records)
        await conn.execute("SELECT setval('lead_id_seq', (SELECT max(id) FROM lead))")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def run_reports(engine: AsyncEngine, runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in REPORTS}
    async with reading(engine) as conn:
        project = (await conn.execute(select(PROJECT))).mappings().one()
        scope = await scope_of(conn, project, {"from": "2026-11-01", "to": "2026-11-30"})
    now = MONTH_START + timedelta(days=30)
    for _ in range(runs):
        for name, build in REPORTS.items():
            started = time.perf_counter()
            async with reading(engine) as conn:
                if name in ("operators", "effectiveness"):
                    await build(conn, scope, now=now)  # type: ignore[operator]
                else:
                    await build(conn, scope)  # type: ignore[operator]
            times[name].append(time.perf_counter() - started)
    return times


async def plans(engine: AsyncEngine) -> list[str]:
    """The plans of the statements one run of the reports sends that read attempts or state spans."""
    seen: list[tuple[str, Any]] = []

    def remember(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if "FROM attempt" in statement or "FROM operator_state" in statement:
            seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", remember)
    try:
        await run_reports(engine, 1)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", remember)
    out = []
    sqlite = engine.dialect.name == "sqlite"
    seen = [(statement, parameters) for statement, parameters in seen if "call_hour" not in statement]
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        for statement, parameters in seen[:12]:
            if sqlite:
                cursor = await raw.driver_connection.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                lines = [row[3] for row in await cursor.fetchall()]
            else:
                rows = await raw.driver_connection.fetch("EXPLAIN " + statement, *parameters)
                lines = [r[0] for r in rows if "Scan" in r[0] or "Index" in r[0] or "Aggregate" in r[0]][:4]
            head = " ".join(statement.split())[:90]
            out.append(f"  {head}...\n    " + "\n    ".join(lines[:4]))
    return out


async def sum_hours(engine: AsyncEngine, label: str) -> None:
    """The hourly sums the server keeps (every 5 minutes, an hour at a time), made here in one go."""
    started = time.perf_counter()
    hours = await refresh(engine, MONTH_START + timedelta(days=31))
    print(
        f"{label}: {hours} hours summed in {time.perf_counter() - started:.1f} s (the server does it hourly)"
    )


def summary(label: str, times: dict[str, list[float]]) -> None:
    for name, measured in times.items():
        values = sorted(measured)
        p99 = values[min(len(values) - 1, round(0.99 * (len(values) - 1)))]
        print(
            f"{label:11} {name:14} p50 {statistics.median(values) * 1000:7.0f} ms   p99 {p99 * 1000:7.0f} ms"
        )


async def bench_sqlite(rows: dict[str, list[tuple[Any, ...]]], runs: int, show_plans: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        engine = create_engine(DatabaseSettings(path=path))
        await prepare(engine)
        await engine.dispose()
        started = time.perf_counter()
        await asyncio.to_thread(load_sqlite, path, rows)
        print(f"sqlite: loaded in {time.perf_counter() - started:.0f} s ({path.stat().st_size / 1e6:.0f} MB)")
        engine = create_engine(DatabaseSettings(path=path))
        try:
            await sum_hours(engine, "sqlite")
            summary("sqlite", await run_reports(engine, runs))
            if show_plans:
                print("sqlite plans:\n" + "\n".join(await plans(engine)))
        finally:
            await engine.dispose()


async def bench_postgres(rows: dict[str, list[tuple[Any, ...]]], runs: int, show_plans: bool) -> None:
    from tests.integration.servers import postgres_cluster

    with postgres_cluster() as cluster:
        cluster.sql('CREATE DATABASE "bench"')
        url = cluster.url("bench")
        engine = create_engine(DatabaseSettings(url=url))
        try:
            await prepare(engine)
            started = time.perf_counter()
            await load_postgres(url, rows)
            print(f"postgresql: loaded in {time.perf_counter() - started:.0f} s")
            await sum_hours(engine, "postgresql")
            summary("postgresql", await run_reports(engine, runs))
            if show_plans:
                print("postgresql plans:\n" + "\n".join(await plans(engine)))
        finally:
            await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--states", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--no-plans", action="store_true")
    args = parser.parse_args()
    print("$ python bench/reports.py " + shlex.join(sys.argv[1:]))
    started = time.perf_counter()
    rows = generate(args.attempts, args.states, random.Random(7))
    print(f"generated {len(rows['attempt']):,} attempts, {len(rows['operator_state']):,} state spans, "
          f"{len(rows['dial_sample']):,} dial samples, {len(rows['message']):,} messages "
          f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
    if args.only in (None, "sqlite"):
        asyncio.run(bench_sqlite(rows, args.runs, not args.no_plans))
    if args.only in (None, "postgresql"):
        asyncio.run(bench_postgres(rows, args.runs, not args.no_plans))


if __name__ == "__main__":
    main()
