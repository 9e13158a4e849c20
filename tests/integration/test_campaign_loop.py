"""The campaign loop on a real SQLite file with an in-memory telephony fake and hand-driven clocks:
every call placed has exactly one attempt with the outcome the far end gave, answered clients are
connected or abandoned (never both), leads move on by the campaign's rules."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.campaigns import CampaignIn
from dialer.config import DatabaseSettings
from dialer.engine.attempts import Disposition
from dialer.engine.board import OperatorBoard, OperatorState
from dialer.engine.loop import CampaignLoop, CampaignSettings
from dialer.engine.telephony import CallAnswered, CallEnded, CallFailed, CallUpdate, UpdateSink
from dialer.errors import CallNotPlaced
from dialer.leads import store
from dialer.storage import create_engine, reading, upgrade
from dialer.storage.models import Attempt
from dialer.storage.tables import LEAD, LEAD_EVENT
from pacing import make_pacer
from tests.integration.api_fixtures import seed_campaign

WALL0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday noon in Moscow


@dataclass
class FakeTelephony:
    """Far ends scripted per number: (outcome, seconds to it); 'human' calls last ``talk`` seconds."""

    script: dict[str, tuple[str, float]]
    clock: list[float]
    talk: float = 20.0
    prefix: str = "call"  # call ids are <prefix>-<n>
    channels: int | None = None  # calls the fake trunk carries at once (None: no limit)
    pending: list[tuple[float, CallUpdate, UpdateSink]] = field(default_factory=list)
    placed: dict[str, str] = field(default_factory=dict)  # call -> phone
    connects: list[tuple[str, str]] = field(default_factory=list)
    abandons: list[str] = field(default_factory=list)
    controls: list[tuple[str, object, object]] = field(default_factory=list)
    hangups: list[str] = field(default_factory=list)
    sinks: dict[str, UpdateSink] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)  # call -> digits sent after the answer
    answer_hangups: bool = True  # False: hang-ups vanish (a far end whose BYE answer never comes)

    async def originate(
        self,
        phone: str,
        *,
        caller_id: str | None,
        ring_timeout: float,
        on_update: UpdateSink,
        amd: bool = False,
        call_id: str | None = None,
        extension: str | None = None,
    ) -> str:
        call_id = call_id or f"{self.prefix}-{len(self.placed)}"
        self.placed[call_id] = phone
        if extension:
            self.extensions[call_id] = extension
        outcome, after = self.script[phone]
        if outcome == "unroutable":
            raise CallNotPlaced(f"no trunk can call {phone}: carrier: only 7495 allowed", retry_after=3600.0)
        self.sinks[call_id] = on_update
        at = self.clock[0] + min(after, ring_timeout)
        if outcome in ("human", "machine"):
            update: CallUpdate = CallAnswered(call_id, at, machine=outcome == "machine", status=200)
        else:
            update = CallFailed(
                call_id, at, outcome=outcome, status={"busy": 486}.get(outcome, 487), trunk="fake",
                cost=Decimal(0),
            )  # fmt: skip
        self.pending.append((at, update, on_update))
        return call_id

    async def connect(self, call_id: str, operator: str) -> None:
        self.connects.append((call_id, operator))
        at = self.clock[0] + self.talk
        cost = Decimal(int(self.talk + 59) // 60)  # 1.00 per started minute
        ended = CallEnded(call_id, at, by="remote", trunk="fake", cost=cost)
        self.pending.append((at, ended, self.sinks[call_id]))

    async def abandon(self, call_id: str) -> None:
        self.abandons.append(call_id)
        at = self.clock[0] + 3.0
        self.pending.append((at, CallEnded(call_id, at, by="local"), self.sinks[call_id]))

    def audio(self, call_id: str, *, hold: bool | None = None, mute: bool | None = None) -> None:
        self.controls.append((call_id, hold, mute))

    def send_digits(self, call_id: str, digits: str) -> None:
        self.controls.append((call_id, "digits", digits))

    def room(self) -> int | None:
        if self.channels is None:
            return None
        live = {update.call_id for _, update, _ in self.pending}  # calls with something still to come
        return max(0, self.channels - len(live))

    def hangup(self, call_id: str) -> None:
        """As a trunk does: a connected call ends now (by us), a ringing one fails as cancelled."""
        self.hangups.append(call_id)
        if not self.answer_hangups:
            return
        mine = [p for p in self.pending if p[1].call_id == call_id]
        self.pending = [p for p in self.pending if p[1].call_id != call_id]
        for _, update, sink in mine[:1]:
            now = self.clock[0]
            if isinstance(update, CallEnded):
                ended = CallEnded(call_id, now, by="local", trunk="fake", cost=update.cost)
                self.pending.append((now, ended, sink))
            else:
                failed = CallFailed(call_id, now, outcome="no_answer", status=487, trunk="fake",
                                    cost=Decimal(0))  # fmt: skip
                self.pending.append((now, failed, sink))

    def deliver(self, now: float) -> None:
        due = [p for p in self.pending if p[0] <= now]
        self.pending = [p for p in self.pending if p[0] > now]
        for _, update, sink in due:
            sink(update)


def ready_board(project: int, *logins: str) -> OperatorBoard:
    """A board with ``logins`` of ``project`` logged in and ready since 0."""
    board = OperatorBoard()
    for login in logins:
        board.log_in(login, {project}, 0.0).move(OperatorState.READY, 0.0)
    return board


def progressive_loop(
    engine: AsyncEngine,
    telephony: FakeTelephony,
    board: OperatorBoard,
    settings: CampaignSettings,
    clock: list[float],
    **extra: Any,
) -> CampaignLoop:
    """A progressive campaign loop on the fake telephony, its clocks driven by ``clock[0]``."""
    return CampaignLoop(
        engine=engine, telephony=telephony, board=board, owner="test",
        pacer=make_pacer("progressive", rng=np.random.default_rng(1)), campaign=settings,
        clock=lambda: clock[0], wall=lambda: WALL0 + timedelta(seconds=clock[0]), **extra,
    )  # fmt: skip


@pytest.mark.parametrize(("strategy", "operators"), [("predictive", 3), ("ratio", 1)])
async def test_a_campaign_runs_to_the_end_with_one_attempt_per_call(
    tmp_path: Path, strategy: str, operators: int
) -> None:
    """predictive with 3 operators; an over-dialling fixed ratio with 1 operator forces abandons."""
    rng = np.random.default_rng(11)
    phones = [f"+7495{i:07d}" for i in range(60)]
    outcomes = rng.choice(["human", "busy", "no_answer", "machine"], size=len(phones), p=[0.4, 0.2, 0.3, 0.1])
    script = {p: (str(o), float(rng.uniform(2, 9))) for p, o in zip(phones, outcomes, strict=True)}
    clock = [0.0]
    telephony = FakeTelephony(script, clock)
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    try:
        await upgrade(engine)
        project, campaign_id = await seed_campaign(
            engine, phones, now=WALL0, settings=CampaignIn(max_attempts=2)
        )
        board = ready_board(project.id, *("anna", "boris", "vera")[:operators])
        extra = {"ratio": 4.0} if strategy == "ratio" else {}
        pacer = make_pacer(strategy, abandon_target=0.03, ring_timeout=25.0, abandon_after=2.0,
                           rng=np.random.default_rng(5), **extra)  # fmt: skip
        loop = CampaignLoop(
            engine=engine, telephony=telephony, pacer=pacer, board=board, owner="test",
            campaign=CampaignSettings(campaign_id, project, max_attempts=2, retry_delays={}, wrap_up=5.0),
            clock=lambda: clock[0], wall=lambda: WALL0 + timedelta(seconds=clock[0]),
        )  # fmt: skip
        for step in range(2400):  # 10 simulated minutes of dialling in 0.5 s ticks, then the calls finish
            loop.launching = step < 1200
            clock[0] += 0.5
            telephony.deliver(clock[0])
            await loop.step()
            await asyncio.sleep(0)  # let the telephony commands the step spawned run, as real time would
            if not loop.launching and not telephony.pending and loop.calls_in_progress == 0:
                break
        async with reading(engine) as conn:
            attempts = (await conn.execute(select(Attempt.__table__))).all()
            leads = {r.external_id: r for r in (await conn.execute(select(LEAD))).all()}
    finally:
        await engine.dispose()

    assert loop.stats.launched == len(telephony.placed) == len(attempts) > 10
    by_call = {a.call_id: a for a in attempts}
    assert set(by_call) == set(telephony.placed)  # exactly one attempt per call
    connected = {c for c, _ in telephony.connects}
    assert connected.isdisjoint(telephony.abandons)
    for call_id, phone in telephony.placed.items():
        attempt, (scripted, _) = by_call[call_id], script[phone]
        assert attempt.ended_at is not None, call_id
        if scripted == "human":
            assert attempt.outcome == ("human" if call_id in connected else "abandoned")
            assert attempt.abandoned == (call_id in telephony.abandons)
            if call_id in connected:
                assert attempt.operator in {"anna", "boris", "vera"} and attempt.wait_to_operator < 2.0
                assert (attempt.trunk, attempt.cost) == ("fake", Decimal(1))  # 20 s of talk: one minute
        else:
            assert attempt.outcome == scripted
            if scripted != "machine":
                assert (attempt.trunk, attempt.cost) == ("fake", Decimal(0))
            assert (attempt.answered_at is not None) == (scripted == "machine")
            assert attempt.amd_result == ("machine" if scripted == "machine" else None)
    for i, phone in enumerate(phones):
        lead = leads[f"L{i}"]
        mine = [a for a in attempts if a.phone == phone]
        assert lead.attempts == len(mine)
        if any(a.outcome == "human" for a in mine):
            assert lead.status == "done"
        elif mine:
            assert lead.status in ("retry", "failed")
    assert loop.stats.connected == len(connected) > 0
    assert {c for c in telephony.hangups} == {
        c for c, p in telephony.placed.items() if script[p][0] == "machine"
    }
    assert all(o.calls_today > 0 for o in board.operators.values())
    restarted = make_pacer(strategy, abandon_target=0.03, ring_timeout=25.0, abandon_after=2.0,
                           rng=np.random.default_rng(5), **extra)  # fmt: skip
    loop.pacer = restarted
    loop.engine = engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    try:  # a restarted loop counts the window's answers and abandons again from the attempts
        assert await loop.restore_window() == loop.stats.connected + loop.stats.abandoned
    finally:
        await engine.dispose()
    window = restarted.window(clock[0])
    assert (window.answers, window.abandons) == (
        loop.stats.connected + loop.stats.abandoned,
        loop.stats.abandoned,
    )
    if strategy == "ratio":
        assert loop.stats.abandoned == len(telephony.abandons) > 0
        assert all(by_call[c].abandoned and by_call[c].outcome == "abandoned" for c in telephony.abandons)
        dropped = {telephony.placed[c] for c in telephony.abandons}
        for i, phone in enumerate(phones):  # the 72-hour rule: an abandoned person waits
            if phone in dropped and leads[f"L{i}"].status == "retry":
                assert leads[f"L{i}"].next_attempt_at >= WALL0 + timedelta(hours=72)


async def test_after_a_crash_open_attempts_are_closed_and_their_leads_dialled_again(tmp_path: Path) -> None:
    """kill -9 mid-call leaves attempts open and leads leased; the next start recovers them."""
    from dialer.engine.attempts import close_interrupted
    from dialer.leads import hopper

    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    try:
        await upgrade(engine)
        project, campaign_id = await seed_campaign(engine, [f"+7495000000{i}" for i in range(3)], now=WALL0)
        clock = [0.0]
        telephony = FakeTelephony({f"+7495000000{i}": ("human", 30.0) for i in range(3)}, clock)
        board = ready_board(project.id, "anna")
        loop = CampaignLoop(
            engine=engine, telephony=telephony, board=board, owner="crashed",
            pacer=make_pacer("ratio", abandon_target=0.03, ring_timeout=25.0, abandon_after=2.0,
                             rng=np.random.default_rng(1), ratio=3.0),
            campaign=CampaignSettings(campaign_id, project), clock=lambda: clock[0],
            wall=lambda: WALL0 + timedelta(seconds=clock[0]),
        )  # fmt: skip
        await loop.step()  # three calls ringing... and the process dies here
        assert loop.calls_in_progress == 3
        restart = WALL0 + timedelta(minutes=5)
        assert await hopper.next_leads(engine, campaign_id, 3, owner="new", now=restart) == []  # numbers busy
        assert await close_interrupted(engine, project, at=restart) == 3
        again = await hopper.next_leads(
            engine, campaign_id, 3, owner="new", now=restart + timedelta(seconds=61)
        )
        assert sorted(lease.external_id for lease in again) == ["L0", "L1", "L2"]
        async with reading(engine) as conn:
            outcomes = (await conn.execute(select(Attempt.__table__.c.outcome))).scalars().all()
        assert outcomes == ["interrupted"] * 3
        assert await close_interrupted(engine, project, at=restart) == 0
    finally:
        await engine.dispose()


async def test_a_callback_goes_back_to_the_operator_who_scheduled_it(tmp_path: Path) -> None:
    from dialer.engine.attempts import Disposition
    from dialer.storage.models import LeadEvent

    clock = [0.0]
    phone = "+74950000001"
    telephony = FakeTelephony({phone: ("human", 3.0)}, clock, talk=5.0)
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    try:
        await upgrade(engine)
        project, campaign_id = await seed_campaign(engine, [phone], now=WALL0)
        board = ready_board(project.id, "anna")
        loop = progressive_loop(
            engine, telephony, board, CampaignSettings(campaign_id, project, wrap_up=1.0), clock
        )

        async def run_for(seconds: float) -> None:
            for _ in range(int(seconds / 0.5)):
                clock[0] += 0.5
                telephony.deliver(clock[0])
                await loop.step()
                await asyncio.sleep(0)

        listening = contextlib.ExitStack()
        heard = listening.enter_context(loop.bus.subscribe())
        await run_for(4.0)  # dialled and connected to anna (the only operator)
        (first_call, operator) = telephony.connects[0]
        assert operator == "anna"
        call_back_at = WALL0 + timedelta(hours=1)
        loop.dispose(first_call, Disposition("anna", "callback", "asked to call after lunch", call_back_at))
        await run_for(10.0)  # the client hangs up after 5 s of talk
        async with reading(engine) as conn:
            lead = (await conn.execute(select(LEAD))).one()
            events = (
                await conn.execute(select(LeadEvent.__table__.c.kind, LeadEvent.__table__.c.detail))
            ).all()
        assert (lead.status, lead.pinned_operator) == ("callback", "anna")
        assert lead.next_attempt_at == call_back_at and lead.callback_at == call_back_at
        assert (
            "disposition",
            {"operator": "anna", "outcome": "callback", "notes": "asked to call after lunch"},
        ) in [(kind, detail) for kind, detail in events]
        # An hour later boris has been idle longer, but the callback goes to anna.
        board.log_in("boris", {project.id}, clock[0]).move(OperatorState.READY, clock[0])
        board.get("anna").move(OperatorState.PAUSED, clock[0], reason="lunch")
        clock[0] = 3600.0
        board.get("anna").move(OperatorState.READY, clock[0])
        await run_for(6.0)
    finally:
        await engine.dispose()
    assert len(telephony.connects) == 2
    assert telephony.connects[1][1] == "anna"
    published = []
    while not heard.queue.empty():
        event = heard.queue.get_nowait()
        published.append((event.kind, event.call_id, event.operator))
    listening.close()
    first, second = (call_id for call_id, _ in telephony.connects)
    assert published == [  # what the web workplace and the metrics hear
        ("call.dialed", first, None), ("call.answered", first, None), ("call.connected", first, "anna"),
        ("call.ended", first, "anna"),
        ("call.dialed", second, None), ("call.answered", second, None), ("call.connected", second, "anna"),
    ]  # fmt: skip


async def test_a_machine_gets_the_message_when_the_campaign_says_so(tmp_path: Path) -> None:
    clock = [0.0]
    phone = "+74950000002"
    telephony = FakeTelephony({phone: ("machine", 3.0)}, clock)
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    try:
        await upgrade(engine)
        project, campaign_id = await seed_campaign(engine, [phone], now=WALL0)
        board = ready_board(project.id, "anna")
        settings = CampaignSettings(campaign_id, project, amd=True, amd_action="message")
        loop = progressive_loop(engine, telephony, board, settings, clock)
        for _ in range(12):
            clock[0] += 0.5
            telephony.deliver(clock[0])
            await loop.step()
            await asyncio.sleep(0)
        async with reading(engine) as conn:
            attempt = (await conn.execute(select(Attempt.__table__))).one()
    finally:
        await engine.dispose()
    assert telephony.abandons == list(telephony.placed) and telephony.hangups == []  # the message, no hang-up
    assert (attempt.outcome, attempt.amd_result, attempt.abandoned) == ("machine", "machine", False)
    assert loop.stats.abandoned == 0 and board.get("anna").state is OperatorState.READY


async def test_a_call_no_trunk_can_take_leaves_no_attempt_and_its_lead_comes_back(tmp_path: Path) -> None:
    clock = [0.0]
    phones = ["+74950000003", "+74950000004"]
    telephony = FakeTelephony({phones[0]: ("unroutable", 0.0), phones[1]: ("busy", 2.0)}, clock)
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    try:
        await upgrade(engine)
        project, campaign_id = await seed_campaign(engine, phones, now=WALL0)
        board = ready_board(project.id, "anna", "boris")
        loop = progressive_loop(engine, telephony, board, CampaignSettings(campaign_id, project), clock)
        await loop.step()  # no trunk allows L0's number: it waits an hour, L1 is dialled
        async with reading(engine) as conn:
            attempts = (await conn.execute(select(Attempt.__table__))).all()
            leads = {r.external_id: r for r in (await conn.execute(select(LEAD))).all()}
    finally:
        await engine.dispose()
    assert [a.phone for a in attempts] == [phones[1]]  # the unplaced call left no attempt behind
    assert (leads["L0"].attempts, leads["L0"].lease_owner, leads["L0"].status) == (0, None, "new")
    assert leads["L0"].next_attempt_at == WALL0 + timedelta(hours=1)
    assert leads["L1"].attempts == 1 and loop.stats.launched == 1


async def test_full_trunks_take_no_lead_off_the_queue(tmp_path: Path) -> None:
    clock = [0.0]
    phones = [f"+749500000{i:02d}" for i in range(5)]
    telephony = FakeTelephony({phone: ("no_answer", 10.0) for phone in phones}, clock, channels=2)
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    try:
        await upgrade(engine)
        project, campaign_id = await seed_campaign(engine, phones, now=WALL0)
        board = ready_board(project.id, "anna", "boris", "vera", "gleb")
        loop = progressive_loop(engine, telephony, board, CampaignSettings(campaign_id, project), clock)
        decision = await loop.step()  # four operators free, room for two calls
        assert decision.calls == 2 and "the trunks have room for 2 now" in decision.reason
        clock[0] = 1.0
        decision = await loop.step()
        assert decision.calls == 0 and "room for 0" in decision.reason
        async with reading(engine) as conn:
            attempts = (await conn.execute(select(Attempt.__table__))).all()
            leased = (await conn.execute(select(LEAD).where(LEAD.c.lease_owner.is_not(None)))).all()
        placed = len(telephony.placed)
        clock[0] = 11.0  # both calls ring out: their channels are free again
        telephony.deliver(clock[0])
        decision = await loop.step()
        assert decision.calls == 2
    finally:
        await engine.dispose()
    assert len(attempts) == 2 and placed == 2  # nothing was tried and withdrawn
    assert len(leased) == 2  # the three others stayed in the queue, not leased and given back


@pytest.mark.parametrize("dial_extensions", [True, False])
async def test_an_extension_is_sent_after_the_answer_only_when_the_project_asks(
    tmp_path: Path, dial_extensions: bool
) -> None:
    """A lead sent as '+7 495 000-00-01 доб. 505' is dialled at its number; the telephony is told to
    send 505 after the answer when the project dials extensions, and nothing otherwise."""
    from sqlalchemy import update

    from dialer.storage import writing
    from dialer.storage.models import Project

    clock = [0.0]
    telephony = FakeTelephony({"+74950000001": ("human", 3.0), "+74950000002": ("human", 3.0)}, clock)
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    try:
        await upgrade(engine)
        project, campaign_id = await seed_campaign(engine, ["+74950000002"], now=WALL0)
        table = Project.__table__  # type: ignore[attr-defined]
        async with writing(engine) as conn:
            await conn.execute(
                update(table).where(table.c.id == project.id).values(dial_extensions=dial_extensions)
            )
            row = {"external_id": "EXT", "phones": ["+7 495 000-00-01 доб. 505"], "campaign": "main"}
            assert (await store.upsert_many(conn, project, [row], now=WALL0)).created == 1
        loop = progressive_loop(engine, telephony, ready_board(project.id, "anna", "boris"),
                                CampaignSettings(campaign_id, project, wrap_up=1.0), clock)  # fmt: skip
        for _ in range(20):
            clock[0] += 0.5
            telephony.deliver(clock[0])
            await loop.step()
            await asyncio.sleep(0)
    finally:
        await engine.dispose()
    assert sorted(telephony.placed.values()) == ["+74950000001", "+74950000002"]
    sent = {telephony.placed[call]: digits for call, digits in telephony.extensions.items()}
    assert sent == ({"+74950000001": "505"} if dial_extensions else {})


async def _run_until(loop_task: asyncio.Task[None], telephony: FakeTelephony, clock: list[float],
                     until: Any, *, limit: float = 600.0) -> None:  # fmt: skip
    """Advance the fake clock (0.5 s per real 2 ms) delivering updates, until ``until()`` or a limit."""
    start = clock[0]
    while not until() and clock[0] - start < limit:
        clock[0] += 0.5
        telephony.deliver(clock[0])
        await asyncio.sleep(0.002)


async def test_a_stopped_campaign_keeps_its_calls_until_they_end(tmp_path: Path) -> None:
    """Stopped while two operators talk: no new call leaves, the loop stays with its calls (on the
    operators' screens, their dispositions apply), each attempt gets its true outcome, then it ends."""
    phones = [f"+7495100000{i}" for i in range(6)]
    clock = [0.0]
    telephony = FakeTelephony(dict.fromkeys(phones, ("human", 1.0)), clock, talk=10_000.0)
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    try:
        await upgrade(engine)
        project, campaign_id = await seed_campaign(engine, phones, now=WALL0)
        board = ready_board(project.id, "anna", "boris")
        loop = progressive_loop(engine, telephony, board, CampaignSettings(campaign_id, project), clock)
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run(stop, tick=0.001))
        await _run_until(task, telephony, clock, lambda: len(telephony.connects) == 2)
        stop.set()
        await _run_until(task, telephony, clock, lambda: not loop.launching)
        placed = len(telephony.placed)
        await _run_until(task, telephony, clock, lambda: False, limit=120.0)  # two minutes of talk
        assert not task.done() and loop.calls_in_progress == 2 and len(telephony.placed) == placed
        for call_id, operator in telephony.connects:
            assert board.get(operator).state is OperatorState.TALKING
            loop.dispose(call_id, Disposition(operator=operator, notes="stopped mid-call"))
            telephony.hangup(call_id)  # what the operator API does
        await _run_until(task, telephony, clock, task.done)
        await task
        async with reading(engine) as conn:
            rows = (await conn.execute(select(Attempt.__table__))).all()
            notes = (await conn.execute(select(LEAD_EVENT).where(LEAD_EVENT.c.kind == "disposition"))).all()
    finally:
        await engine.dispose()
    assert len(rows) == placed
    assert all(r.ended_at is not None for r in rows)
    talked = [r for r in rows if r.call_id in dict(telephony.connects)]
    assert [r.outcome for r in talked] == ["human", "human"]
    assert [n.detail["notes"] for n in notes] == ["stopped mid-call"] * 2  # the dispositions applied


