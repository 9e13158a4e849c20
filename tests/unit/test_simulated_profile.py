"""The simulated carrier's profile: impossible values refused, shares by prefix, the deterministic mode."""

from __future__ import annotations

from collections import Counter

import pytest
from pydantic import ValidationError

from dialer.config import SimulationProfile, TrunkSettings
from dialer.voice.carrier import BY_LAST_DIGIT, SimulatedCarrier
from sip.streams.clock import MediaClock


def carrier(**profile: object) -> SimulatedCarrier:
    settings = TrunkSettings(kind="simulated", simulate=SimulationProfile.model_validate(profile))
    return SimulatedCarrier("sim", settings, MediaClock(), seed=3)


@pytest.mark.parametrize(
    ("profile", "problem"),
    [
        ({"busy": 0.7, "no_answer": 0.5}, "at most 1"),
        ({"machine": 1.5}, "less than or equal to 1"),
        ({"ring": [5, 2]}, "low <= high"),
        ({"talk": [-1, 3]}, "greater than or equal to 0"),
        ({"prefixes": [{"prefix": "7800", "busy": 0.8, "invalid": 0.3}]}, "at most 1"),
        ({"answer": 0.5}, "Extra inputs"),
    ],
)
def test_impossible_profiles_are_refused(profile: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        SimulationProfile.model_validate(profile)


def test_fates_follow_the_shares_and_the_longest_prefix() -> None:
    sim = carrier(busy=0.2, no_answer=0.3, invalid=0.0, congestion=0.0, machine=0.25,
                  prefixes=[{"prefix": "7800", "busy": 0.0, "no_answer": 1.0}])  # fmt: skip
    fates = Counter(sim._fate(f"7912{i:07d}") for i in range(20_000))
    assert abs(fates["busy"] / 20_000 - 0.2) < 0.015
    assert abs(fates["no_answer"] / 20_000 - 0.3) < 0.015
    assert abs(fates["machine"] / (fates["machine"] + fates["human"]) - 0.25) < 0.02
    assert {sim._fate(f"7800{i:07d}") for i in range(200)} == {"no_answer"}


def test_the_deterministic_mode_goes_by_the_last_digit() -> None:
    sim = carrier(deterministic=True)
    assert [sim._fate(f"7912000000{d}") for d in range(10)] == [BY_LAST_DIGIT[str(d)] for d in range(10)]
    assert set(BY_LAST_DIGIT.values()) == {"human", "machine", "busy", "no_answer", "invalid", "congestion"}


def test_the_voices_ship_with_the_package() -> None:
    voices = carrier().voices
    assert voices.people and voices.machines and voices.operators
    assert all(len(pcm) > 4000 for pcm in [*voices.people, *voices.machines, *voices.operators])  # > 0.5 s
