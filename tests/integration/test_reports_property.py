"""The reports reconcile with the raw rows over generated histories (SQLite): every operator's time
is the sum of their spans clipped to the period's local days (DST days included), the team is the sum
of its operators, no duration is negative; calls and costs by day add up to the totals, outcomes to
the calls."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, update

from dialer import campaigns
from dialer.accounts.operators import add_operator
from dialer.accounts.projects import create_project
from dialer.campaigns import CampaignIn
from dialer.config import DatabaseSettings
from dialer.storage import create_engine, reading, upgrade, writing
from dialer.storage.tables import (
    ATTEMPT,
    CALL_HOUR,
    CAMPAIGN,
    LEAD,
    OPERATOR_HOUR,
    OPERATOR_STATE,
    PROJECT,
    ROLLUP_MARK,
    WAIT_HOUR,
)
from reports.costs import costs
from reports.effectiveness import effectiveness
from reports.operators import operators
from reports.period import Period, split
from reports.rollup import refresh
from reports.scope import scope_of

pytestmark = pytest.mark.integration
FIRST = date(2026, 3, 7)  # New York's clocks go forward on the 8th: a 23-hour day
LAST = date(2026, 3, 9)
NOW = datetime(2026, 3, 12, tzinfo=UTC)
BASE = datetime(2026, 3, 6, 12, tzinfo=UTC)
STATES = ["ready", "talking", "wrap_up", "paused", "reserved"]

spans = st.lists(st.tuples(st.sampled_from(["anna", "boris"]), st.sampled_from(STATES),
                           st.integers(0, 5 * 86400), st.integers(1, 20 * 3600)), max_size=25)  # fmt: skip
outcomes = st.sampled_from(["human", "busy", "no_answer", "machine"])
calls = st.lists(
    st.tuples(st.integers(0, 5 * 86400), outcomes, st.integers(0, 500), st.booleans()), max_size=25
)


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    path = tmp_path_factory.mktemp("property") / "reports.sqlite3"

    async def prepare() -> None:
        engine = create_engine(DatabaseSettings(path=path))
        await upgrade(engine)
        async with writing(engine) as conn:
            project = await create_project(conn, "ny", name="NY", region="US", time_zone="America/New_York")
            await campaigns.put(conn, project, "main", CampaignIn())
            for login in ("anna", "boris"):
                await add_operator(
                    conn, login, name=login, password=f"{login}-secret-1", project_ids=[project.id]
                )
            campaign = (await conn.execute(select(CAMPAIGN.c.id))).scalar_one()
            await conn.execute(insert(LEAD).values(
                project_id=project.id, campaign_id=campaign, external_id="L", phones=["+12125550100"],
                data={}, created_at=BASE, updated_at=BASE, next_attempt_at=BASE,
            ))  # fmt: skip
        await engine.dispose()

    asyncio.run(prepare())
    return path


async def _run(path, history, placed, summed):
    engine = create_engine(DatabaseSettings(path=path))
    try:
        async with writing(engine) as conn:
            for table in (OPERATOR_STATE, ATTEMPT, CALL_HOUR, OPERATOR_HOUR, WAIT_HOUR, ROLLUP_MARK):
                await conn.execute(delete(table))
            campaign, lead = (
                await conn.execute(select(CAMPAIGN.c.id, select(LEAD.c.id).scalar_subquery()))
            ).one()
            for login, state, start, length in history:
                started = BASE + timedelta(seconds=start)
                await conn.execute(insert(OPERATOR_STATE).values(
                    operator=login, state=state, reason="lunch" if state == "paused" else None,
                    started_at=started, ended_at=started + timedelta(seconds=length),
                ))  # fmt: skip
            for start, outcome, cents, answered in placed:
                started = BASE + timedelta(seconds=start)
                await conn.execute(insert(ATTEMPT).values(
                    lead_id=lead, campaign_id=campaign, phone="+12125550100", trunk="t", started_at=started,
                    ended_at=started + timedelta(seconds=30), outcome=outcome, cost=Decimal(cents) / 100,
                    answered_at=started + timedelta(seconds=5) if answered else None,
                ))  # fmt: skip
            await conn.execute(update(PROJECT).values(time_zone="America/New_York"))
        if summed:  # the same figures from the hourly sums
            await refresh(engine, NOW)
        async with reading(engine) as conn:
            project = (await conn.execute(select(PROJECT))).mappings().one()
            scope = await scope_of(conn, project, {"from": FIRST.isoformat(), "to": LAST.isoformat()})
            return (await operators(conn, scope, now=NOW), await costs(conn, scope),
                    await effectiveness(conn, scope, now=NOW), scope)  # fmt: skip
    finally:
        await engine.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=spans, placed=calls, summed=st.booleans())
def test_reports_reconcile_with_the_raw_rows(database, history, placed, summed) -> None:
    staff, spent, dialer, scope = asyncio.run(_run(database, history, placed, summed))
    period = Period(ZoneInfo("America/New_York"), FIRST, LAST)
    days = period.days()
    assert [d.hours for d in days] == [24, 23, 24]
    expected: dict[str, dict[str, float]] = {}
    for login, state, start, length in history:
        started = BASE + timedelta(seconds=start)
        seconds = sum(s for _, s in split(started, started + timedelta(seconds=length), days))
        key = "ready" if state == "reserved" else state
        expected.setdefault(login, {}).setdefault(key, 0.0)
        expected[login][key] += seconds
    rows = {r["login"]: r for r in staff.table("time").rows}
    for login, want in expected.items():
        for state, seconds in want.items():
            found = rows[login][state] if login in rows else 0.0  # all its spans outside the period
            assert found == pytest.approx(seconds, abs=0.01), (login, state)
    for row in rows.values():
        parts = row["ready"] + row["talking"] + row["wrap_up"] + row["paused"]
        assert row["signed_in"] == pytest.approx(parts) and min(parts, row["signed_in"]) >= 0
    team = staff.table("time").total
    assert team is not None and team["signed_in"] == pytest.approx(sum(r["signed_in"] for r in rows.values()))

    inside = [p for p in placed if period.start <= BASE + timedelta(seconds=p[0]) < period.end]
    assert dialer.figure("attempts") == len(inside)
    assert sum(r["calls"] for r in dialer.table("outcomes").rows) == len(inside)
    by_day = next(c for c in dialer.charts if c.key == "by_day")
    assert sum(v for s in by_day.series for _, v in s.points) == len(inside)
    total = sum((Decimal(p[2]) / 100 for p in inside), Decimal(0))
    assert spent.figure("calls_cost") == total
    cost_by_day = next(c for c in spent.charts if c.key == "by_day")
    assert sum(Decimal(str(v)) for s in cost_by_day.series for _, v in s.points) == total
    assert scope.zone_name == "America/New_York"
