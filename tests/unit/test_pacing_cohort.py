"""The cohort estimator stays on the truth through bursts, where an average over arrivals swings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacing.cohort import CohortRates
from pacing.errors import InvalidParameter
from pacing.events import CallEvent, EventKind
from pacing.statistics import CampaignStatistics

HUMAN, NO_ANSWER = 0, 1
RING_TIMEOUT = 25.0


def lognormal_cdf(mean: float, sigma: float):  # type: ignore[no-untyped-def]
    from math import erf, log, sqrt

    def cdf(kind: int, elapsed: np.ndarray) -> np.ndarray:
        if kind == NO_ANSWER:
            return (elapsed >= RING_TIMEOUT).astype(float)
        safe = np.maximum(elapsed, 1e-9)
        z = (np.log(safe) - log(mean)) / (sigma * sqrt(2))
        return np.array([0.5 * (1 + erf(v)) for v in z])

    return cdf


def burst(rng: np.random.Generator, size: int, at: float, human: float) -> list[tuple[float, float, int]]:
    """(report time, delay, kind) of ``size`` calls dialled at ``at``."""
    calls = []
    for _ in range(size):
        if rng.random() < human:
            ring = float(rng.lognormal(np.log(8.0), 0.4))
            if ring < RING_TIMEOUT:
                calls.append((at + ring, ring, HUMAN))
                continue
        calls.append((at + RING_TIMEOUT, RING_TIMEOUT, NO_ANSWER))
    return calls


def run(calls: list[tuple[float, float, int]], times: list[float]) -> list[float]:
    """The fast estimate of a person answering at each of ``times``."""
    rates = CohortRates(
        np.array([0.2, 0.8]), prior_weight=20, settle_seconds=40, fast_half_life=30, slow_half_life=150
    )
    cdf = lognormal_cdf(8.0, 0.4)
    calls = sorted(calls)
    estimates, reported = [], 0
    for now in times:
        while reported < len(calls) and calls[reported][0] <= now:
            at, delay, kind = calls[reported]
            rates.observe(kind, at, delay)
            reported += 1
        pending = np.array([now - (at - delay) for at, delay, _ in calls[reported:] if at - delay <= now])
        estimates.append(float(rates.estimate(now, pending, cdf).fast[HUMAN]))
    return estimates


def test_a_burst_of_calls_does_not_swing_the_answer_rate() -> None:
    """1,000 calls dialled at once, 10 % answered by a person after about 8 s, the rest reporting no
    answer at 25 s: counted as they arrive, the answers seen would be 100 % at 20 s and the rate would
    crash at 25 s. By cohort it stays near 10 % throughout."""
    rng = np.random.default_rng(3)
    calls = burst(rng, 1000, 0.0, 0.10)
    times = [6.0, 10.0, 15.0, 20.0, 24.9, 25.1, 30.0, 45.0, 80.0]
    for now, estimate in zip(times, run(calls, times), strict=True):
        assert estimate == pytest.approx(0.10, abs=0.05), f"at {now} s"


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    st.lists(st.tuples(st.integers(1, 400), st.floats(0, 600)), min_size=1, max_size=8),
    st.floats(0.03, 0.6),
    st.integers(0, 2**32 - 1),
)
def test_any_dialling_pattern_gives_an_unbiased_rate(
    bursts: list[tuple[int, float]], human: float, seed: int
) -> None:
    """Whatever the bursts, once the evidence is worth a few hundred calls the estimate is within
    four standard errors of the truth, at any instant."""
    rng = np.random.default_rng(seed)
    calls = [c for size, at in bursts for c in burst(rng, size, at, human)]
    total = sum(size for size, _ in bursts)
    end = max(at for at, _, _ in calls)
    times = list(np.linspace(0.0, end + 50.0, 25))
    for now, estimate in zip(times, run(calls, times), strict=True):
        dialled = sum(size for size, at in bursts if at + 10.0 <= now)
        if dialled >= 300 and total >= 300:
            error = np.sqrt(human * (1 - human) / 60) + 0.01  # the fast memory: about 60 calls
            assert abs(estimate - human) < 4 * error, f"at {now:.0f} s"


def test_statistics_learn_the_rate_of_a_bursty_dialer() -> None:
    """The same through CampaignStatistics, as the pacer uses it: bursts of 300 every 40 s."""
    rng = np.random.default_rng(9)
    stats = CampaignStatistics(ring_timeout=RING_TIMEOUT, abandon_after=2.0)
    calls = sorted(c for k in range(20) for c in burst(rng, 300, 40.0 * k, 0.15))
    for at, delay, kind in calls:
        event = EventKind.ANSWERED_HUMAN if kind == HUMAN else EventKind.NO_ANSWER
        stats.observe(CallEvent(event, at, delay))
        if event is EventKind.ANSWERED_HUMAN and rng.random() < 0.02:
            assert stats.answer_probability(at) < 0.3  # never believes most calls are answered
    assert stats.answer_probability() == pytest.approx(0.15, abs=0.04)


def test_bad_parameters_are_refused() -> None:
    halves = {"fast_half_life": 30, "slow_half_life": 150}
    with pytest.raises(InvalidParameter):
        CohortRates(np.array([0.5, 0.6]), prior_weight=20, settle_seconds=40, **halves)
    with pytest.raises(InvalidParameter):
        CohortRates(np.array([0.5, 0.5]), prior_weight=20, settle_seconds=0, **halves)
