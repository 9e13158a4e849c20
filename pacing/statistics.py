"""Online statistics of one campaign, learned only from the events the dialer reports.

Theory of operation
-------------------
The pacer needs, at every tick, three kinds of probability:

1. how likely a new call is to be answered by a person (``answer_probability``);
2. for each busy operator, how likely they are to be free in time for a call launched now, given how
   long they have already talked or wrapped up (``free_in_time_talk`` / ``free_in_time_wrap``);
3. for each call still ringing, how likely it is to end in a person answering, given how long it has
   rung (``human_given_ringing``).

Durations (ring time per outcome, talk, wrap-up) are kept as recency-weighted histograms on fixed
grids (:class:`DecayingHistogram`): each observation adds weight 1 after all weights are multiplied by
a decay factor, so old behaviour fades after a few hundred calls. Each histogram starts from a prior
(a lognormal with plausible call-centre figures) worth a few observations, which fades the same way:
the prior serves the cold start only, and no configuration "truth" is ever used.

Outcome probabilities are estimated by dial cohort (:mod:`pacing.cohort`): outcomes arrive in order
of their delay (answers after seconds, no-answers at the ring timeout), so an average over outcomes as
they arrive soars after every burst of calls and then collapses, which launched ever larger bursts.
The cohort estimator is unbiased whatever the dialling pattern. It keeps a fast and a slow memory; the
answer probability used for dialing follows the fast one when answers rise (more answers than expected
means abandons; that is the dangerous direction) and the slow one when they fall (fewer answers only
costs idle time). A rise must clear one standard error of the fast estimate so noise does not ratchet
it up.

*Cold start.* A campaign (or a restarted dialer) begins with every operator free and nothing learned;
dialing for a prior's answer rate when more people answer spends the legal abandon budget within the
first minute (a prior of 0.20 against a true 0.60 with 300 operators free: 170 abandons in the first
ten seconds). So while fewer than ``cold_outcomes`` calls have settled, the answer probability is
raised towards the upper end of the Wilson interval (``cold_z``) of the answers seen so far, which is
1 before the first outcome, by a share that fades linearly to nothing as calls *settle* (their outcome
certainly known): cautious while ignorant, unbiased once informed. Counting settled calls rather than
outcomes matters with a large team: its first burst reports a hundred answers within seconds, long
before its no-answers, and the delay distributions learned by then have seen only quick answers.
Busy operators are likewise counted on only in proportion to the talk and wrap-up times seen (the
prior's wrap-up of 15 s must not "free" operators whose wrap-up lasts 60 s).

``answer_uncertainty`` is the standard error of the answer probability in use; the predictive rule
adds it to the risk, since with hundreds of calls ringing a small error in the rate moves the number
of answers by more than chance does.

The horizon of a new call is its ring time to a human answer plus the ``abandon_after`` seconds an
answered person may wait; "free in time" means free within that horizon, averaged over the learned
ring-time distribution. Those tables are recomputed on demand (``tables(now)``): the operator tables
(1-second grids for talk and wrap-up, a few milliseconds of work) at most every ``refresh_seconds``
since durations drift slowly; the answer probability and the ringing table (0.5-second grid, cheap)
after every new outcome, since answers can rise within minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pacing.cohort import CohortEstimate, CohortRates
from pacing.errors import InvalidParameter
from pacing.events import DIAL_OUTCOMES, CallEvent, EventKind, FloatArray

TALK_GRID_SECONDS = 3600
WRAP_GRID_SECONDS = 900
RING_BIN = 0.5


def lognormal_pmf(mean: float, cv: float, bin_width: float, n_bins: int) -> FloatArray:
    """Probability of each bin ``[k*w, (k+1)*w)`` under a lognormal with this mean and CV;
    the mass beyond the grid goes to the last bin."""
    if mean <= 0 or cv <= 0:
        raise InvalidParameter("lognormal prior needs mean > 0 and cv > 0")
    sigma2 = math.log1p(cv * cv)
    mu = math.log(mean) - sigma2 / 2
    edges = np.arange(1, n_bins, dtype=np.float64) * bin_width
    z = (np.log(edges) - mu) / math.sqrt(2 * sigma2)
    cdf = 0.5 * (1 + _erf(z))
    cdf = np.concatenate(([0.0], cdf, [1.0]))
    return np.asarray(np.diff(cdf), dtype=np.float64)


def _erf(x: FloatArray) -> FloatArray:
    return np.asarray(np.vectorize(math.erf, otypes=[np.float64])(x), dtype=np.float64)


class DecayingHistogram:
    """A recency-weighted empirical distribution of a duration on a grid of ``n_bins`` bins.

    Values past the grid land in the last bin. ``half_life`` is in observations.
    """

    def __init__(
        self, bin_width: float, n_bins: int, *, half_life: float, prior: FloatArray, prior_weight: float
    ) -> None:
        if bin_width <= 0 or n_bins < 2 or half_life <= 0 or prior_weight < 0:
            raise InvalidParameter("histogram needs bin_width > 0, n_bins >= 2, half_life > 0")
        if prior.shape != (n_bins,):
            raise InvalidParameter(f"prior must have {n_bins} bins")
        self.bin_width = bin_width
        self.n_bins = n_bins
        self.decay = 0.5 ** (1.0 / half_life)
        self.weights = prior / prior.sum() * prior_weight
        self.prior_mass = prior_weight
        self.observations = 0

    def add(self, value: float) -> None:
        self.weights *= self.decay
        self.prior_mass *= self.decay
        index = min(max(int(value / self.bin_width), 0), self.n_bins - 1)
        self.weights[index] += 1.0
        self.observations += 1

    @property
    def total(self) -> float:
        return float(self.weights.sum())

    @property
    def evidence_share(self) -> float:
        """The share of the weights that comes from observations rather than the prior."""
        total = self.total
        return 1.0 - self.prior_mass / total if total > 0 else 0.0

    def pmf(self) -> FloatArray:
        total = self.weights.sum()
        if total <= 0:
            return np.full(self.n_bins, 1.0 / self.n_bins)
        return np.asarray(self.weights / total, dtype=np.float64)

    def mean(self) -> float:
        centers = (np.arange(self.n_bins) + 0.5) * self.bin_width
        return float(self.pmf() @ centers)

    def cdf_at_edges(self) -> FloatArray:
        """P(X <= x) at the bin edges ``0, w, 2w, ..., n*w`` (length ``n_bins + 1``)."""
        return np.concatenate(([0.0], np.cumsum(self.pmf())))


@dataclass(frozen=True)
class Prior:
    """Cold-start beliefs, each worth ``weight`` observations, forgotten as real events arrive."""

    human: float = 0.20
    machine: float = 0.05
    busy: float = 0.05
    failed: float = 0.02
    ring_mean: float = 8.0
    ring_cv: float = 0.6
    talk_mean: float = 120.0
    talk_cv: float = 1.0
    wrap_mean: float = 15.0
    wrap_cv: float = 0.5
    weight: float = 20.0
    duration_weight: float = 4.0
    """What the talk and wrap-up priors are worth in observations: little, since until durations are
    seen busy operators count only as far as they are (see ``evidence_share``)."""


@dataclass(frozen=True)
class Tables:
    """Everything the predictive strategy looks up per tick (see the module docstring)."""

    answer_probability: float
    answer_uncertainty: float
    free_in_time_talk: FloatArray
    free_in_time_wrap: FloatArray
    human_given_ringing: FloatArray
    mean_ring_human: float
    mean_talk: float
    mean_wrap: float

    def talk(self, elapsed: FloatArray) -> FloatArray:
        index = np.minimum(elapsed.astype(np.int64), self.free_in_time_talk.size - 1)
        return self.free_in_time_talk[index]

    def wrap(self, elapsed: FloatArray) -> FloatArray:
        index = np.minimum(elapsed.astype(np.int64), self.free_in_time_wrap.size - 1)
        return self.free_in_time_wrap[index]

    def ringing(self, elapsed: FloatArray) -> FloatArray:
        index = np.minimum((elapsed / RING_BIN).astype(np.int64), self.human_given_ringing.size - 1)
        return self.human_given_ringing[index]


class CampaignStatistics:
    """Learns a campaign from its events; ``tables()`` gives the pacer's look-up tables."""

    def __init__(
        self,
        ring_timeout: float,
        abandon_after: float,
        *,
        prior: Prior | None = None,
        fast_half_life: float = 30.0,
        slow_half_life: float = 150.0,
        duration_half_life: float = 400.0,
        refresh_seconds: float = 15.0,
        cold_outcomes: int = 100,
        cold_z: float = 2.0,
        settle_margin: float = 15.0,
    ) -> None:
        if ring_timeout <= 0 or abandon_after < 0:
            raise InvalidParameter("ring_timeout must be > 0 and abandon_after >= 0")
        if cold_outcomes < 0 or cold_z < 0:
            raise InvalidParameter("cold_outcomes and cold_z must be >= 0")
        prior = prior or Prior()
        self.ring_timeout = ring_timeout
        self.abandon_after = abandon_after
        no_answer = 1.0 - prior.human - prior.machine - prior.busy - prior.failed
        if no_answer < 0:
            raise InvalidParameter("prior outcome probabilities add up to more than 1")
        start = np.array([prior.human, prior.machine, prior.busy, no_answer, prior.failed])
        self._outcome_index = {kind: i for i, kind in enumerate(DIAL_OUTCOMES)}
        self.cohort = CohortRates(
            start,
            prior_weight=prior.weight,
            settle_seconds=ring_timeout + settle_margin,
            fast_half_life=fast_half_life,
            slow_half_life=slow_half_life,
        )
        self._last_at = 0.0
        self.outcomes_seen = 0
        self.humans_seen = 0
        self.cold_outcomes = cold_outcomes
        self.cold_z = cold_z
        self._prior_human = prior.human
        self._prior_weight = prior.weight

        ring_bins = math.ceil(ring_timeout / RING_BIN) + 2

        def histogram(
            bin_width: float, n_bins: int, mean: float, cv: float, weight: float = prior.weight
        ) -> DecayingHistogram:
            return DecayingHistogram(
                bin_width,
                n_bins,
                half_life=duration_half_life,
                prior=lognormal_pmf(mean, cv, bin_width, n_bins),
                prior_weight=weight,
            )

        self.ring = {
            EventKind.ANSWERED_HUMAN: histogram(RING_BIN, ring_bins, prior.ring_mean, prior.ring_cv),
            EventKind.ANSWERED_MACHINE: histogram(RING_BIN, ring_bins, prior.ring_mean, prior.ring_cv),
            EventKind.BUSY: histogram(RING_BIN, ring_bins, 3.0, 0.5),
            EventKind.FAILED: histogram(RING_BIN, ring_bins, 2.0, 0.5),
        }
        self.talk = histogram(1.0, TALK_GRID_SECONDS, prior.talk_mean, prior.talk_cv, prior.duration_weight)
        self.wrap = histogram(1.0, WRAP_GRID_SECONDS, prior.wrap_mean, prior.wrap_cv, prior.duration_weight)
        self.refresh_seconds = refresh_seconds
        self._operators: tuple[FloatArray, FloatArray, float, float] | None = None
        self._operators_at = -math.inf
        self._durations_changed = True

    # -- learning ---------------------------------------------------------------------------------

    def observe(self, event: CallEvent) -> None:
        """Learn from one event; events the statistics do not need are ignored."""
        kind = event.kind
        self._last_at = max(self._last_at, event.at)
        if kind in self._outcome_index:
            self.cohort.observe(self._outcome_index[kind], event.at, event.duration)
            self.outcomes_seen += 1
            self.humans_seen += kind is EventKind.ANSWERED_HUMAN
            histogram = self.ring.get(kind)
            if histogram is not None:
                histogram.add(event.duration)
                self._durations_changed = kind is EventKind.ANSWERED_HUMAN or self._durations_changed
        elif kind is EventKind.TALK_ENDED:
            self.talk.add(event.duration)
            self._durations_changed = True
        elif kind is EventKind.WRAP_ENDED:
            self.wrap.add(event.duration)
            self._durations_changed = True

    # -- estimates --------------------------------------------------------------------------------

    def outcome_probabilities(
        self, now: float | None = None, pending: FloatArray | None = None
    ) -> dict[EventKind, float]:
        """Slow (stable) estimate of each dial outcome's probability."""
        estimate = self._estimate(now, pending)
        return {kind: float(p) for kind, p in zip(DIAL_OUTCOMES, estimate.slow, strict=True)}

    def answer_probability(self, now: float | None = None, pending: FloatArray | None = None) -> float:
        """Probability that a new call is answered by a person, biased to react fast to rises (and
        cautious at the cold start, see the module docstring). ``pending``: elapsed seconds of the
        calls with no outcome yet; ``now`` defaults to the last event's time."""
        return self._answer(self._estimate(now, pending))[0]

    def _estimate(self, now: float | None, pending: FloatArray | None) -> CohortEstimate:
        return self.cohort.estimate(
            self._last_at if now is None else now,
            np.zeros(0) if pending is None else pending,
            self._delay_cdf,
        )

    def _delay_cdf(self, index: int, elapsed: FloatArray) -> FloatArray:
        kind = DIAL_OUTCOMES[index]
        if kind is EventKind.NO_ANSWER:
            return (elapsed >= self.ring_timeout).astype(np.float64)
        histogram = self.ring[kind]
        edges = np.arange(histogram.n_bins + 1) * histogram.bin_width
        return np.asarray(np.interp(elapsed, edges, histogram.cdf_at_edges()), dtype=np.float64)

    def _answer(self, estimate: CohortEstimate) -> tuple[float, float]:
        """(answer probability in use, its standard error)."""
        fast = float(estimate.fast[0])
        slow = float(estimate.slow[0])
        fast_calls = max(estimate.evidence(0, fast=True), 1.0)
        slow_calls = max(estimate.evidence(0, fast=False), 1.0)
        fast_error = math.sqrt(max(fast * (1 - fast), 1e-6) / fast_calls)
        slow_error = math.sqrt(max(slow * (1 - slow), 1e-6) / slow_calls)
        if slow >= fast - fast_error:
            estimate_in_use, error = slow, slow_error
        else:
            estimate_in_use, error = fast - fast_error, fast_error
        settled = self.cohort.settled
        if settled < self.cold_outcomes:
            seen = self.outcomes_seen
            upper = wilson_upper(self.humans_seen, seen, self.cold_z)
            if upper > estimate_in_use:
                estimate_in_use += (1 - settled / self.cold_outcomes) * (upper - estimate_in_use)
            error = max(error, math.sqrt(estimate_in_use * (1 - estimate_in_use) / (seen + 1)))
        return min(estimate_in_use, 1.0), error

    def tables(self, now: float, pending: FloatArray | None = None) -> Tables:
        """The look-up tables for the current estimates at time ``now``, with ``pending`` the elapsed
        seconds of the calls still without an outcome (see the module docstring)."""
        stale = self._durations_changed and now - self._operators_at >= self.refresh_seconds
        if self._operators is None or stale:
            self._operators = self._operator_tables()
            self._operators_at = now
            self._durations_changed = False
        return self._compute_tables(self._estimate(now, pending), *self._operators)

    def _operator_tables(self) -> tuple[FloatArray, FloatArray, float, float]:
        """(free-in-time by talk elapsed, by wrap elapsed, mean talk, mean wrap)."""
        ring_pmf = self.ring[EventKind.ANSWERED_HUMAN].pmf()
        ring_mid = (np.arange(ring_pmf.size) + 0.5) * RING_BIN
        keep = ring_pmf > 1e-9
        horizons = ring_mid[keep] + self.abandon_after  # seconds from now until the new call needs someone
        weights = ring_pmf[keep] / ring_pmf[keep].sum()

        wrap_edges = np.arange(WRAP_GRID_SECONDS + 1, dtype=np.float64)
        wrap_cdf = self.wrap.cdf_at_edges()

        # Operator in wrap-up for w seconds: P(rest of wrap-up <= horizon).
        w = np.arange(WRAP_GRID_SECONDS, dtype=np.float64)
        reach = np.interp(w[:, None] + horizons[None, :], wrap_edges, wrap_cdf) @ weights
        done = np.interp(w, wrap_edges, wrap_cdf)
        free_wrap = _conditional(reach - done, 1.0 - done)

        # Operator talking for e seconds: P(rest of talk + wrap-up <= horizon), talk in 1-s bins.
        max_d = math.ceil(horizons.max()) + 1
        d_mid = np.arange(max_d + 1, dtype=np.float64) + 0.5
        kernel = np.interp(horizons[None, :] - d_mid[:, None], wrap_edges, wrap_cdf, left=0.0) @ weights
        talk_pmf = self.talk.pmf()
        numerator = np.convolve(np.concatenate((talk_pmf, np.zeros(max_d))), kernel[::-1], mode="valid")
        survival = np.cumsum(talk_pmf[::-1])[::-1]
        free_talk = _conditional(numerator, survival)
        # Trust the supply only as far as durations were seen: until then every prediction comes from
        # the prior, and a prior wrap-up of 15 s against a real one of 60 s "frees" operators who
        # are not free (busy operators are counted on only in proportion to the evidence).
        talk_trust, wrap_trust = self.talk.evidence_share, self.wrap.evidence_share
        free_talk = free_talk * min(talk_trust, wrap_trust)
        return free_talk, free_wrap * wrap_trust, self.talk.mean(), self.wrap.mean()

    def _compute_tables(
        self,
        estimate: CohortEstimate,
        free_talk: FloatArray,
        free_wrap: FloatArray,
        mean_talk: float,
        mean_wrap: float,
    ) -> Tables:
        # A call ringing for r seconds: P(a person answers it | no outcome yet).
        answer, uncertainty = self._answer(estimate)
        probabilities = estimate.slow.copy()
        others = probabilities[1:].sum()
        probabilities[1:] *= (1.0 - answer) / others if others > 0 else 0.0
        probabilities[0] = answer
        r_edges = np.arange(self.ring[EventKind.ANSWERED_HUMAN].n_bins) * RING_BIN
        pending = np.zeros((len(DIAL_OUTCOMES), r_edges.size))
        for i, kind in enumerate(DIAL_OUTCOMES):
            if kind is EventKind.NO_ANSWER:
                pending[i] = (r_edges < self.ring_timeout).astype(np.float64)
            else:
                pending[i] = 1.0 - self.ring[kind].cdf_at_edges()[:-1]
        mass = probabilities @ pending
        human = np.where(mass > 1e-12, probabilities[0] * pending[0] / np.maximum(mass, 1e-12), 0.0)
        human[r_edges >= self.ring_timeout] = 0.0

        return Tables(
            answer_probability=float(probabilities[0]),
            answer_uncertainty=uncertainty,
            free_in_time_talk=free_talk,
            free_in_time_wrap=free_wrap,
            human_given_ringing=np.clip(human, 0.0, 1.0),
            mean_ring_human=self.ring[EventKind.ANSWERED_HUMAN].mean(),
            mean_talk=mean_talk,
            mean_wrap=mean_wrap,
        )


def wilson_upper(successes: float, trials: float, z: float) -> float:
    """Upper end of the Wilson score interval for a proportion (1 with no trials)."""
    if trials <= 0:
        return 1.0
    p = successes / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return min((centre + spread) / (1 + z2 / trials), 1.0)


def _conditional(joint: FloatArray, given: FloatArray) -> FloatArray:
    """joint / given where ``given`` has mass; past the last such point, repeat the last value."""
    valid = given > 1e-9
    out = np.zeros_like(joint)
    out[valid] = joint[valid] / given[valid]
    if not valid.all():
        index = np.where(valid, np.arange(joint.size), 0)
        np.maximum.accumulate(index, out=index)
        out = out[index]
    return np.clip(out, 0.0, 1.0)
