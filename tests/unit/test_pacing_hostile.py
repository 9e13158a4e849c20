"""The abandon limit holds against worlds the model gets wrong, and the governor's books are exact.

Hostile worlds for the whole pacer (simulated shifts from a cold start): answers that all come at the
same instant after a burst, an answer rate that spikes fourfold for a minute, one that collapses, ring
times and wrap-ups far from the prior. The law judges the window, so each shift's abandon rate over all
its answers must stay under the 3 % target (the pooled figure of the sweep in ``bench/pacing.py``
covers many more shapes).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacing import make_pacer
from pacing.events import CallEvent, EventKind, Snapshot
from pacing.governor import AbandonGovernor
from pacing.simulate import Phase, Scenario, simulate
from pacing.strategies import progressive_calls

HOSTILE = {
    "every answer at the same instant (ring 6 s fixed)": Scenario(
        "instant", 40, (Phase(0, 0.15),), ring_mean=6.0, ring_cv=0.0, shift_seconds=3600.0
    ),
    "answer rate x4 for a minute, every 10 minutes": Scenario(
        "spikes",
        40,
        tuple(Phase(600.0 * k + (60.0 if k % 2 else 0.0), 0.40 if k % 2 else 0.10) for k in range(8)),
        shift_seconds=3600.0,
    ),
    "answer rate collapsing 0.5 -> 0.02 and back": Scenario(
        "collapse", 40, (Phase(0, 0.5), Phase(900, 0.02), Phase(1800, 0.5)), shift_seconds=3600.0
    ),
    "slow pick-ups, long wrap-ups, 100 operators at 0.05": Scenario(
        "far from the prior",
        100,
        (Phase(0, 0.05, machine=0.1),),
        ring_mean=16.0,
        ring_cv=0.8,
        wrap_mean=45.0,
        wrap_cv=0.6,
        talk_mean=50.0,
        shift_seconds=3600.0,
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_worlds_stay_under_the_limit(name: str) -> None:
    scenario = HOSTILE[name]
    shifts = [simulate(scenario, "predictive", seed) for seed in range(2)]
    answers = sum(s.answers for s in shifts)
    abandons = sum(s.abandons for s in shifts)
    assert answers > 200
    assert abandons / answers <= 0.03, f"{name}: {abandons}/{answers}"
    progressive = simulate(scenario, "progressive", 0)
    assert np.mean([s.occupancy for s in shifts]) >= progressive.occupancy - 0.01


events = st.lists(
    st.tuples(
        st.sampled_from([EventKind.ANSWERED_HUMAN, EventKind.ABANDONED]),
        st.floats(0, 5000, allow_nan=False),
        st.integers(1, 200),  # a burst: that many at the same instant
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(events, st.floats(0, 6000, allow_nan=False), st.integers(0, 400))
def test_the_window_counts_exactly_what_the_law_counts(
    stream: list[tuple[EventKind, float, int]], now: float, min_answers: int
) -> None:
    """Bursts, ties and any order of arrival: the governor's answers, abandons and budget equal a
    recount of the events inside the window, and the budget is spent exactly when the rate is over."""
    window = 3600.0
    governor = AbandonGovernor(limit=0.03, window_seconds=window, min_answers=min_answers)
    stream = sorted(stream, key=lambda e: e[1])
    for kind, at, count in stream:
        for _ in range(count):
            governor.observe(CallEvent(kind, at, 2.0))
    now = max(now, stream[-1][1] if stream else 0.0)
    state = governor.state(now)
    # Buckets are whole minutes: an event counts while its minute overlaps the window.
    inside = [(k, n) for k, at, n in stream if (np.floor(at / 60.0) + 1) * 60.0 > now - window]
    answers = sum(n for k, n in inside if k is EventKind.ANSWERED_HUMAN)
    abandons = sum(n for k, n in inside if k is EventKind.ABANDONED)
    assert (state.answers, state.abandons) == (answers, abandons)
    assert state.budget_left == pytest.approx(0.03 * max(answers, min_answers) - abandons)
    assert state.spent == (abandons > 0.03 * max(answers, min_answers) + 1e-9)
    assert governor.theta_min <= state.theta <= governor.theta_max


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 60),  # abandons already in the window
    st.integers(0, 800),  # answers already in the window
    st.integers(0, 300),  # free operators
    st.integers(0, 900),  # calls ringing
)
def test_a_spent_window_adds_no_call_that_could_abandon(
    abandons: int, answered: int, free: int, ringing: int
) -> None:
    """Whatever came before, once the window is at its limit every new call has an operator kept for
    it: launches never exceed free operators minus calls already in progress."""
    pacer = make_pacer("predictive", abandon_target=0.03, rng=np.random.default_rng(0))
    for i in range(answered):
        pacer.observe(CallEvent(EventKind.ANSWERED_HUMAN, float(i % 50), 8.0))
    for _ in range(abandons):
        pacer.observe(CallEvent(EventKind.ABANDONED, 50.0, 2.0))
    snapshot = Snapshot(
        now=60.0,
        agents_logged_in=free + 10,
        agents_free=free,
        talk_elapsed=np.full(10, 30.0),
        ring_elapsed=np.linspace(0, 20, ringing),
    )
    decision = pacer.decide(snapshot)
    if pacer.window(60.0).spent:
        assert decision.calls <= progressive_calls(snapshot)
    assert decision.calls >= 0
