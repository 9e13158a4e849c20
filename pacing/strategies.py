"""Pacing strategies behind one interface, and ``make_pacer`` to choose one by name.

- ``progressive``: one call in progress per free operator; cannot abandon, leaves operators idle
  while calls ring.
- ``ratio``: a fixed number of calls per free operator (``ratio``, default 2).
- ``predictive``: per call, the chance that it abandons if answered (see :mod:`pacing.distributions`)
  against a threshold steered by the abandon governor (:mod:`pacing.governor`).
- ``dial_level``: the widely deployed adaptive method, kept as a baseline: a dial level (lines per
  active operator) adjusted every 15 s from idle operators, waiting calls and the drop rate since the
  start of the day, pinned to 1.0 while that rate is over the limit.

Every strategy except ``dial_level`` obeys the governor: when the window's abandon budget is spent it
dials no more than ``progressive`` would.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from pacing.distributions import safe_launches
from pacing.errors import InvalidParameter
from pacing.events import CallEvent, Decision, EventKind, Snapshot
from pacing.governor import DAY, AbandonGovernor, GovernorState
from pacing.statistics import CampaignStatistics, Prior


class Pacer(Protocol):
    """What the dialer engine calls: ``observe`` every event, ``decide`` every tick."""

    name: str

    def observe(self, event: CallEvent) -> None: ...

    def decide(self, snapshot: Snapshot) -> Decision: ...

    def remember(self, event: CallEvent) -> None: ...

    def window(self, now: float) -> GovernorState: ...

    def machines_were_people(self, rate: float) -> None: ...


def progressive_calls(snapshot: Snapshot) -> int:
    """One call in progress (ringing or waiting) per free operator."""
    pending = snapshot.calls_pending
    return max(0, snapshot.agents_free - pending)


class _Governed(abc.ABC):
    """Shared parts: learning, the abandon window and a cap on lines."""

    name = "base"

    def __init__(
        self,
        *,
        abandon_target: float,
        ring_timeout: float,
        abandon_after: float,
        rng: np.random.Generator | None,
        window_seconds: float,
        max_lines_per_agent: float,
        prior: Prior | None,
        governor: Mapping[str, Any] | None = None,
        statistics: Mapping[str, Any] | None = None,
    ) -> None:
        if ring_timeout <= 0:
            raise InvalidParameter(f"ring_timeout must be > 0 seconds, got {ring_timeout}")
        if abandon_after <= 0:
            raise InvalidParameter(f"abandon_after must be > 0 seconds, got {abandon_after}")
        if max_lines_per_agent < 1:
            raise InvalidParameter("max_lines_per_agent must be >= 1")
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.stats = CampaignStatistics(ring_timeout, abandon_after, prior=prior, **(statistics or {}))
        self.governor = AbandonGovernor(
            limit=abandon_target, window_seconds=window_seconds, **(governor or {})
        )
        self.max_lines_per_agent = max_lines_per_agent

    def observe(self, event: CallEvent) -> None:
        self.stats.observe(event)
        self.governor.observe(event)

    def remember(self, event: CallEvent) -> None:
        """Count a past answer or abandon in the legal window only (restoring the window after a
        restart from the stored attempts); the statistics do not learn from it."""
        self.governor.observe(event)

    def window(self, now: float) -> GovernorState:
        """The abandon window now: answers, abandons, rate, budget left."""
        return self.governor.state(now)

    def machines_were_people(self, rate: float) -> None:
        """The estimated share of machine verdicts that were people: counted as abandons (and live
        answers) in the window, see :mod:`pacing.governor`."""
        if not 0.0 <= rate <= 1.0:
            raise InvalidParameter(f"a share of machine verdicts is between 0 and 1, got {rate}")
        self.governor.false_positive_rate = rate

    @abc.abstractmethod
    def decide(self, snapshot: Snapshot) -> Decision:
        """How many calls to launch now."""

    def _line_cap(self, snapshot: Snapshot) -> int:
        in_progress = snapshot.calls_pending
        active = snapshot.agents_free + snapshot.agents_busy
        return max(0, math.floor(self.max_lines_per_agent * active) - in_progress)

    def _progressive(self, snapshot: Snapshot, state: GovernorState, why: str) -> Decision:
        calls = min(progressive_calls(snapshot), self._line_cap(snapshot))
        pending = snapshot.calls_pending
        reason = (
            f"{self.name}: {calls} call(s), progressive because {why} "
            f"(free {snapshot.agents_free}, in progress {pending}; window abandons "
            f"{state.abandons}/{state.answers} = {state.rate:.1%}, budget {state.budget_left:.1f})"
        )
        return Decision(calls, reason, self.name)


class Progressive(_Governed):
    name = "progressive"

    def decide(self, snapshot: Snapshot) -> Decision:
        state = self.governor.state(snapshot.now)
        return self._progressive(snapshot, state, "this campaign dials progressively")


class Ratio(_Governed):
    name = "ratio"

    def __init__(self, *, ratio: float = 2.0, **common: Any) -> None:
        if ratio < 1:
            raise InvalidParameter(f"ratio must be >= 1 call per free operator, got {ratio}")
        super().__init__(**common)
        self.ratio = ratio

    def decide(self, snapshot: Snapshot) -> Decision:
        state = self.governor.state(snapshot.now)
        if state.spent:
            return self._progressive(snapshot, state, "the abandon budget is spent")
        pending = snapshot.calls_pending
        calls = max(0, math.ceil(self.ratio * snapshot.agents_free) - pending)
        calls = min(calls, self._line_cap(snapshot))
        reason = (
            f"ratio: {calls} call(s) to keep {self.ratio:g} per free operator "
            f"(free {snapshot.agents_free}, in progress {pending})"
        )
        return Decision(calls, reason, self.name)


class Predictive(_Governed):
    """Launch the calls whose abandon risk, if answered, stays under the governor's threshold."""

    name = "predictive"

    def decide(self, snapshot: Snapshot) -> Decision:
        state = self.governor.state(snapshot.now)
        if state.spent:
            return self._progressive(snapshot, state, "the abandon budget is spent")
        tables = self.stats.tables(snapshot.now, snapshot.ring_elapsed)
        supply = np.concatenate((tables.talk(snapshot.talk_elapsed), tables.wrap(snapshot.wrap_elapsed)))
        demand = tables.ringing(snapshot.ring_elapsed)
        gap = snapshot.agents_free - snapshot.waiting_elapsed.size
        answer = tables.answer_probability
        cap = self._line_cap(snapshot)
        launch = safe_launches(
            supply,
            demand,
            gap=gap,
            answer=answer,
            theta=state.theta,
            cap=cap,
            answer_error=tables.answer_uncertainty,
        )
        calls = max(launch.calls, min(progressive_calls(snapshot), cap))
        horizon = f"{tables.mean_ring_human:.0f}+{self.stats.abandon_after:g} s"
        reason = (
            f"predictive: {calls} call(s); free {snapshot.agents_free}, busy {snapshot.agents_busy} "
            f"(~{supply.sum():.1f} free within {horizon}), ringing {demand.size} "
            f"(~{demand.sum():.1f} will answer), waiting {snapshot.waiting_elapsed.size}; "
            f"answer rate {answer:.0%}; risk of last call {launch.risk:.1%} vs threshold {state.theta:.1%}; "
            f"window abandons {state.abandons}/{state.answers} = {state.rate:.1%}, "
            f"budget {state.budget_left:.1f}"
        )
        return Decision(calls, reason, self.name, risk=launch.risk)


