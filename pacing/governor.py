"""The abandon governor: keeps a campaign's abandon rate under the legal limit over its window.

Theory of operation
-------------------
The law counts abandons (a person answered and found no operator within ``abandon_after`` seconds)
as a share of live answered calls over a window: a rolling 30 days in the US (FTC), 24 hours in the
UK (Ofcom). The governor counts human answers and abandons in one-minute buckets over that window.

*Budget.* ``budget_left = limit * answers - abandons`` is how many more abandons the window can take
right now without going over the limit. Under one whole abandon the budget is spent and the pacer
must dial progressively (one call per free operator, which cannot abandon) until answers earn
budget back.

*Steering.* The predictive strategy launches a call only while the chance that it abandons, should a
person answer, stays under a threshold ``theta`` (a Lagrange multiplier on the abandon constraint).
The right ``theta`` depends on the team and the traffic; the governor finds it in two parts:

- a *model* part, from the risk the pacer predicted for each call it dialled (predictions arrive
  with every call, abandons only now and then): integral control in log space moves it until the
  predicted abandons per answer equal ``steer_target``, slightly under the limit (5/6 of it by
  default, 2.5 % for a 3 % limit). The model ignores some timing (which ringing call answers first),
  so its predictions are scaled by a calibration factor, actual over predicted abandons in the window
  (with two pseudo-abandons each side so that it starts at 1). It is smooth, so operators do not see
  the dialer lurch;
- a *correction* from what really happened: ``theta`` is multiplied by ``exp(gain * slack)`` where
  ``slack = steer_target * answers - abandons`` over the window. A run of bad luck lowers ``theta``
  until answers earn the abandons back, which keeps the realised rate near the target shift after
  shift. The slack counts at most ``max_saved`` abandons, so budget saved over a quiet morning is not
  spent in one burst.

``theta`` stays in ``[theta_min, theta_max]``.
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


class AbandonGovernor:
    """Counts answers and abandons over a rolling window and derives the launch threshold."""

    def __init__(
        self,
        *,
        limit: float = 0.03,
        window_seconds: float = 30 * DAY,
        steer_target: float | None = None,
        theta0: float = 0.03,
        gain: float = 0.15,
        model_gain: float = 0.02,
        max_saved: float = 4.0,
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
        self.model_gain = model_gain
        self.max_saved = max_saved
        self.theta_min = theta_min
        self.theta_max = theta_max
        self._buckets: deque[list[float]] = deque()  # [start, answers, abandons, predicted abandons]
        self._answers = 0
        self._abandons = 0
        self._predicted = 0.0
        self._log_bounds = (math.log(theta_min), math.log(theta_max))
        self._log_model = math.log(theta0)

    def observe(self, event: CallEvent) -> None:
        if event.kind is EventKind.ANSWERED_HUMAN:
            self._bucket(event.at)[1] += 1
            self._answers += 1
        elif event.kind is EventKind.ABANDONED:
            self._bucket(event.at)[2] += 1
            self._abandons += 1

    def dialled(self, at: float, answer_probability: float, risk: float) -> None:
        """A call was dialled at ``at`` that a person answers with ``answer_probability`` and that,
        if answered, abandons with probability ``risk`` (as the pacer predicted when launching it)."""
        predicted = answer_probability * risk
        self._bucket(at)[3] += predicted
        self._predicted += predicted
        calibration = (self._abandons + 2.0) / (self._predicted + 2.0)
        step = self.model_gain * answer_probability * (1.0 - calibration * risk / self.steer_target)
        low, high = self._log_bounds
        self._log_model = min(max(self._log_model + step, low), high)

    def state(self, now: float) -> GovernorState:
        self._expire(now)
        answers, abandons = self._answers, self._abandons
        budget = self.limit * answers - abandons
        rate = abandons / answers if answers else 0.0
        slack = min(self.steer_target * answers - abandons, self.max_saved)
        low, high = self._log_bounds
        theta = math.exp(min(max(self._log_model + self.gain * slack, low), high))
        return GovernorState(answers, abandons, rate, budget, theta, spent=budget < 0.0)

    def _bucket(self, at: float) -> list[float]:
        start = math.floor(at / BUCKET_SECONDS) * BUCKET_SECONDS
        if self._buckets and self._buckets[-1][0] >= start:
            return self._buckets[-1]
        bucket = [start, 0.0, 0.0, 0.0]
        self._buckets.append(bucket)
        return bucket

    def _expire(self, now: float) -> None:
        horizon = now - self.window_seconds
        while self._buckets and self._buckets[0][0] + BUCKET_SECONDS <= horizon:
            _, answers, abandons, predicted = self._buckets.popleft()
            self._answers -= int(answers)
            self._abandons -= int(abandons)
            self._predicted -= predicted
