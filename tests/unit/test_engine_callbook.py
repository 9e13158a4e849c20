"""The campaign's calls as the pacer sees them: events with the right durations, valid snapshots,
and a small hand-clocked run of board + connector + callbook feeding a real predictive pacer."""

from __future__ import annotations

import numpy as np
import pytest

from dialer.engine.board import OperatorBoard, OperatorState
from dialer.engine.callbook import CallBook, UnknownCall
from dialer.engine.connector import Abandon, Connect, Connector
from pacing import EventKind, make_pacer

S = OperatorState


def test_events_carry_the_durations_the_pacer_expects() -> None:
    book = CallBook(project=1)
    assert book.dialed("c1", lead_id=1, phone="+1", now=10.0).kind is EventKind.DIALED
    answered = book.answered("c1", 18.0)
    assert (answered.kind, answered.duration) == (EventKind.ANSWERED_HUMAN, 8.0)
    connected = book.connected("c1", 19.5, "anna")
    assert (connected.kind, connected.duration) == (EventKind.CONNECTED, 1.5)
    (talk,) = book.ended("c1", 139.5)
    assert (talk.kind, talk.duration) == (EventKind.TALK_ENDED, 120.0)
    book.dialed("c2", lead_id=2, phone="+2", now=20.0)
    assert book.failed("c2", 23.0, "busy").kind is EventKind.BUSY
    book.dialed("c3", lead_id=3, phone="+3", now=20.0)
    machine = book.answered("c3", 24.0, machine=True)
    assert machine.kind is EventKind.ANSWERED_MACHINE and "c3" not in book.calls
    book.dialed("c4", lead_id=4, phone="+4", now=30.0)
    book.answered("c4", 35.0)
    dropped = book.abandoned("c4", 37.0)
    assert (dropped.kind, dropped.duration) == (EventKind.ABANDONED, 2.0)
    assert book.ended("c4", 38.0) == []
    with pytest.raises(UnknownCall):
        book.answered("nope", 1.0)


def test_snapshot_counts_this_projects_operators_and_calls() -> None:
    board = OperatorBoard()
    for login, projects in (("anna", {1}), ("boris", {1}), ("vera", {1}), ("gleb", {2})):
        board.log_in(login, projects, 0.0).move(S.READY, 1.0)
    board.get("boris").move(S.RESERVED, 5.0)
    board.get("boris").move(S.TALKING, 6.0)
    board.get("vera").move(S.PAUSED, 2.0, reason="break")
    book = CallBook(project=1)
    book.dialed("r", lead_id=1, phone="+1", now=8.0)
    book.dialed("w", lead_id=2, phone="+2", now=7.0)
    book.answered("w", 9.0)
    snap = book.snapshot(10.0, board)
    assert (snap.agents_logged_in, snap.agents_free, snap.agents_paused) == (3, 1, 1)
    assert snap.idle_elapsed.tolist() == [9.0] and snap.talk_elapsed.tolist() == [4.0]
    assert snap.ring_elapsed.tolist() == [2.0] and snap.waiting_elapsed.tolist() == [1.0]


def test_an_operator_who_moved_after_the_ticks_clock_counts_no_time_not_negative_time() -> None:
    board = OperatorBoard()
    board.log_in("anna", {1}, 0.0).move(S.READY, 10.004)  # back from wrap-up while the tick awaited
    board.log_in("boris", {1}, 0.0).move(S.READY, 2.0)
    board.get("boris").move(S.RESERVED, 10.002)
    snap = CallBook(project=1).snapshot(10.0, board)  # the tick read its clock at 10.0
    assert snap.idle_elapsed.tolist() == [0.0] and snap.talk_elapsed.tolist() == [0.0]


def test_hand_clocked_minutes_of_a_campaign_with_a_real_pacer() -> None:
    """Board, connector and callbook together, as the loop will drive them, with a seeded far end."""
    rng = np.random.default_rng(7)
    pacer = make_pacer("predictive", abandon_target=0.03, ring_timeout=25.0, abandon_after=2.0, rng=rng)
    board = OperatorBoard()
    for login in ("anna", "boris", "vera"):
        board.log_in(login, {1}, 0.0).move(S.READY, 0.0)
    connector = Connector(board)
    book = CallBook(project=1)
    pending: dict[str, tuple[float, str]] = {}  # call -> (when it settles, how)
    talking: dict[str, float] = {}  # call -> when the client hangs up
    launched = connected = abandoned = 0
    for step in range(480):  # two minutes in 0.25 s ticks (the first is cautious: nothing is known yet)
        now = step * 0.25
        for command in connector.tick(now):
            if isinstance(command, Connect):
                pacer.observe(book.connected(command.call_id, now, command.operator))
                connector.connected(command.call_id, now)
                talking[command.call_id] = now + 20.0
                connected += 1
            else:
                assert isinstance(command, Abandon)
                pacer.observe(book.abandoned(command.call_id, now))
                abandoned += 1
        for call_id, until in list(talking.items()):
            if now >= until:
                for event in book.ended(call_id, now):
                    pacer.observe(event)
                connector.ended(call_id, now, wrap_up=5.0)
                del talking[call_id]
        for call_id, (at, how) in list(pending.items()):
            if now >= at:
                del pending[call_id]
                if how == "human":
                    pacer.observe(book.answered(call_id, now))
                    for command in connector.answered(call_id, project=1, now=now):
                        assert isinstance(command, Connect)
                        pacer.observe(book.connected(command.call_id, now, command.operator))
                        connector.connected(command.call_id, now)
                        talking[command.call_id] = now + 20.0
                        connected += 1
                else:
                    pacer.observe(book.failed(call_id, now, how))
        decision = pacer.decide(book.snapshot(now, board))
        assert decision.calls >= 0 and decision.reason
        for _ in range(decision.calls):
            call_id = f"c{launched}"
            launched += 1
            pacer.observe(book.dialed(call_id, lead_id=launched, phone="+7", now=now))
            how = rng.choice(["human", "no_answer", "busy"], p=[0.3, 0.5, 0.2])
            pending[call_id] = (now + (rng.uniform(3, 10) if how != "no_answer" else 25.0), str(how))
    assert launched > 3 and connected >= 3  # it dialled ahead of the three operators and they talked
    assert abandoned <= max(1, connected)  # sanity: not a storm of drops
    assert all(o.calls_today >= 1 for o in board.operators.values())