async def test_a_shutdown_closes_every_attempt_even_when_hang_ups_go_unanswered(tmp_path: Path) -> None:
    """The process stops (drain limit): calls still up are hung up; when their endings never come,
    the attempts are closed as interrupted and the leads queued again, never left open."""
    phones = [f"+7495200000{i}" for i in range(4)]
    clock = [0.0]
    telephony = FakeTelephony(dict.fromkeys(phones, ("human", 1.0)), clock, talk=10_000.0,
                              answer_hangups=False)  # fmt: skip
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    try:
        await upgrade(engine)
        project, campaign_id = await seed_campaign(engine, phones, now=WALL0)
        board = ready_board(project.id, "anna")
        loop = progressive_loop(engine, telephony, board, CampaignSettings(campaign_id, project), clock)
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run(stop, tick=0.001, settle=5.0))
        await _run_until(task, telephony, clock, lambda: len(telephony.connects) == 1)
        loop.drain_until = clock[0] + 10.0
        stop.set()
        await _run_until(task, telephony, clock, task.done)
        await task
        async with reading(engine) as conn:
            rows = (await conn.execute(select(Attempt.__table__))).all()
            leads = (await conn.execute(select(LEAD))).all()
    finally:
        await engine.dispose()
    assert rows and all(r.ended_at is not None for r in rows)
    assert {r.outcome for r in rows} == {"interrupted"}
    assert set(telephony.hangups) == {r.call_id for r in rows}
    assert all(lead.lease_owner is None for lead in leads)


