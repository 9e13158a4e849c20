"""Calls placed operator first, on a real SQLite file with the telephony fake and hand-driven clocks:
a due callback waits for its pinned operator during the grace period and then goes to another one
(or keeps waiting when the campaign pins strictly); preview mode shows a lead to a ready operator who
dials or skips it; a ``callback`` campaign dials nothing but callbacks."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.accounts.projects import ProjectRef
from dialer.campaigns import CampaignIn
from dialer.config import DatabaseSettings
from dialer.engine.board import OperatorBoard, OperatorState
from dialer.engine.callbacks import CallbackPolicy
from dialer.engine.loop import CampaignSettings
from dialer.leads import store
from dialer.storage import create_engine, reading, upgrade, writing
from dialer.storage.models import Attempt
from dialer.storage.tables import LEAD
from tests.integration.api_fixtures import seed_campaign
from tests.integration.test_campaign_loop import WALL0, FakeTelephony, progressive_loop

PHONES = [f"+7495000000{i}" for i in range(4)]


class Rig:
    """A loop over leads L0..L3 (every one answers after 3 s, talks 5 s) and operators anna and boris."""

    def __init__(
        self, engine: AsyncEngine, project: ProjectRef, campaign_id: int, settings: CampaignSettings
    ):
        self.engine = engine
        self.clock = [0.0]
        self.telephony = FakeTelephony({p: ("human", 3.0) for p in PHONES}, self.clock, talk=5.0)
        self.board = OperatorBoard()
        for login in ("anna", "boris"):
            self.board.log_in(login, {project.id}, 0.0)
        self.loop = progressive_loop(engine, self.telephony, self.board, settings, self.clock)

    def ready(self, login: str) -> None:
        self.board.get(login).move(OperatorState.READY, self.clock[0])

    def pause(self, login: str) -> None:
        self.board.get(login).move(OperatorState.PAUSED, self.clock[0], reason="meeting")

    async def run_for(self, seconds: float) -> None:
        for _ in range(int(seconds / 0.5)):
            self.clock[0] += 0.5
            self.telephony.deliver(self.clock[0])
            await self.loop.step()
            await asyncio.sleep(0)

    async def pin_callback(self, external_id: str, operator: str, due_in: float) -> None:
        """The lead as an operator's disposition leaves it: a callback pinned to ``operator``."""
        at = WALL0 + timedelta(seconds=self.clock[0] + due_in)
        async with writing(self.engine) as conn:
            await conn.execute(
                update(LEAD)
                .where(LEAD.c.external_id == external_id)
                .values(status="callback", queue_rank=0, pinned_operator=operator, callback_at=at,
                        next_attempt_at=at)
            )  # fmt: skip

    async def dialled(self) -> list[tuple[str, str | None]]:
        """(lead, operator) of every attempt, in order."""
        async with reading(self.engine) as conn:
            rows = await conn.execute(
                select(LEAD.c.external_id, Attempt.__table__.c.operator)
                .join(Attempt.__table__, Attempt.__table__.c.lead_id == LEAD.c.id)
                .order_by(Attempt.__table__.c.id)
            )
            return [(lead, operator) for lead, operator in rows.all()]


async def rig(tmp_path: Path, settings: CampaignIn, **extra: object) -> Rig:
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    await upgrade(engine)
    project, campaign_id = await seed_campaign(engine, PHONES, now=WALL0, settings=settings)
    async with writing(engine) as conn:  # only L0 is in the queue; the others wait for later
        await conn.execute(
            update(LEAD).where(LEAD.c.external_id != "L0").values(next_attempt_at=WALL0 + timedelta(days=1))
        )
    return Rig(engine, project, campaign_id, CampaignSettings(campaign_id, project, wrap_up=1.0,
                                                              mode=settings.mode, **extra))  # type: ignore[arg-type]  # fmt: skip


async def test_a_due_callback_waits_for_its_operator_then_goes_to_another_after_the_grace(
    tmp_path: Path,
) -> None:
    r = await rig(tmp_path, CampaignIn(mode="callback"), callback_grace=60.0)
    try:
        await r.pin_callback("L1", "anna", due_in=10.0)
        r.ready("boris")
        r.pause("anna")
        await r.run_for(20.0)  # due, anna paused, inside the grace: nobody dials it (boris is idle)
        assert await r.dialled() == []
        assert "waiting for pinned operator anna (paused)" in r.loop.callback_reasons.values()
        r.ready("anna")
        await r.run_for(10.0)  # anna back: her client is dialled with her reserved, then connected
        assert await r.dialled() == [("L1", "anna")]
        assert r.telephony.connects[0][1] == "anna" and r.loop.stats.callbacks == 1

        await r.pin_callback("L2", "anna", due_in=5.0)
        await r.run_for(5.0)
        r.pause("anna")  # she leaves before it is due (wrap-up over)
        await r.run_for(50.0)  # due for 50 s < 60 s grace
        assert [lead for lead, _ in await r.dialled()] == ["L1"]
        await r.run_for(20.0)  # past the grace period: boris takes anna's client
        assert await r.dialled() == [("L1", "anna"), ("L2", "boris")]
        assert [operator for _, operator in r.telephony.connects] == ["anna", "boris"]
        assert r.loop.stats.launched == 2  # a callback campaign dials nothing else (L0 is due)
    finally:
        await r.engine.dispose()


