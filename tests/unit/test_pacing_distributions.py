"""Sums of Bernoulli variables and the per-call abandon risk."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacing.distributions import EXACT_MAX_TERMS, poisson_binomial_pmf, safe_launches

probabilities = st.lists(st.floats(0.0, 1.0), min_size=0, max_size=10).map(np.array)


def brute_force(p: np.ndarray) -> np.ndarray:
    pmf = np.zeros(p.size + 1)
    for outcome in itertools.product([0, 1], repeat=p.size):
        chosen = np.array(outcome, dtype=bool)
        pmf[chosen.sum()] += np.prod(np.where(chosen, p, 1 - p))
    return pmf


@given(probabilities)
def test_poisson_binomial_matches_enumeration(p: np.ndarray) -> None:
    np.testing.assert_allclose(poisson_binomial_pmf(p), brute_force(p), atol=1e-9)


@given(st.lists(st.floats(0.0, 1.0), min_size=9, max_size=100).map(np.array))
def test_fourier_path_is_a_distribution_with_the_right_mean(p: np.ndarray) -> None:
    pmf = poisson_binomial_pmf(p)
    assert pmf.min() >= 0
    assert pmf.sum() == pytest.approx(1.0)
    assert pmf @ np.arange(pmf.size) == pytest.approx(p.sum(), abs=1e-6)


def test_fourier_path_agrees_with_convolution() -> None:
    p = np.random.default_rng(3).uniform(0, 1, 40)
    slow = np.ones(1)
    for pi in p:
        slow = np.convolve(slow, [1 - pi, pi])
    np.testing.assert_allclose(poisson_binomial_pmf(p), slow, atol=1e-10)


def test_no_competition_means_calls_up_to_the_cap() -> None:
    # Two free operators, nobody busy or ringing: a third answer is the first that can abandon.
    launch = safe_launches(np.zeros(0), np.zeros(0), gap=2, answer=0.5, theta=0.2, cap=10)
    # risk(m) = P(Bin(m, .5) >= 2): 0, 0, .25 -> two calls are free of risk, the third is refused.
    assert launch.risks == (0.0, 0.0)
    assert launch.refused == pytest.approx(0.25)


def test_people_waiting_block_new_calls() -> None:
    launch = safe_launches(np.zeros(0), np.zeros(0), gap=-1, answer=0.3, theta=0.5, cap=10)
    assert launch.calls == 0 and launch.refused == 1.0


def test_cap_is_respected() -> None:
    assert safe_launches(np.zeros(0), np.zeros(0), gap=50, answer=0.1, theta=0.5, cap=3).calls == 3
    assert safe_launches(np.zeros(0), np.zeros(0), gap=50, answer=0.1, theta=0.5, cap=0).calls == 0


def test_normal_approximation_is_close_to_exact_for_large_teams() -> None:
    rng = np.random.default_rng(11)
    supply = rng.uniform(0, 0.6, 60)
    demand = rng.uniform(0, 0.4, EXACT_MAX_TERMS - 60)
    exact = safe_launches(supply, demand, gap=8, answer=0.2, theta=0.05, cap=100)
    more_demand = np.concatenate((demand, np.zeros(1)))  # one more term (p = 0) switches to normal
    normal = safe_launches(supply, more_demand, gap=8, answer=0.2, theta=0.05, cap=100)
    assert exact.exact and not normal.exact
    assert abs(exact.calls - normal.calls) <= 2


@settings(max_examples=60)
@given(
    st.lists(st.floats(0, 1), max_size=30).map(np.array),
    st.lists(st.floats(0, 1), max_size=30).map(np.array),
    st.integers(-3, 10),
    st.floats(0.01, 0.9),
    st.floats(0.001, 0.5),
)
def test_risks_grow_and_stay_under_threshold(supply, demand, gap, answer, theta) -> None:
    launch = safe_launches(supply, demand, gap=gap, answer=answer, theta=theta, cap=40)
    assert all(r <= theta + 1e-12 for r in launch.risks)
    assert list(launch.risks) == sorted(launch.risks)
    more = safe_launches(supply, demand, gap=gap + 1, answer=answer, theta=theta, cap=40)
    assert more.calls >= launch.calls