async def test_an_operator_going_offline_mid_call_never_leaves_the_client_on_silence(tmp_path: Path) -> None:
    """Offline (or a phone that drops) while talking: the client's call is hung up and its attempt
    closed as a talked call, then the operator's phone; nobody stays bridged to a dead line."""
    from dialer.engine.service import EngineService, RunningCampaign

    phones = ["+74953000001"]
    clock = [0.0]
    telephony = FakeTelephony(dict.fromkeys(phones, ("human", 1.0)), clock, talk=10_000.0)
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    hung_up_phones: list[str] = []
    try:
        await upgrade(engine)
        project, campaign_id = await seed_campaign(engine, phones, now=WALL0)
        board = ready_board(project.id, "anna")
        loop = progressive_loop(engine, telephony, board, CampaignSettings(campaign_id, project), clock)
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run(stop, tick=0.001))
        await _run_until(task, telephony, clock, lambda: len(telephony.connects) == 1)
        fake_phones = type("Phones", (), {"hang_up": staticmethod(hung_up_phones.append)})()
        service = EngineService(engine, telephony, fake_phones, instance="test")
        service.board, service.connector = board, loop.connector
        service.loops[campaign_id] = RunningCampaign(loop, stop, task)
        assert service.offline("anna") is OperatorState.OFFLINE
        call_id = telephony.connects[0][0]
        assert telephony.hangups == [call_id] and hung_up_phones == ["anna"]
        await _run_until(task, telephony, clock, lambda: loop.calls_in_progress == 0, limit=30.0)
        stop.set()
        await _run_until(task, telephony, clock, task.done)
        await task
        async with reading(engine) as conn:
            rows = (await conn.execute(select(Attempt.__table__))).all()
    finally:
        await engine.dispose()
    assert [(r.call_id, r.outcome, r.ended_at is not None) for r in rows] == [(call_id, "human", True)]


