"""Sums of independent Bernoulli variables, and the per-call abandon risk built on them.

For the predictive rule the question is, for the m-th new call (m earlier new calls launched in the
same tick): if a person answers it, is every operator who could take it in time already claimed?

    risk(m) = P(waiting + Dring + Bin(m, a) >= free + Sbusy)
            = P(Dring - Sbusy + Bin(m, a) >= free - waiting)

with ``Dring`` the number of ringing calls a person will answer (Poisson-binomial over the ringing
calls), ``Sbusy`` the number of busy operators free in time (Poisson-binomial over busy operators) and
``a`` the answer probability of a new call. ``risk`` grows with m, so the calls to launch are the m
with ``risk(m) <= theta``: a prefix 0..n-1.

Small teams get the exact distribution (Poisson-binomial by the discrete Fourier transform, then one
Bernoulli convolution per candidate call); past ``EXACT_MAX_TERMS`` Bernoulli terms the central limit
theorem is accurate enough and a normal approximation with continuity correction keeps the cost flat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pacing.events import FloatArray

EXACT_MAX_TERMS = 120


def poisson_binomial_pmf(p: FloatArray) -> FloatArray:
    """P(sum of independent Bernoulli(p_i) = k) for k = 0..len(p)."""
    n = p.size
    if n == 0:
        return np.ones(1)
    if n <= 8:
        pmf = np.ones(1)
        for pi in p:
            pmf = np.convolve(pmf, np.array([1.0 - pi, pi]))
        return pmf
    omega = np.exp(2j * np.pi * np.arange(n + 1) / (n + 1))
    characteristic = np.prod(1.0 - p[:, None] + p[:, None] * omega[None, :], axis=0)
    pmf = np.fft.fft(characteristic).real / (n + 1)
    pmf = np.clip(pmf, 0.0, None)
    return np.asarray(pmf / pmf.sum(), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class LaunchRisk:
    """How many calls may be launched, the risk of each, and of the first one refused."""

    risks: tuple[float, ...]
    refused: float
    exact: bool

    @property
    def calls(self) -> int:
        return len(self.risks)

    @property
    def risk(self) -> float:
        """Risk of the last call launched, or of the first refused when none is."""
        return self.risks[-1] if self.risks else self.refused


def safe_launches(
    supply: FloatArray,
    demand: FloatArray,
    *,
    gap: int,
    answer: float,
    theta: float,
    cap: int,
    answer_error: float = 0.0,
) -> LaunchRisk:
    """The largest n <= cap such that ``risk(m) <= theta`` for every m < n (see module docstring).

    ``supply``: P(free in time) per busy operator; ``demand``: P(person answers) per ringing call;
    ``gap``: free operators minus people already waiting; ``answer``: P(person answers) a new call;
    ``answer_error``: the standard error of ``answer``, shared by every call (the normal path widens
    its variance by it: an error in the rate moves all answers together, chance does not).
    ``risk`` in the result is that of the last call launched, or of the first refused when none is.
    """
    if cap <= 0:
        return LaunchRisk((), _first_risk(supply, demand, gap), supply.size + demand.size <= EXACT_MAX_TERMS)
    if supply.size + demand.size <= EXACT_MAX_TERMS:
        return _exact(supply, demand, gap=gap, answer=answer, theta=theta, cap=cap)
    relative = answer_error / answer if answer > 0 else 0.0
    return _normal(supply, demand, gap=gap, answer=answer, theta=theta, cap=cap, relative_error=relative)


def _first_risk(supply: FloatArray, demand: FloatArray, gap: int) -> float:
    mean = float(demand.sum() - supply.sum())
    var = float((demand * (1 - demand)).sum() + (supply * (1 - supply)).sum())
    return _normal_tail(gap - 0.5 - mean, var)


def _exact(
    supply: FloatArray, demand: FloatArray, *, gap: int, answer: float, theta: float, cap: int
) -> LaunchRisk:
    x = np.convolve(poisson_binomial_pmf(demand), poisson_binomial_pmf(supply)[::-1])
    lowest = -supply.size  # value of x[0]
    # tail(y)[c] = P(Y >= c): with values lowest.., index of c is c - lowest
    y = x
    risks: list[float] = []
    for _ in range(cap):
        start = gap - lowest
        risk = float(y[max(start, 0) :].sum()) if start < y.size else 0.0
        if risk > theta:
            return LaunchRisk(tuple(risks), risk, True)
        risks.append(risk)
        grown = np.empty(y.size + 1)
        grown[:-1] = (1.0 - answer) * y
        grown[-1] = 0.0
        grown[1:] += answer * y
        y = grown
    return LaunchRisk(tuple(risks), 1.0, True)


def _normal(
    supply: FloatArray,
    demand: FloatArray,
    *,
    gap: int,
    answer: float,
    theta: float,
    cap: int,
    relative_error: float = 0.0,
) -> LaunchRisk:
    answers = float(demand.sum())
    mean = answers - float(supply.sum())
    var = float((demand * (1 - demand)).sum() + (supply * (1 - supply)).sum())
    step_var = answer * (1 - answer)
    risks: list[float] = []
    for m in range(cap):
        shared = (relative_error * (answers + m * answer)) ** 2
        risk = _normal_tail(gap - 0.5 - (mean + m * answer), var + m * step_var + shared)
        if risk > theta:
            return LaunchRisk(tuple(risks), risk, False)
        risks.append(risk)
    return LaunchRisk(tuple(risks), 1.0, False)


def _normal_tail(distance: float, var: float) -> float:
    """P(N(0, var) >= distance)."""
    if var <= 1e-12:
        return 1.0 if distance <= 0 else 0.0
    return 0.5 * math.erfc(distance / math.sqrt(2.0 * var))
