"""Outcome probabilities of a new call, estimated by dial cohort so that bursts cannot bias them.

Theory of operation
-------------------
Outcomes arrive in order of their delay, not of their dialling: a person answers after about 8 s, an
unanswered call reports only at the ring timeout (25 s). An average over outcomes *as they arrive*
therefore sees every burst of calls twice wrongly: first only its answers (the estimate soars), then
only its no-answers (the estimate collapses, and the pacer launches the next, larger burst into an
answer rate it believes is near zero). With 100 operators and a 10 % answer rate that feedback spent
the abandon budget within two minutes and drove the window's rate to 7 %.

So each outcome is attributed to the instant its call was dialled (``at - duration``; every outcome
event carries its delay from the dial) and the calls are split in two:

- the *settled* cohort: calls dialled more than ``settle_seconds`` ago (longer than any call can stay
  without an outcome), whose outcomes are all known. They are released into recency-weighted counts
  in dialling order, so the counts are an unbiased average over calls, whatever order they reported in;
- the *open* cohort: calls dialled more recently, some with an outcome already, some still ringing
  (their elapsed times come from the dialer's snapshot). A call dialled ``e`` seconds ago has shown
  outcome ``k`` by now with probability ``p_k * F_k(e)``, ``F_k`` the learned distribution of that
  outcome's delay, so ``sum_i F_k(e_i)`` is the open cohort's *exposure* to ``k``.

The estimate pools both (a ratio estimator, unbiased for any dialling pattern):

    p_k = (C_k + O_k) / (N + X_k)

with ``C_k``/``N`` the settled counts and calls, ``O_k`` the open cohort's observed outcomes of kind
``k`` and ``X_k`` its exposure. A rise in answers shows in ``O_k`` within seconds of the first answers;
a burst of no-answers changes nothing until those calls settle, since their exposure was counted all
along.

Two memories are kept, a fast and a slow one. Their half-lives are counted in calls, but never shorter
than ``half_seconds`` of dialling: a team of 100 dials 150 calls in ten seconds, and forgetting the
answer rate that fast would make it noisier than the risks it feeds.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pacing.errors import InvalidParameter
from pacing.events import FloatArray

RATE_SECONDS = 60.0

DelayCdf = Callable[[int, FloatArray], FloatArray]
"""``cdf(k, elapsed)``: P(an outcome of kind ``k`` has been reported within ``elapsed`` seconds)."""


@dataclass(frozen=True, slots=True)
class CohortEstimate:
    """Outcome probabilities (in the caller's outcome order) and the evidence behind them.

    ``fast_calls``/``slow_calls`` are the effective number of settled calls behind each memory
    (recency-weighted, prior included); ``exposure[k]`` is how many calls' worth the open cohort
    tells about outcome ``k``.
    """

    fast: FloatArray
    slow: FloatArray
    fast_calls: float
    slow_calls: float
    exposure: FloatArray

    def evidence(self, kind: int, *, fast: bool) -> float:
        """Calls' worth of evidence behind the estimate of outcome ``kind``."""
        return (self.fast_calls if fast else self.slow_calls) + float(self.exposure[kind])


class _Memory:
    """Recency-weighted outcome counts over settled calls, forgetting by calls and by time."""

    def __init__(self, prior: FloatArray, weight: float, half_calls: float, half_seconds: float) -> None:
        self.counts = prior * weight
        self.calls = weight
        self.squares = weight  # the prior counts as ``weight`` independent calls
        self.half_calls = half_calls
        self.half_seconds = half_seconds

    def add(self, kinds: FloatArray, rate: float) -> None:
        """Calls dialled at one instant (``kinds[k]`` of them met outcome ``k``), weighted alike:
        their order among themselves says nothing, so it must not weigh anything."""
        n = float(kinds.sum())
        half = max(self.half_calls, rate * self.half_seconds)
        decay = 0.5 ** (n / half)
        self.counts = self.counts * decay + kinds
        self.calls = self.calls * decay + n
        self.squares = self.squares * decay * decay + n

    @property
    def effective_calls(self) -> float:
        """Kish's effective sample size of the weighted counts: (sum w)^2 / sum w^2."""
        return self.calls * self.calls / self.squares


class CohortRates:
    """Outcome probabilities by dial cohort (see the module docstring).

    ``prior`` holds one probability per outcome kind (summing to 1), worth ``prior_weight`` calls;
    ``settle_seconds`` must exceed the longest a call can take to report (ring timeout plus answering
    machine detection); half-lives are in calls, floored at that many seconds of dialling.
    """

    def __init__(
        self,
        prior: FloatArray,
        *,
        prior_weight: float,
        settle_seconds: float,
        fast_half_life: float,
        slow_half_life: float,
        fast_half_seconds: float = 20.0,
        slow_half_seconds: float = 300.0,
    ) -> None:
        prior = np.asarray(prior, dtype=np.float64)
        if prior.ndim != 1 or prior.min() < 0 or not math.isclose(prior.sum(), 1.0, abs_tol=1e-9):
            raise InvalidParameter("prior outcome probabilities must be >= 0 and add up to 1")
        if settle_seconds <= 0 or fast_half_life <= 0 or slow_half_life <= 0 or prior_weight <= 0:
            raise InvalidParameter("settle_seconds, half-lives and prior_weight must be > 0")
        self.kinds = prior.size
        self.settle_seconds = settle_seconds
        self.fast = _Memory(prior, prior_weight, fast_half_life, fast_half_seconds)
        self.slow = _Memory(prior, prior_weight, slow_half_life, slow_half_seconds)
        self._open: list[tuple[float, int]] = []  # heap of (dial time, kind)
        self._last_dial: float | None = None
        self._recent = 0.0  # settled calls, decaying with time constant RATE_SECONDS of dialling
        self.settled = 0
        """Calls whose outcome is certainly known (dialled more than ``settle_seconds`` ago)."""

    def observe(self, kind: int, at: float, delay: float) -> None:
        """An outcome of kind ``kind`` reported at ``at`` for a call dialled ``delay`` seconds before."""
        if not 0 <= kind < self.kinds:
            raise InvalidParameter(f"outcome kind {kind} out of range")
        heapq.heappush(self._open, (at - max(delay, 0.0), kind))

    def estimate(self, now: float, pending: FloatArray, cdf: DelayCdf) -> CohortEstimate:
        """Probabilities at ``now``, with ``pending`` the elapsed seconds of calls with no outcome yet."""
        self._settle(now - self.settle_seconds)
        if self._open:
            opened = np.array(self._open, dtype=np.float64)
            elapsed = np.concatenate((now - opened[:, 0], pending))
            observed = np.bincount(opened[:, 1].astype(np.int64), minlength=self.kinds).astype(np.float64)
        else:
            elapsed, observed = pending, np.zeros(self.kinds)
        elapsed = np.maximum(elapsed, 0.0)
        exposure = np.zeros(self.kinds)
        if elapsed.size:
            exposure = np.array([float(cdf(k, elapsed).sum()) for k in range(self.kinds)])
        fast = _normalised((self.fast.counts + observed) / (self.fast.calls + exposure))
        slow = _normalised((self.slow.counts + observed) / (self.slow.calls + exposure))
        return CohortEstimate(fast, slow, self.fast.effective_calls, self.slow.effective_calls, exposure)

    def _settle(self, horizon: float) -> None:
        while self._open and self._open[0][0] < horizon:
            dialed = self._open[0][0]
            kinds = np.zeros(self.kinds)
            while self._open and self._open[0][0] == dialed:
                kinds[heapq.heappop(self._open)[1]] += 1.0
            if self._last_dial is not None:
                self._recent *= math.exp(-max(dialed - self._last_dial, 0.0) / RATE_SECONDS)
            self._last_dial = dialed
            self._recent += float(kinds.sum())
            self.settled += int(kinds.sum())
            rate = self._recent / RATE_SECONDS  # calls per second of dialling, lately
            self.fast.add(kinds, rate)
            self.slow.add(kinds, rate)


def _normalised(p: FloatArray) -> FloatArray:
    p = np.clip(p, 0.0, None)
    total = p.sum()
    return np.asarray(p / total if total > 0 else np.full(p.size, 1.0 / p.size), dtype=np.float64)