async def test_sampled_machine_verdicts_are_reviewed_and_counted_against_the_limit(tmp_path: Path) -> None:
    """A machine verdict is let through to the free operator (the card says so); her mark "person"
    raises the estimated share of people among machine verdicts, and the machine verdicts that were
    hung up meanwhile count, at that share, as abandons in the legal window (and for the pacer)."""
    phones = [f"+74954000{i:03d}" for i in range(3)]
    clock = [0.0]
    telephony = FakeTelephony(dict.fromkeys(phones, ("machine", 1.0)), clock, talk=10_000.0)
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    try:
        await upgrade(engine)
        settings = CampaignIn(mode="progressive", amd=True, amd_sample=0.5)
        project, campaign_id = await seed_campaign(engine, phones, now=WALL0, settings=settings)
        board = ready_board(project.id, "anna")
        campaign = CampaignSettings(campaign_id, project, amd=True, amd_sample=0.5)
        loop = CampaignLoop(
            engine=engine, telephony=telephony, board=board, owner="test", campaign=campaign,
            pacer=make_pacer("ratio", ratio=3.0, rng=np.random.default_rng(1)),
            clock=lambda: clock[0], wall=lambda: WALL0 + timedelta(seconds=clock[0]),
        )  # fmt: skip
        loop._sampler.seed(4)  # the first machine verdict is let through, the next ones are not
        before = loop.amd_false_positive_rate
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run(stop, tick=0.001))
        await _run_until(task, telephony, clock, lambda: len(telephony.connects) == 1)
        await _run_until(task, telephony, clock, lambda: loop.calls_in_progress == 1, limit=30.0)
        call_id, operator = telephony.connects[0]
        assert call_id in loop.amd_sampled and operator == "anna"
        hidden_before = loop.pacer.window(clock[0]).hidden_abandons
        loop.dispose(call_id, Disposition(operator="anna", amd_review="person"))
        after = loop.amd_false_positive_rate
        window = loop.pacer.window(clock[0])
        telephony.hangup(call_id)
        stop.set()
        await _run_until(task, telephony, clock, task.done)
        await task
        async with reading(engine) as conn:
            rows = {r.call_id: r for r in (await conn.execute(select(Attempt.__table__))).all()}
    finally:
        await engine.dispose()
    assert before == pytest.approx(0.05) and after == pytest.approx(2 / 21)  # prior 5 % worth 20 reviews
    machines = [r for r in rows.values() if r.outcome == "machine"]
    assert len(machines) == 2  # no operator was free for them: hung up as machines
    assert hidden_before == pytest.approx(2 * 0.05)  # before any review: the cautious prior
    assert window.hidden_abandons == pytest.approx(2 * after)  # after hers: the estimate moved
    assert window.abandons == round(window.hidden_abandons) and window.rate > 0
    sampled = rows[call_id]
    assert (sampled.amd_sampled, sampled.amd_result, sampled.amd_review, sampled.outcome) == (
        True, "machine", "person", "human",
    )  # fmt: skip


