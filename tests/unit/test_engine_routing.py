"""Operators' states, who gets the next call, and sticky callbacks with their grace period."""

from __future__ import annotations

import pytest

from dialer.engine.board import OperatorBoard, OperatorState, OperatorStateError
from dialer.engine.callbacks import CallbackPolicy, callback_route

S = OperatorState


def board_with(*logins: str, project: int = 1) -> OperatorBoard:
    board = OperatorBoard()
    for n, login in enumerate(logins):
        board.log_in(login, {project}, now=0.0).move(S.READY, now=float(n))
    return board


def test_the_operator_idle_longest_gets_the_call_ties_by_fewest_calls() -> None:
    board = board_with("anna", "boris", "vera")
    assert board.pick(1).login == "anna"  # ready since 0
    anna = board.get("anna")
    anna.move(S.RESERVED, 10)
    anna.move(S.TALKING, 11)
    anna.start_wrap_up(100, seconds=15)
    assert board.pick(1).login == "boris"
    assert board.tick(114) == [] and board.tick(115) == [anna]
    boris, vera = board.get("boris"), board.get("vera")
    for operator in (boris, vera):
        operator.move(S.RESERVED, 120)
        operator.move(S.TALKING, 121)
        operator.start_wrap_up(130, 0)
    boris.calls_today += 1
    board.tick(131)  # both back at the same instant: vera has fewer calls today
    assert [o.login for o in board.ready(1)] == ["anna", "boris", "vera"]
    assert board.pick(1).login == "anna"
    assert board.pick(1, exclude={"anna"}).login == "vera"
    assert board.pick(2) is None  # nobody works project 2


def test_operators_in_several_projects_and_a_preferred_operator() -> None:
    board = OperatorBoard()
    board.log_in("anna", {1, 2}, 0).move(S.READY, 5)
    board.log_in("boris", {2}, 0).move(S.READY, 1)
    assert board.pick(1).login == "anna"
    assert board.pick(2).login == "boris"
    assert board.pick(2, prefer="anna").login == "anna"
    assert board.pick(2, prefer="ghost").login == "boris"


def test_illegal_transitions_leave_the_state_unchanged() -> None:
    board = board_with("anna")
    anna = board.get("anna")
    with pytest.raises(OperatorStateError, match="cannot go from ready to talking"):
        anna.move(S.TALKING, 1)
    with pytest.raises(OperatorStateError, match="reason"):
        anna.move(S.PAUSED, 1)
    assert anna.state is S.READY
    anna.move(S.PAUSED, 2, reason="lunch")
    assert (anna.pause_reason, anna.idle_since) == ("lunch", None)
    with pytest.raises(OperatorStateError, match="not logged in"):
        board.get("ghost")


def test_a_callback_waits_for_its_operator_during_the_grace_period_then_goes_to_anyone() -> None:
    board = board_with("anna", "boris")
    board.get("anna").move(S.PAUSED, 50, reason="training")
    common = {"project": 1, "pinned": "anna", "due_at": 100.0, "board": board, "grace": 600.0}
    early = callback_route(now=90.0, **common)
    assert early.operator is None and early.retry_at == 100.0
    waiting = callback_route(now=400.0, **common)
    assert waiting.operator is None and "waiting for pinned operator anna (paused)" in waiting.reason
    handed_over = callback_route(now=701.0, **common)
    assert handed_over.operator == "boris" and "grace period" in handed_over.reason
    strict = callback_route(now=701.0, policy=CallbackPolicy.PINNED_ONLY, **common)
    assert strict.operator is None
    board.get("anna").move(S.READY, 702)
    assert callback_route(now=703.0, **common).operator == "anna"


def test_a_callback_without_free_operators_is_retried() -> None:
    board = board_with("anna")
    board.get("anna").move(S.RESERVED, 5)
    route = callback_route(project=1, pinned=None, due_at=0.0, now=10.0, board=board, grace=60.0)
    assert route.operator is None and route.retry_at == 15.0
