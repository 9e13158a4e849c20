# ruff: noqa: RUF001  (Russian CRM answers)
"""The four reports against a hand-computed day (``report_history``), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from dialer.config import DatabaseSettings
from dialer.errors import Rejected
from dialer.storage import create_engine, reading, upgrade
from dialer.storage.tables import PROJECT
from reports.costs import costs
from reports.effectiveness import effectiveness
from reports.operators import operators
from reports.rollup import refresh
from reports.scope import scope_of
from reports.successes import successes
from tests.integration.report_history import DAY, EXPECTED, NOW, make_history


@pytest.fixture(params=["sqlite", "postgresql", "sqlite-summed", "postgresql-summed"])
async def history(request, tmp_path):
    """The day, read from the calls themselves or (``-summed``) from the hourly sums."""
    if request.param.startswith("postgresql"):
        settings = DatabaseSettings(url=request.getfixturevalue("postgres_url"))
    else:
        settings = DatabaseSettings(path=tmp_path / "reports.sqlite3")
    engine = create_engine(settings)
    await upgrade(engine)
    ids = await make_history(engine)
    if request.param.endswith("-summed"):
        assert await refresh(engine, NOW + timedelta(days=3)) > 24  # every hour of the day is summed
    yield engine, ids
    await engine.dispose()


async def _scope(engine, **query):
    async with reading(engine) as conn:
        project = (await conn.execute(select(PROJECT).where(PROJECT.c.slug == "loans"))).mappings().one()
        return await scope_of(conn, project, {"from": DAY, "to": DAY, **query}, today=date(2026, 11, 10))


async def test_costs_add_up_by_trunk_direction_and_medium(history) -> None:
    engine, _ids = history
    scope = await _scope(engine)
    async with reading(engine) as conn:
        report = await costs(conn, scope)
    want = EXPECTED["costs"]
    for key in ("total", "calls_cost", "messages_cost", "per_connected", "per_success"):
        assert report.figure(key) == want[key], key
    lines = {f"{r['trunk']}_{r['direction']}": r for r in report.table("calls").rows}
    for key in ("main_+7", "backup_+79"):
        for column, value in want[key].items():
            assert lines[key][column] == value, (key, column)
    calls = report.table("calls")
    assert calls.total is not None and calls.total["cost"] == sum(r["cost"] for r in calls.rows)
    messages = {r["medium"]: r for r in report.table("messages").rows}
    assert messages["sms"]["parts"] == 2 and messages["sms"]["messages"] == 1  # the failed one costs nothing
    budget = report.table("budgets").rows[0]
    assert {k: budget[k] for k in ("budget", "spent", "left")} == want["budget"]
    by_day = report.charts[0]
    assert [p[0] for p in by_day.series[0].points] == [DAY]
    assert sum(Decimal(str(s.points[0][1])) for s in by_day.series) == want["total"]


async def test_operator_time_is_clipped_at_the_local_midnight_and_calls_counted(history) -> None:
    engine, _ids = history
    scope = await _scope(engine)
    async with reading(engine) as conn:
        report = await operators(conn, scope, now=NOW)
    time_rows = {r["login"]: r for r in report.table("time").rows}
    call_rows = {r["login"]: r for r in report.table("calls").rows}
    for login, want in EXPECTED["operators"].items():
        for key, value in want.items():
            row = time_rows[login] if key in time_rows[login] else call_rows[login]
            assert row[key] == pytest.approx(value), (login, key)
    team = report.table("time").total
    assert team is not None and team["signed_in"] == pytest.approx(7800 + 7520)
    anna = call_rows["anna"]["target_progress"]
    assert (anna["done"], anna["goal"], anna["long_done"]) == (3, 200, 1)


async def test_the_operators_day_is_a_timeline_that_fills_the_day(history) -> None:
    engine, _ids = history
    scope = await _scope(engine, operator="anna")
    async with reading(engine) as conn:
        report = await operators(conn, scope, now=NOW)
    timeline = next(c for c in report.charts if c.key == "timeline")
    (day,) = timeline.series
    assert sum(seconds for _state, seconds in day.points) == 24 * 3600
    assert [s for s, _ in day.points[:3]] == ["offline", "ready", "talking"]


async def test_successes_list_day_and_funnel(history) -> None:
    engine, _ids = history
    scope = await _scope(engine)
    async with reading(engine) as conn:
        report = await successes(conn, scope)
    want = EXPECTED["successes"]
    rows = report.table("list").rows
    assert len(rows) == want["count"] and rows[0]["lead"]["text"] == want["first"]
    assert rows[0]["attempts"] == want["first_attempts"]
    assert rows[0]["answers"] == "employer: ООО Ромашка"
    assert rows[0]["time_to_success"] == pytest.approx(27 * 3600 + 75)  # 2026-11-09 09:00 to 11-10 12:01:15
    assert [r["leads"] for r in report.table("funnel").rows] == want["funnel"]


async def test_effectiveness_outcomes_waits_and_abandons(history) -> None:
    engine, _ids = history
    scope = await _scope(engine)
    async with reading(engine) as conn:
        report = await effectiveness(conn, scope, now=NOW)
    for key, value in EXPECTED["effectiveness"].items():
        assert report.figure(key) == pytest.approx(value), key
    outcomes = {r["outcome"]: r["calls"] for r in report.table("outcomes").rows}
    assert outcomes == {"human": 4, "abandoned": 1, "no_answer": 1}
    levels = report.table("dial_levels").rows
    assert [r["level"] for r in levels] == [2.0, 1.5]
    heat = next(c for c in report.charts if c.key == "heatmap")
    tuesday = heat.series[1]  # 2026-11-10 is a Tuesday; 10:00 Moscow: a1 answered
    assert dict(tuesday.points)["10"] == 1.0 and dict(tuesday.points)["12"] == 0.0  # 12 Moscow: a4 unanswered


async def test_filters_narrow_and_bad_ones_are_named(history) -> None:
    engine, _ids = history
    scope = await _scope(engine, operator="boris", trunk="main")
    async with reading(engine) as conn:
        report = await costs(conn, scope)
    assert report.figure("calls_cost") == Decimal("1.25")
    with pytest.raises(Rejected) as refused:
        await _scope(engine, campaign="nope", operator="nobody", to="2026-11-01")
    fields = {e.field for e in refused.value.errors}
    assert fields == {"campaign", "operator", "to"}