@pytest.mark.parametrize("recorded", [True, False])
async def test_a_call_the_client_ended_waits_for_its_outcome(tmp_path: Path, recorded: bool) -> None:
    """The client hangs up first: the attempt waits for the operator's outcome, and so does the
    operator's wrap-up; recorded, it applies; never recorded within the limit, the call is closed as
    without an outcome (the lead is called again) and the operator paused."""
    clock = [0.0]
    phone = "+74950000001"
    telephony = FakeTelephony({phone: ("human", 3.0)}, clock, talk=5.0)
    engine = create_engine(DatabaseSettings(path=tmp_path / "db.sqlite3"))
    try:
        await upgrade(engine)
        project, campaign_id = await seed_campaign(engine, [phone], now=WALL0)
        board = ready_board(project.id, "anna")
        settings = CampaignSettings(campaign_id, project, wrap_up=2.0, disposition_limit=10.0)
        loop = progressive_loop(engine, telephony, board, settings, clock)

        async def run_for(seconds: float) -> None:
            for _ in range(int(seconds / 0.5)):
                clock[0] += 0.5
                telephony.deliver(clock[0])
                board.tick(clock[0])
                await loop.step()
                await asyncio.sleep(0)

        await run_for(4.0)
        (call_id, _) = telephony.connects[0]
        await run_for(9.0)  # the client hangs up after 5 s; the 2 s of wrap-up are over
        anna = board.get("anna")
        assert call_id in loop.awaiting and loop.calls_in_progress == 0
        assert (anna.state, anna.owes) == (OperatorState.WRAP_UP, call_id)  # not back to ready by time
        if recorded:
            outcome = Disposition(
                "anna", "completed", "all written", code="application_completed", success=True
            )
            assert await loop.record_outcome(call_id, outcome)
            assert not await loop.record_outcome(call_id, outcome)  # the second time: nothing
            assert anna.state is OperatorState.READY  # the wrap-up had run out: ready at once
        else:
            await run_for(12.0)
            assert (anna.state, anna.pause_reason) == (OperatorState.PAUSED, "no_outcome")
        async with reading(engine) as conn:
            attempt = (await conn.execute(select(Attempt.__table__))).one()
            lead = (await conn.execute(select(LEAD))).one()
        assert attempt.ended_at < WALL0 + timedelta(seconds=13.0)  # when the client hung up, not later
        assert attempt.outcome == "human" and attempt.disposed_at > attempt.ended_at
        if recorded:
            assert (attempt.disposition, attempt.success, lead.status) == (
                "application_completed",
                True,
                "done",
            )
        else:
            assert (attempt.disposition, attempt.success, lead.status) == ("no_outcome", False, "retry")
    finally:
        await engine.dispose()
