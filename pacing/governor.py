"""The abandon governor: keeps a campaign's abandon rate under the legal limit over its window.

Theory of operation
-------------------
The law counts abandons (a person answered and found no operator within ``abandon_after`` seconds)
as a share of live answered calls over a window: a rolling 30 days in the US (FTC), 24 hours in the
UK (Ofcom). The governor counts human answers and abandons in one-minute buckets over that window.

*Budget.* ``budget_left = limit * answers - abandons`` is how many more abandons the window can take
right now without going over the limit. Below ``min_answers`` answers (333 for 3 %: ten abandons'
worth) the budget is counted as if that many had been answered: the law judges the rate over the
whole window, and three unlucky abandons in the first hour of a fresh campaign must not stop
predictive dialing for the rest of it. When the budget is spent (negative) the pacer dials
progressively (one call per free operator, which cannot abandon) until answers earn budget back.

*Steering.* The predictive strategy launches a call only while the chance that it abandons, should a
person answer, stays under a threshold ``theta`` (a Lagrange multiplier on the abandon constraint).
Simulation shows the best occupancy for a given abandon rate comes from a ``theta`` that hardly moves,
so the controller is deliberately gentle:

- ``theta = theta0 * exp(gain * slack)``, with ``slack = steer_target * answers - abandons`` over the
  window and ``steer_target`` slightly under the limit (5/6 of it, 2.5 % for a 3 % limit). Each
  abandon lowers ``theta`` by about a tenth, answers earn it back: the realised rate settles near the
  target and a run of bad luck is paid back within the window;
- the slack counts at most ``max_saved`` abandons, so budget saved over a quiet morning raises
  ``theta`` by at most ``exp(gain * max_saved)`` and is not spent in one burst;
- when ``budget_left`` falls under ``tighten_below`` abandons, ``theta`` shrinks in proportion, so the
  window approaches the limit smoothly instead of hitting the progressive fallback.

``theta`` stays in ``[theta_min, theta_max]``.

*Machines that were people.* Answering-machine detection hangs up on some people; they hear a dead
line, and regulators count that as an abandoned call. The governor counts machine verdicts in the
window too, and ``false_positive_rate`` (estimated by the dialer from machine verdicts that operators
reviewed) turns them into ``hidden_abandons = rate * machine verdicts``: each is both a live answer and
an abandon in the rate, the budget and the steering.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from pacing.errors import InvalidParameter
from pacing.events import CallEvent, EventKind

DAY = 86_400.0
BUCKET_SECONDS = 60.0


@dataclass(frozen=True)
class GovernorState:
    """The window at one instant, for explanations and the supervisor's screen."""

    answers: int
    abandons: int
    rate: float
    budget_left: float
    theta: float
    spent: bool
    window_seconds: float = 30 * DAY
    hidden_abandons: float = 0.0
    """People hung up on as machines (estimated), already inside ``answers`` and ``abandons``."""


class AbandonGovernor:
    """Counts answers and abandons over a rolling window and derives the launch threshold."""

    def __init__(
        self,
        *,
        limit: float = 0.03,
        window_seconds: float = 30 * DAY,
        steer_target: float | None = None,
        theta0: float = 0.035,
        gain: float = 0.1,
        max_saved: float = 8.0,
        min_answers: int | None = None,
        tighten_below: float = 2.0,
        theta_min: float = 0.002,
        theta_max: float = 0.2,
    ) -> None:
        if not 0 < limit < 1:
            raise InvalidParameter(f"abandon limit must be between 0 and 1, got {limit}")
        if window_seconds <= 0:
            raise InvalidParameter("window_seconds must be > 0")
        target = limit * 5 / 6 if steer_target is None else steer_target
        if not 0 < target <= limit:
            raise InvalidParameter("steer_target must be > 0 and <= limit")
        if not 0 < theta_min <= theta0 <= theta_max <= 1:
            raise InvalidParameter("need 0 < theta_min <= theta0 <= theta_max <= 1")
        self.limit = limit
        self.window_seconds = window_seconds
        self.steer_target = target
        self.theta0 = theta0
        self.gain = gain
        self.max_saved = max_saved
        self.min_answers = round(10 / limit) if min_answers is None else min_answers
        self.tighten_below = tighten_below
        self.theta_min = theta_min
        self.theta_max = theta_max
        self._buckets: deque[list[int]] = deque()  # [bucket start, answers, abandons, machine verdicts]
        self._answers = 0
        self._abandons = 0
        self._machines = 0
        self.false_positive_rate = 0.0
        """Share of machine verdicts that were people (see the module docstring)."""

    def observe(self, event: CallEvent) -> None:
        if event.kind is EventKind.ANSWERED_HUMAN:
            self._bucket(event.at)[1] += 1
            self._answers += 1
        elif event.kind is EventKind.ABANDONED:
            self._bucket(event.at)[2] += 1
            self._abandons += 1
        elif event.kind is EventKind.ANSWERED_MACHINE:
            self._bucket(event.at)[3] += 1
            self._machines += 1

    def state(self, now: float) -> GovernorState:
        self._expire(now)
        hidden = self.false_positive_rate * self._machines
        answers, abandons = self._answers + hidden, self._abandons + hidden
        budget = self.limit * max(answers, self.min_answers) - abandons
        rate = abandons / answers if answers else 0.0
        slack = min(self.steer_target * answers - abandons, self.max_saved)
        theta = self.theta0 * math.exp(self.gain * slack)
        if budget < self.tighten_below:
            theta *= max(budget, 0.0) / self.tighten_below
        theta = min(max(theta, self.theta_min), self.theta_max)
        return GovernorState(round(answers), round(abandons), rate, budget, theta, spent=budget < 0.0,
                             window_seconds=self.window_seconds, hidden_abandons=hidden)  # fmt: skip

    def _bucket(self, at: float) -> list[int]:
        start = math.floor(at / BUCKET_SECONDS)
        if self._buckets and self._buckets[-1][0] >= start:
            return self._buckets[-1]
        bucket = [start, 0, 0, 0]
        self._buckets.append(bucket)
        return bucket

    def _expire(self, now: float) -> None:
        horizon = now - self.window_seconds
        while self._buckets and (self._buckets[0][0] + 1) * BUCKET_SECONDS <= horizon:
            _, answers, abandons, machines = self._buckets.popleft()
            self._answers -= answers
            self._abandons -= abandons
            self._machines -= machines
