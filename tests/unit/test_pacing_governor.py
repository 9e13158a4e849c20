"""The abandon governor: budget over the legal window, a threshold that tightens as it runs out."""

from __future__ import annotations

import math

import pytest

from pacing.errors import InvalidParameter
from pacing.events import CallEvent, EventKind
from pacing.governor import DAY, AbandonGovernor


def answers(governor: AbandonGovernor, n: int, at: float = 0.0) -> None:
    for i in range(n):
        governor.observe(CallEvent(EventKind.ANSWERED_HUMAN, at + i, 8.0))


def test_budget_and_spent() -> None:
    governor = AbandonGovernor(limit=0.03, min_answers=0)
    answers(governor, 100)
    state = governor.state(200.0)
    assert state.budget_left == pytest.approx(3.0) and not state.spent
    for _ in range(4):
        governor.observe(CallEvent(EventKind.ABANDONED, 150.0, 2.0))
    state = governor.state(200.0)
    assert state.rate == pytest.approx(0.04)
    assert state.budget_left == pytest.approx(-1.0) and state.spent


def test_small_samples_get_an_allowance_large_ones_the_exact_limit() -> None:
    governor = AbandonGovernor(limit=0.03)  # counts at least 333 answers: ten abandons' worth
    answers(governor, 50)
    for _ in range(3):
        governor.observe(CallEvent(EventKind.ABANDONED, 60.0, 2.0))
    assert not governor.state(100.0).spent  # 6 % of 50, but a fresh campaign may recover
    answers(governor, 350, at=100.0)
    for _ in range(9):
        governor.observe(CallEvent(EventKind.ABANDONED, 500.0, 2.0))
    at_limit = governor.state(600.0)
    assert at_limit.abandons == 12 and at_limit.answers == 400
    assert at_limit.budget_left == pytest.approx(0.0) and not at_limit.spent  # exactly 3 %
    governor.observe(CallEvent(EventKind.ABANDONED, 550.0, 2.0))
    over = governor.state(600.0)
    assert over.spent and over.budget_left == pytest.approx(-1.0)


def test_window_forgets_old_events() -> None:
    governor = AbandonGovernor(limit=0.03, window_seconds=DAY, min_answers=0)
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


def test_threshold_tightens_smoothly_near_the_limit() -> None:
    governor = AbandonGovernor(limit=0.03, min_answers=0, tighten_below=2.0)
    answers(governor, 1000)
    for _ in range(27):  # budget left: 30 - 27 = 3 abandons
        governor.observe(CallEvent(EventKind.ABANDONED, 1000.0, 2.0))
    roomy = governor.state(1001.0).theta
    governor.observe(CallEvent(EventKind.ABANDONED, 1000.0, 2.0))
    governor.observe(CallEvent(EventKind.ABANDONED, 1000.0, 2.0))  # budget left: 1
    tight = governor.state(1001.0)
    assert tight.budget_left == pytest.approx(1.0) and not tight.spent
    # two more abandons lower theta by exp(-0.2); being halfway into the last two halves it again
    assert tight.theta == pytest.approx(roomy * math.exp(-0.2) * 0.5)


def test_saved_budget_raises_theta_only_so_far_and_theta_stays_in_bounds() -> None:
    governor = AbandonGovernor(theta_min=0.01, theta_max=0.1, theta0=0.035, gain=0.1, max_saved=8)
    answers(governor, 5000)
    assert governor.state(6000.0).theta == pytest.approx(min(0.035 * math.exp(0.8), 0.1))
    for _ in range(400):
        governor.observe(CallEvent(EventKind.ABANDONED, 6000.0, 2.0))
    assert governor.state(6001.0).theta == pytest.approx(0.01)


@pytest.mark.parametrize(
    "kwargs", [{"limit": 0.0}, {"limit": 1.5}, {"window_seconds": 0}, {"steer_target": 0.05}, {"theta0": 0.9}]
)
def test_impossible_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidParameter):
        AbandonGovernor(**kwargs)


def test_people_hung_up_on_as_machines_count_as_abandons() -> None:
    """200 answers, 100 machine verdicts of which 4 % were people: 4 hidden abandons (and 4 more live
    answers) in the window; they leave it with their minute."""
    governor = AbandonGovernor(limit=0.03, min_answers=0, window_seconds=DAY)
    answers(governor, 200)
    for i in range(100):
        governor.observe(CallEvent(EventKind.ANSWERED_MACHINE, float(i), 6.0))
    clean = governor.state(300.0)
    governor.false_positive_rate = 0.04
    counted = governor.state(300.0)
    assert clean.hidden_abandons == 0 and counted.hidden_abandons == pytest.approx(4.0)
    assert counted.budget_left == pytest.approx(0.03 * 204 - 4)
    assert counted.budget_left < clean.budget_left
    assert counted.rate == pytest.approx(4 / 204)
    assert governor.state(DAY + 400.0).hidden_abandons == 0