async def test_a_strictly_pinned_callback_never_goes_to_another_operator(tmp_path: Path) -> None:
    r = await rig(
        tmp_path, CampaignIn(mode="callback", callback_policy="pinned_only"), callback_grace=10.0,
        callback_policy=CallbackPolicy.PINNED_ONLY,
    )  # fmt: skip
    try:
        await r.pin_callback("L3", "anna", due_in=1.0)
        r.ready("boris")
        r.board.get("anna").move(OperatorState.PAUSED, 0.0, reason="sick")
        await r.run_for(60.0)
        assert await r.dialled() == []
        r.ready("anna")
        await r.run_for(5.0)
        assert await r.dialled() == [("L3", "anna")]
    finally:
        await r.engine.dispose()


async def test_preview_shows_a_lead_that_the_operator_dials_or_skips(tmp_path: Path) -> None:
    r = await rig(tmp_path, CampaignIn(mode="preview"))
    try:
        async with writing(r.engine) as conn:  # two leads in the queue: L0 and L1
            await conn.execute(update(LEAD).where(LEAD.c.external_id == "L1").values(next_attempt_at=WALL0))
        r.ready("anna")
        await r.run_for(1.0)
        shown = r.loop.previews["anna"].lease
        assert shown.external_id == "L0" and r.board.get("anna").state is OperatorState.RESERVED
        await r.run_for(10.0)
        assert r.telephony.placed == {}  # nothing is dialled until she starts it
        assert r.loop.last_decision is not None and "preview mode" in r.loop.last_decision.reason
        await r.loop.skip_preview("anna")
        await r.run_for(0.5)
        assert r.loop.previews["anna"].lease.external_id == "L1"  # L0 back in the queue, L1 shown
        call_id = await r.loop.start_preview("anna")
        await r.run_for(4.0)
        assert r.telephony.connects == [(call_id, "anna")]
        assert await r.dialled() == [("L1", "anna")]
        await r.run_for(6.0)  # anna's call and wrap-up are over, she is ready
        r.ready("boris")
        await r.run_for(0.5)
        assert r.loop.previews == {}  # L0 was skipped less than 5 minutes ago: not shown yet
        await r.run_for(300.0)
        assert r.loop.previews["anna"].lease.external_id == "L0"  # to anna: idle longer than boris
        await r.loop.release_previews()
        assert r.board.get("anna").state is OperatorState.READY and r.loop.previews == {}
    finally:
        await r.engine.dispose()


async def test_two_campaigns_share_an_operator_and_a_connect_reaches_the_campaign_of_the_call(
    tmp_path: Path,
) -> None:
    """anna works for both projects. The cards campaign's call ends; her wrap-up ends during the
    cards loop's tick, which connects her to the loans campaign's waiting client: the loans loop
    carries out that connect (its attempt, its bridge)."""
    from dialer import campaigns
    from dialer.accounts.projects import create_project
    from dialer.engine.connector import Connector

    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    try:
        await upgrade(engine)
        loans, loans_id = await seed_campaign(engine, ["+74950000001"], now=WALL0)
        async with writing(engine) as conn:
            cards = await create_project(conn, "cards", window="daily-9-21")
            await campaigns.put(conn, cards, "vip", CampaignIn(mode="progressive", priority=10))
            cards_id = (await store.campaign_ids(conn, cards.id))["vip"]
            await store.upsert_many(conn, cards, [{"external_id": "C0", "phones": ["+74950000009"],
                                                   "campaign": "vip"}], now=WALL0)  # fmt: skip
        clock = [0.0]
        board = OperatorBoard()
        board.log_in("anna", {loans.id, cards.id}, 0.0).move(OperatorState.READY, 0.0)
        connector = Connector(board)
        phones = {
            "loans": FakeTelephony({"+74950000001": ("human", 4.0)}, clock, talk=30.0, prefix="loans"),
            "cards": FakeTelephony({"+74950000009": ("human", 1.0)}, clock, talk=3.0, prefix="cards"),
        }
        campaigns_of = {"cards": (cards, cards_id, 10), "loans": (loans, loans_id, 0)}
        loops = {}
        for name, (project, campaign_id, priority) in campaigns_of.items():
            settings = CampaignSettings(campaign_id, project, wrap_up=0.5, priority=priority)
            loops[name] = progressive_loop(engine, phones[name], board, settings, clock, connector=connector)
        for _ in range(16):
            clock[0] += 0.5
            for name in ("cards", "loans"):  # cards ticks first
                phones[name].deliver(clock[0])
                await loops[name].step()
                await asyncio.sleep(0)
        (cards_call,), (loans_call,) = phones["cards"].placed, phones["loans"].placed
        assert [c for c, _ in phones["cards"].connects] == [cards_call]  # answered at 1.5 s, anna free
        assert phones["loans"].connects == [(loans_call, "anna")]  # answered at 4.5 s, after her wrap-up
        assert loops["loans"].stats.connected == 1 and loops["loans"].stats.abandoned == 0
        assert board.get("anna").state is OperatorState.TALKING
        async with reading(engine) as conn:
            rows = (await conn.execute(select(Attempt.__table__))).all()
        assert {(a.call_id, a.operator) for a in rows} == {(cards_call, "anna"), (loans_call, "anna")}
        assert all(a.wait_to_operator is not None and a.wait_to_operator < 2.0 for a in rows)
    finally:
        await engine.dispose()
