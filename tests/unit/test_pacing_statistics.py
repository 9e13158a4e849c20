"""Online statistics learn the simulated truth, react fast to rising answers and slowly to falling."""

from __future__ import annotations

import numpy as np
import pytest

from pacing.errors import InvalidParameter
from pacing.events import CallEvent, EventKind
from pacing.statistics import CampaignStatistics


def feed_outcomes(
    stats: CampaignStatistics, rng: np.random.Generator, human: float, n: int, t0: float = 0
) -> None:
    """One call dialled per second from ``t0``; outcomes reported in the order they happen."""
    events = []
    for i in range(n):
        if rng.random() < human:
            ring = float(rng.lognormal(2.0, 0.4))
            events.append(CallEvent(EventKind.ANSWERED_HUMAN, t0 + i + ring, ring))
        else:
            events.append(CallEvent(EventKind.NO_ANSWER, t0 + i + 25.0, 25.0))
    for event in sorted(events, key=lambda e: e.at):
        stats.observe(event)


def test_estimates_converge_to_the_truth() -> None:
    rng = np.random.default_rng(5)
    stats = CampaignStatistics(ring_timeout=25.0, abandon_after=2.0)
    feed_outcomes(stats, rng, 0.3, 4000)
    talks = rng.lognormal(np.log(90) - 0.5 * np.log(2), np.sqrt(np.log(2)), 3000)  # mean 90, cv 1
    for i, talk in enumerate(talks):
        stats.observe(CallEvent(EventKind.TALK_ENDED, i, float(talk)))
        stats.observe(CallEvent(EventKind.WRAP_ENDED, i, 20.0))
    tables = stats.tables(now=5000.0)
    assert tables.answer_probability == pytest.approx(0.3, abs=0.04)
    assert tables.mean_talk == pytest.approx(90, rel=0.12)
    assert tables.mean_wrap == pytest.approx(20.5, abs=1.0)
    assert tables.mean_ring_human == pytest.approx(np.exp(2.0 + 0.08), rel=0.1)


def test_answer_rate_rises_fast_and_falls_slowly() -> None:
    rng = np.random.default_rng(8)
    rising = CampaignStatistics(ring_timeout=25.0, abandon_after=2.0)
    feed_outcomes(rising, rng, 0.10, 1500)
    feed_outcomes(rising, rng, 0.40, 150, t0=2000)
    assert rising.answer_probability() > 0.28

    falling = CampaignStatistics(ring_timeout=25.0, abandon_after=2.0)
    feed_outcomes(falling, rng, 0.40, 1500)
    feed_outcomes(falling, rng, 0.10, 150, t0=2000)
    assert falling.answer_probability() > 0.2  # still cautious: fewer answers only cost idle time
    feed_outcomes(falling, rng, 0.10, 2500, t0=3000)
    assert falling.answer_probability() == pytest.approx(0.10, abs=0.04)


def test_free_in_time_follows_elapsed_wrap_up() -> None:
    stats = CampaignStatistics(ring_timeout=25.0, abandon_after=2.0)
    for i in range(2000):
        stats.observe(CallEvent(EventKind.WRAP_ENDED, i, 15.0))
        stats.observe(CallEvent(EventKind.ANSWERED_HUMAN, i, 8.0))
    tables = stats.tables(now=10_000.0)
    by_elapsed = tables.wrap(np.array([0.0, 4.0, 6.0, 14.0]))
    # a new call needs its operator about 8 + 2 s from now; wrap-up lasts 15 s
    assert by_elapsed[0] < 0.05 and by_elapsed[3] > 0.95
    assert list(by_elapsed) == sorted(by_elapsed)
    # a talking operator still has 15 s of wrap-up ahead: never free within 10 s
    assert tables.talk(np.array([0.0, 60.0, 600.0])).max() < 0.05


def test_ringing_calls_lose_their_chance_of_a_person_as_they_ring() -> None:
    rng = np.random.default_rng(2)
    stats = CampaignStatistics(ring_timeout=25.0, abandon_after=2.0)
    feed_outcomes(stats, rng, 0.3, 3000)
    tables = stats.tables(now=4000.0)
    chance = tables.ringing(np.array([0.0, 5.0, 10.0, 20.0, 25.0, 40.0]))
    assert chance[0] == pytest.approx(tables.answer_probability, abs=0.02)
    assert list(chance) == sorted(chance, reverse=True)
    assert chance[4] == 0.0 and chance[5] == 0.0


def test_the_cold_start_assumes_more_answers_than_the_prior_until_the_calls_tell() -> None:
    """With every operator free at the start, the dangerous error is expecting too few answers."""
    stats = CampaignStatistics(ring_timeout=25.0, abandon_after=2.0)  # prior 0.20 worth 20 calls
    assert stats.answer_probability() == 1.0  # nothing seen yet: every call may be answered
    rng = np.random.default_rng(11)
    feed_outcomes(stats, rng, 0.35, 60)  # a true rate far above the prior: the bound follows it up
    assert stats.answer_probability() > 0.35
    feed_outcomes(stats, rng, 0.35, 400, t0=100)  # informed: no caution left, no bias
    assert stats.outcomes_seen > stats.cold_outcomes
    assert stats.answer_probability() == pytest.approx(0.35, abs=0.06)
    low = CampaignStatistics(ring_timeout=25.0, abandon_after=2.0)
    feed_outcomes(low, np.random.default_rng(12), 0.05, 150)
    assert low.answer_probability() < 0.25  # the bound falls with evidence of few answers
    with pytest.raises(InvalidParameter):
        CampaignStatistics(ring_timeout=25.0, abandon_after=2.0, cold_z=-1.0)
