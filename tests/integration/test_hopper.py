"""The hopper on real databases (SQLite file and PostgreSQL): order, leases, waits, final states, and
two concurrent workers that never lease the same lead."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer import campaigns
from dialer.accounts.projects import ProjectRef, create_project
from dialer.config import DatabaseSettings
from dialer.leads import dnc, hopper, store
from dialer.leads.schema import LeadStatus, queue_rank
from dialer.storage import create_engine, reading, upgrade, writing
from dialer.storage.models import Attempt, LeadEvent, WebhookDelivery
from dialer.storage.tables import LEAD, MESSAGE, PROJECT

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 12:00 in Moscow


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseSettings:
    if request.param == "sqlite":
        return DatabaseSettings(path=tmp_path / "db" / "dialer.sqlite3")
    return DatabaseSettings(url=request.getfixturevalue("postgres_url"), pool_size=4)


@pytest.fixture
async def engine(database: DatabaseSettings):
    eng = create_engine(database)
    await upgrade(eng)
    yield eng
    await eng.dispose()


async def setup_campaign(engine: AsyncEngine, *, window: str = "daily-9-21") -> tuple[ProjectRef, int]:
    async with writing(engine) as conn:
        project = await create_project(conn, "loans", window=window, webhook_url="http://127.0.0.1:9/hook")
        await campaigns.put(conn, project, "main", campaigns.CampaignIn(max_attempts=3))
        campaign_id = (await store.campaign_ids(conn, project.id))["main"]
    return project, campaign_id


async def add_leads(engine: AsyncEngine, project: ProjectRef, rows: list[dict]) -> None:
    async with writing(engine) as conn:
        result = await store.upsert_many(conn, project, rows, now=NOW - timedelta(hours=1))
    assert result.rejected == 0, result


def landline(i: int) -> str:
    return f"+7495{i:07d}"  # Moscow landlines: the number decides the zone


async def test_order_is_callbacks_then_fresh_then_retries_by_priority_and_age(engine: AsyncEngine) -> None:
    project, campaign_id = await setup_campaign(engine)
    await add_leads(
        engine,
        project,
        [
            {"external_id": f"L{i}", "phones": [landline(i)], "campaign": "main", "priority": p}
            for i, p in enumerate([0, 5, 0, 0, 9])
        ],
    )
    async with writing(engine) as conn:
        for ext, status in (("L2", LeadStatus.RETRY), ("L3", LeadStatus.CALLBACK), ("L4", LeadStatus.RETRY)):
            await conn.execute(
                update(LEAD)
                .where(LEAD.c.external_id == ext)
                .values(status=status.value, queue_rank=queue_rank(status), attempts=1)
            )
    leases = await hopper.next_leads(engine, campaign_id, 10, owner="a", now=NOW)
    assert [lease.external_id for lease in leases] == ["L3", "L1", "L0", "L4", "L2"]
    assert leases[0].status is LeadStatus.CALLBACK and leases[0].phone == landline(3)
    # All leased: nothing more until the leases expire, then they come back.
    assert await hopper.next_leads(engine, campaign_id, 10, owner="b", now=NOW + timedelta(minutes=1)) == []
    again = await hopper.next_leads(engine, campaign_id, 2, owner="b", now=NOW + timedelta(minutes=3))
    assert [lease.external_id for lease in again] == ["L3", "L1"]
    await hopper.release(engine, [again[0].lead_id], "b")
    back = await hopper.next_leads(engine, campaign_id, 5, owner="c", now=NOW + timedelta(minutes=3))
    assert [lease.external_id for lease in back] == ["L3", "L0", "L4", "L2"]


async def test_waits_finals_dnc_and_busy_numbers(engine: AsyncEngine) -> None:
    project, campaign_id = await setup_campaign(engine)
    await add_leads(
        engine,
        project,
        [
            {
                "external_id": "night",
                "phones": ["+74232000001"],
                "campaign": "main",
            },  # Vladivostok: 19:00 local
            {"external_id": "late", "phones": ["+74232000002"], "campaign": "main"},
            {
                "external_id": "old",
                "phones": [landline(1)],
                "campaign": "main",
                "expires_at": (NOW - timedelta(minutes=1)).isoformat(),
            },
            {"external_id": "listed", "phones": [landline(2)], "campaign": "main"},
            {"external_id": "busy", "phones": [landline(3)], "campaign": "main"},
            {"external_id": "second", "phones": [landline(4), landline(5)], "campaign": "main"},
        ],
    )
    async with writing(engine) as conn:
        await dnc.add(conn, project.id, [landline(2), landline(4)], "asked")
        lead_id = (await conn.execute(select(LEAD.c.id).where(LEAD.c.external_id == "busy"))).scalar_one()
        await conn.execute(
            insert(Attempt.__table__),
            [
                {
                    "lead_id": lead_id,
                    "phone": landline(3),
                    "started_at": NOW - timedelta(seconds=20),
                    "abandoned": False,
                }
            ],
        )
    at = NOW + timedelta(hours=3)  # 22:00 in Vladivostok: closed there, open in Moscow
    leases = await hopper.next_leads(engine, campaign_id, 10, owner="a", now=at)
    assert {(lease.external_id, lease.phone) for lease in leases} == {("second", landline(5))}

    async with reading(engine) as conn:
        rows = {r.external_id: r for r in (await conn.execute(select(LEAD))).all()}
        events = (await conn.execute(select(LeadEvent.__table__))).all()
        hooks = (await conn.execute(select(WebhookDelivery.__table__.c.payload))).scalars().all()
    assert rows["old"].status == "expired"
    assert rows["listed"].status == "dnc"
    assert rows["night"].status == "new"
    assert rows["night"].next_attempt_at == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 09:00 in Vladivostok
    assert rows["busy"].next_attempt_at == at + timedelta(seconds=60)
    assert {(h["external_id"], h["to"]) for h in hooks} == {("old", "expired"), ("listed", "dnc")}
    assert sum(1 for e in events if e.kind == "status") == 2


async def test_max_attempts_fail_the_lead(engine: AsyncEngine) -> None:
    project, campaign_id = await setup_campaign(engine)
    await add_leads(engine, project, [{"external_id": "tired", "phones": [landline(1)], "campaign": "main"}])
    async with writing(engine) as conn:
        await conn.execute(update(LEAD).values(attempts=3, status="retry", queue_rank=2))
    assert await hopper.next_leads(engine, campaign_id, 1, owner="a", now=NOW) == []
    async with reading(engine) as conn:
        assert (await conn.execute(select(LEAD.c.status))).scalar_one() == "failed"


async def test_two_concurrent_workers_lease_disjoint_leads(engine: AsyncEngine) -> None:
    project, campaign_id = await setup_campaign(engine)
    total = 600
    await add_leads(
        engine,
        project,
        [{"external_id": f"L{i}", "phones": [landline(i)], "campaign": "main"} for i in range(total)],
    )
    second = create_engine(
        DatabaseSettings(url=engine.url.render_as_string(hide_password=False), pool_size=4)
        if engine.dialect.name == "postgresql"
        else DatabaseSettings(path=Path(engine.url.database or ""))
    )

    async def worker(eng: AsyncEngine, name: str) -> list[int]:
        taken: list[int] = []
        while True:
            batch = await hopper.next_leads(eng, campaign_id, 7, owner=name, now=NOW)
            if not batch:
                return taken
            taken += [lease.lead_id for lease in batch]
            await asyncio.sleep(0)

    try:
        results = await asyncio.gather(
            *(worker(e, n) for e, n in ((engine, "a"), (second, "b"), (engine, "c"), (second, "d")))
        )
    finally:
        await second.dispose()
    everything = [lead_id for taken in results for lead_id in taken]
    assert len(everything) == len(set(everything)) == total
    # (On SQLite one writer may win the lock many times in a row; fairness is not promised there.)
    async with reading(engine) as conn:
        owners = dict((await conn.execute(select(LEAD.c.id, LEAD.c.lease_owner))).all())
    for name, taken in zip("abcd", results, strict=True):
        assert {owners[i] for i in taken} <= {name}


async def test_postgresql_skips_rows_another_transaction_has_locked(postgres_url: str) -> None:
    engine = create_engine(DatabaseSettings(url=postgres_url, pool_size=4))
    try:
        await upgrade(engine)
        await _skips_locked_rows(engine)
    finally:
        await engine.dispose()


async def _skips_locked_rows(engine: AsyncEngine) -> None:
    project, campaign_id = await setup_campaign(engine)
    await add_leads(
        engine,
        project,
        [{"external_id": f"L{i}", "phones": [landline(i)], "campaign": "main"} for i in range(40)],
    )
    async with writing(engine) as conn:  # a dialer that has locked the first 32 and not yet committed
        locked = {row.id for row in await hopper._candidates(conn, campaign_id, NOW, limit=32)}
        leases = await asyncio.wait_for(hopper.next_leads(engine, campaign_id, 40, owner="b", now=NOW), 10)
        assert {lease.lead_id for lease in leases}.isdisjoint(locked)
        assert len(leases) == 8  # everything not locked, at once, without waiting


async def test_abandoned_people_wait_72_hours_unless_their_callback_has_an_operator(
    engine: AsyncEngine,
) -> None:
    project, campaign_id = await setup_campaign(engine)
    await add_leads(engine, project, [
        {"external_id": "dropped", "phones": [landline(1)], "campaign": "main"},
        {"external_id": "asked-back", "phones": [landline(2)], "campaign": "main"},
    ])  # fmt: skip
    async with writing(engine) as conn:
        ids = dict((await conn.execute(select(LEAD.c.external_id, LEAD.c.id))).all())
        an_hour_ago = NOW - timedelta(hours=1)
        await conn.execute(insert(Attempt.__table__), [
            {"lead_id": ids[ext], "phone": phone, "started_at": an_hour_ago, "answered_at": an_hour_ago,
             "ended_at": an_hour_ago + timedelta(seconds=10), "abandoned": True, "outcome": "abandoned"}
            for ext, phone in (("dropped", landline(1)), ("asked-back", landline(2)))
        ])  # fmt: skip
        await conn.execute(update(LEAD).where(LEAD.c.external_id == "asked-back").values(
            status="callback", queue_rank=0, pinned_operator="anna", callback_at=NOW))  # fmt: skip
    leases = await hopper.next_leads(engine, campaign_id, 5, owner="a", now=NOW)
    assert [lease.external_id for lease in leases] == ["asked-back"]
    async with reading(engine) as conn:
        waiting = (
            await conn.execute(select(LEAD.c.next_attempt_at).where(LEAD.c.external_id == "dropped"))
        ).scalar()
    assert waiting == an_hour_ago + timedelta(hours=72)


async def test_an_sms_counts_against_the_caps_when_the_project_says_so(engine: AsyncEngine) -> None:
    project, campaign_id = await setup_campaign(engine)
    await add_leads(engine, project, [{"external_id": "L1", "phones": [landline(1)], "campaign": "main"}])
    async with writing(engine) as conn:
        await conn.execute(update(PROJECT).values(caps_per_day=1))
        await conn.execute(insert(MESSAGE).values(
            project_id=project.id, medium="sms", channel="sms", recipient=landline(1), body="hi",
            attachments=[], status="delivered", tries=1, next_try_at=NOW, not_after=NOW, created_at=NOW,
            sent_at=NOW - timedelta(hours=3), finished_at=NOW,
        ))  # fmt: skip
    assert [
        lease.external_id for lease in await hopper.next_leads(engine, campaign_id, 5, owner="a", now=NOW)
    ] == ["L1"]  # SMS are not contacts by default
    async with writing(engine) as conn:
        await conn.execute(update(PROJECT).values(sms_counts_as_contact=True))
        await conn.execute(update(LEAD).values(lease_owner=None, lease_expires_at=None))
    assert await hopper.next_leads(engine, campaign_id, 5, owner="b", now=NOW) == []
    async with reading(engine) as conn:
        lead = (await conn.execute(select(LEAD.c.next_attempt_at))).one()
    assert lead.next_attempt_at == NOW - timedelta(hours=3) + timedelta(days=1)  # when the cap frees
