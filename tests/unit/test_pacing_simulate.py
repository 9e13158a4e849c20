"""The simulator: common random numbers, conservation of calls, and the strategies ordered as a
supervisor would see them."""

from __future__ import annotations

import pytest

from pacing.simulate import Phase, Scenario, _Population, simulate

SHORT = Scenario("10 operators, answer 0.25, 1 h", 10, (Phase(0, 0.25),), shift_seconds=3600)


def test_the_kth_call_meets_the_same_person_whatever_the_strategy() -> None:
    one, two = _Population(SHORT, 9), _Population(SHORT, 9)
    assert two.person(5000) == one.person(5000)  # grown in a different order, same people
    assert one.person(10) == two.person(10)
    assert _Population(SHORT, 10).person(10) != one.person(10)


def test_progressive_never_abandons() -> None:
    result = simulate(SHORT, "progressive", seed=1)
    assert result.abandons == 0
    assert result.connects == result.answers


def test_every_answer_is_connected_or_abandoned() -> None:
    result = simulate(SHORT, "predictive", seed=2)
    assert 0 <= result.answers - result.connects - result.abandons <= SHORT.operators
    assert 0 < result.occupancy < SHORT.upper_bound


def test_predictive_keeps_operators_busier_than_progressive_within_the_limit() -> None:
    predictive = simulate(SHORT, "predictive", seed=5)
    progressive = simulate(SHORT, "progressive", seed=5)
    assert predictive.occupancy > progressive.occupancy + 0.1
    assert predictive.abandon_rate <= 0.05


def test_regime_change_is_measured_in_the_hour_after() -> None:
    scenario = Scenario("rise", 10, (Phase(0, 0.15), Phase(600, 0.35)), shift_seconds=1800)
    result = simulate(scenario, "predictive", seed=1)
    assert result.abandon_rate_after_change is not None


def test_phase_probabilities_are_checked() -> None:
    with pytest.raises(ValueError, match="add up"):
        Phase(0, 0.8, machine=0.3)