class DialLevel(_Governed):
    """Baseline: the adaptive dial level driven by the drop rate since the start of the day."""

    name = "dial_level"
    ADJUST_EVERY = 15.0

    def __init__(self, *, max_level: float = 4.0, **common: Any) -> None:
        super().__init__(**common)
        self.level = 1.0
        self.max_level = max_level
        self._next_adjust: float | None = None
        self._day: int | None = None
        self._answers_today = 0
        self._drops_today = 0
        self._free_samples: list[float] = []
        self._waiting_samples: list[float] = []

    def observe(self, event: CallEvent) -> None:
        super().observe(event)
        day = int(event.at // DAY)
        if day != self._day:
            self._day, self._answers_today, self._drops_today = day, 0, 0
        if event.kind is EventKind.ANSWERED_HUMAN:
            self._answers_today += 1
        elif event.kind is EventKind.ABANDONED:
            self._drops_today += 1

    def decide(self, snapshot: Snapshot) -> Decision:
        active = snapshot.agents_free + snapshot.talk_elapsed.size
        self._free_samples.append(snapshot.agents_free / max(active, 1))
        self._waiting_samples.append(float(snapshot.waiting_elapsed.size))
        if self._next_adjust is None:
            self._next_adjust = snapshot.now + self.ADJUST_EVERY
        elif snapshot.now >= self._next_adjust:
            self._adjust()
            self._next_adjust = snapshot.now + self.ADJUST_EVERY
        in_progress = snapshot.calls_pending + snapshot.talk_elapsed.size
        calls = max(0, math.floor(self.level * active) - in_progress)
        calls = min(calls, self._line_cap(snapshot))
        drop = self._drops_today / self._answers_today if self._answers_today else 0.0
        reason = (
            f"dial_level: {calls} call(s) at level {self.level:.2f} x {active} active operators, "
            f"{in_progress} in progress; drop rate today {drop:.1%}"
        )
        return Decision(calls, reason, self.name)

    def _adjust(self) -> None:
        drop = self._drops_today / self._answers_today if self._answers_today else 0.0
        idle = float(np.mean(self._free_samples)) if self._free_samples else 0.0
        waiting = float(np.mean(self._waiting_samples)) if self._waiting_samples else 0.0
        self._free_samples.clear()
        self._waiting_samples.clear()
        if drop >= self.governor.limit:
            self.level = 1.0
        elif waiting > 0.1:
            self.level = max(1.0, self.level - 0.1 * waiting)
        elif idle > 0.05:
            self.level = min(self.max_level, self.level + 0.5 * idle)


STRATEGIES: dict[str, type[_Governed]] = {
    "progressive": Progressive,
    "ratio": Ratio,
    "predictive": Predictive,
    "dial_level": DialLevel,
}


def make_pacer(
    strategy: str,
    *,
    abandon_target: float = 0.03,
    ring_timeout: float = 25.0,
    abandon_after: float = 2.0,
    rng: np.random.Generator | None = None,
    window_seconds: float = 30 * DAY,
    max_lines_per_agent: float = 8.0,
    prior: Prior | None = None,
    **options: Any,
) -> Pacer:
    """A pacer by name: ``progressive``, ``ratio`` (option ``ratio``), ``predictive``, ``dial_level``.

    ``governor`` and ``statistics`` pass tuning options to :class:`~pacing.governor.AbandonGovernor`
    and :class:`~pacing.statistics.CampaignStatistics`.
    ``abandon_target`` is the legal limit on abandons per live answered call over ``window_seconds``
    (30 days: US FTC; one day: UK Ofcom); ``abandon_after`` the seconds an answered person may wait;
    ``ring_timeout`` the seconds a call rings before the dialer gives up.
    """
    cls = STRATEGIES.get(strategy)
    if cls is None:
        raise InvalidParameter(f"unknown pacing strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    return cls(
        abandon_target=abandon_target,
        ring_timeout=ring_timeout,
        abandon_after=abandon_after,
        rng=rng,
        window_seconds=window_seconds,
        max_lines_per_agent=max_lines_per_agent,
        prior=prior,
        **options,
    )
