"""The abandon governor: budget over the legal window, a threshold that tightens as it runs out."""

from __future__ import annotations

import pytest

from pacing.errors import InvalidParameter
from pacing.events import CallEvent, EventKind
from pacing.governor import DAY, AbandonGovernor


def answers(governor: AbandonGovernor, n: int, at: float = 0.0) -> None:
    for i in range(n):
        governor.observe(CallEvent(EventKind.ANSWERED_HUMAN, at + i, 8.0))


def test_budget_and_spent() -> None:
    governor = AbandonGovernor(limit=0.03)
    answers(governor, 100)
    state = governor.state(200.0)
    assert state.budget_left == pytest.approx(3.0) and not state.spent
    for _ in range(4):
        governor.observe(CallEvent(EventKind.ABANDONED, 150.0, 2.0))
    state = governor.state(200.0)
    assert state.rate == pytest.approx(0.04)
    assert state.budget_left == pytest.approx(-1.0) and state.spent


def test_window_forgets_old_events() -> None:
    governor = AbandonGovernor(limit=0.03, window_seconds=DAY)
    answers(governor, 10)
    governor.observe(CallEvent(EventKind.ABANDONED, 5.0, 2.0))
    assert governor.state(100.0).spent
    assert governor.state(DAY + 200.0).answers == 0
    assert not governor.state(DAY + 200.0).spent


def test_threshold_tightens_after_abandons_and_recovers_with_answers() -> None:
    governor = AbandonGovernor(limit=0.03)
    answers(governor, 200)
    before = governor.state(300.0).theta
    for _ in range(3):
        governor.observe(CallEvent(EventKind.ABANDONED, 250.0, 2.0))
    after = governor.state(300.0).theta
    assert after < before
    answers(governor, 400, at=400.0)
    assert governor.state(900.0).theta > after


def test_predicted_risk_steers_the_threshold() -> None:
    risky, safe = AbandonGovernor(), AbandonGovernor()
    for i in range(500):
        risky.dialled(float(i), 0.25, 0.10)
        safe.dialled(float(i), 0.25, 0.001)
    assert risky.state(600.0).theta < safe.state(600.0).theta


def test_threshold_stays_within_bounds() -> None:
    governor = AbandonGovernor(theta_min=0.01, theta_max=0.1)
    for i in range(5000):
        governor.dialled(float(i), 1.0, 0.0)
    assert governor.state(6000.0).theta == pytest.approx(0.1)
    for _ in range(200):
        governor.observe(CallEvent(EventKind.ABANDONED, 6000.0, 2.0))
    assert governor.state(6001.0).theta == pytest.approx(0.01)


@pytest.mark.parametrize(
    "kwargs", [{"limit": 0.0}, {"limit": 1.5}, {"window_seconds": 0}, {"steer_target": 0.05}, {"theta0": 0.9}]
)
def test_impossible_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidParameter):
        AbandonGovernor(**kwargs)
