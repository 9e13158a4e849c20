"""Answered clients reach an operator within 2 s or are abandoned; fake clock advanced by hand."""

from __future__ import annotations

import pytest

from dialer.engine.board import OperatorBoard, OperatorState
from dialer.engine.connector import Abandon, Connect, Connector

S = OperatorState


def ready_board(*logins: str, projects: set[int] | None = None) -> OperatorBoard:
    board = OperatorBoard()
    for n, login in enumerate(logins):
        board.log_in(login, projects or {1}, 0.0).move(S.READY, float(n))
    return board


def test_a_ready_operator_is_reserved_at_once_and_talks_once_bridged() -> None:
    board = ready_board("anna", "boris")
    connector = Connector(board)
    assert connector.answered("c1", project=1, now=10.0) == [Connect("c1", "anna", 0.0)]
    assert board.get("anna").state is S.RESERVED
    connector.connected("c1", 10.3)
    assert board.get("anna").state is S.TALKING and board.get("anna").calls_today == 1
    assert connector.ended("c1", 70.0, wrap_up=15.0) == []
    assert board.get("anna").state is S.WRAP_UP
    connector.tick(84.9)
    assert board.get("anna").state is S.WRAP_UP
    connector.tick(85.0)
    assert board.get("anna").state is S.READY


def test_nobody_ready_within_two_seconds_means_abandon_and_the_operator_is_not_counted() -> None:
    board = ready_board("anna")
    connector = Connector(board, abandon_after=2.0)
    connector.answered("c1", project=1, now=0.0)
    assert connector.answered("c2", project=1, now=0.5) == []  # queued
    assert connector.next_deadline() == 2.5
    assert connector.tick(2.4) == []
    assert connector.tick(2.5) == [Abandon("c2", 2.0)]
    assert connector.waiting == []


def test_an_operator_freed_in_time_takes_the_waiting_client() -> None:
    board = ready_board("anna")
    connector = Connector(board)
    connector.answered("c1", project=1, now=0.0)
    connector.connected("c1", 0.1)
    connector.answered("c2", project=1, now=5.0)
    # c1's client hangs up at 6.0; with no wrap-up anna is ready again and takes c2 within 2 s.
    assert connector.ended("c1", 6.0, wrap_up=0.0) == []
    assert connector.tick(6.0) == [Connect("c2", "anna", 1.0)]


def test_a_client_hanging_up_while_waiting_or_before_the_bridge_frees_everything() -> None:
    board = ready_board("anna")
    connector = Connector(board)
    connector.answered("c1", project=1, now=0.0)
    assert connector.ended("c1", 0.2, wrap_up=30.0) == []  # before the bridge: no wrap-up
    assert board.get("anna").state is S.READY
    connector.answered("c2", project=1, now=1.0)
    connector.answered("c3", project=1, now=1.1)
    assert connector.ended("c3", 1.5, wrap_up=30.0) == []
    assert connector.waiting == [] and connector.tick(10.0) == []


def test_waiting_clients_go_by_campaign_priority_then_age_and_pinned_operators_are_preferred() -> None:
    board = ready_board("anna", "boris", projects={1, 2})
    connector = Connector(board)
    for login in ("anna", "boris"):
        board.get(login).move(S.PAUSED, 0.0, reason="meeting")
    connector.answered("low", project=1, now=0.0, priority=0)
    connector.answered("high", project=2, now=0.5, priority=5)
    board.get("boris").move(S.READY, 1.0)
    assert connector.tick(1.0) == [Connect("high", "boris", 0.5)]
    board.get("anna").move(S.READY, 1.2)
    commands = connector.answered("mine", project=1, now=1.3, prefer="anna")
    assert commands == [Connect("low", "anna", 1.3)]  # the older client first; "mine" waits
    assert connector.tick(3.25) == []
    (abandoned,) = connector.tick(3.5)
    assert isinstance(abandoned, Abandon) and abandoned.call_id == "mine"
    assert abandoned.waited == pytest.approx(2.2)


def test_abandon_after_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Connector(OperatorBoard(), abandon_after=0)


def test_an_operator_of_two_projects_takes_the_higher_priority_campaign_and_commands_reach_their_loop() -> (
    None
):
    board = OperatorBoard()
    board.log_in("anna", {1, 2}, 0.0)
    connector = Connector(board)
    low: list[object] = []
    high: list[object] = []
    assert connector.answered("low-1", project=1, now=0.0, priority=0, sink=low.append) == []
    assert connector.answered("high-1", project=2, now=0.5, priority=10, sink=high.append) == []
    board.get("anna").move(S.READY, 1.0)
    commands = connector.tick(1.0)  # the low campaign's loop ticked: both commands come back to it
    assert commands == [Connect("high-1", "anna", 0.5)]  # the younger call, of the higher priority
    connector.forward(commands[0])  # not its call: the low loop forwards it
    assert high == [Connect("high-1", "anna", 0.5)] and low == []
    connector.forward(commands[0])  # a command is delivered once
    assert len(high) == 1
    assert connector.tick(2.0) == [Abandon("low-1", 2.0)]


def test_a_reserved_operator_gets_the_answered_call_at_once_unless_they_left() -> None:
    board = ready_board("anna", "boris")
    connector = Connector(board)
    connector.reserve("cb-1", "boris", 1.0)  # a callback dialled for boris
    assert board.get("boris").state is S.RESERVED
    assert connector.answered("cb-1", project=1, now=9.0) == [Connect("cb-1", "boris", 0.0)]
    connector.connected("cb-1", 9.1)
    connector.reserve("cb-2", "anna", 10.0)
    board.get("anna").move(S.PAUSED, 11.0, reason="phone dropped")
    assert connector.answered("cb-2", project=1, now=12.0) == []  # anna left: it waits like any call
    assert connector.ended("cb-1", 13.0, wrap_up=0.0) == []  # boris wraps up...
    assert connector.tick(13.0) == [Connect("cb-2", "boris", 1.0)]  # ...and takes it
    board.get("anna").move(S.READY, 20.0)
    connector.reserve("cb-3", "anna", 20.0)
    assert connector.ended("cb-3", 30.0, wrap_up=5.0) == []  # never answered: straight back to ready
    assert board.get("anna").state is S.READY


def test_a_client_past_the_deadline_is_abandoned_even_if_an_operator_just_came_free() -> None:
    board = OperatorBoard()
    board.log_in("anna", {1}, 0.0)
    connector = Connector(board, abandon_after=2.0)
    assert connector.answered("c1", project=1, now=0.0) == []
    board.get("anna").move(S.READY, 2.4)  # a late tick: anna is free, but 2.4 s have passed
    assert connector.tick(2.4) == [Abandon("c1", 2.4)]
    assert board.get("anna").state is S.READY  # not reserved for a call that is lost anyway
