"""A discrete-event simulation of one outbound shift, to measure pacing strategies.

Theory of operation
-------------------
``operators`` operators work a shift of ``shift_seconds``. Every ``tick`` seconds the pacer sees a
:class:`~pacing.events.Snapshot` and says how many calls to launch. Each call meets one outcome,
drawn from the phase in force when it is dialled (phases model regime changes such as the answer rate
falling after the first hour):

- a person answers after a lognormal ring time (if that exceeds ``ring_timeout`` the call is a no
  answer); the longest-idle free operator takes them at once, else they wait; if nobody is free within
  ``abandon_after`` seconds the call is abandoned (the safe-harbor message plays and it ends);
- an answering machine answers after a lognormal ring time and is recognised ``amd_delay`` seconds
  later, then hung up (the call counts as ringing until then: the dialer cannot know yet);
- busy and failed calls end after short lognormal times; the rest ring until ``ring_timeout``.

Talk and wrap-up times are lognormal (a CV of 0 means a fixed time). Operators go talk -> wrap-up ->
free, or straight to the next waiting person after wrap-up.

Common random numbers: the k-th call dialled in a shift meets the same person (the same uniform
outcome draw and the same durations) whatever the strategy, so strategies are compared on the same
population and their differences are not noise. The pacer gets its own generator.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pacing.events import CallEvent, EventKind, FloatArray, Snapshot
from pacing.strategies import Pacer, make_pacer


@dataclass(frozen=True)
class Phase:
    """Outcome probabilities for calls dialled from ``start`` seconds on (no answer: the rest)."""

    start: float
    human: float
    machine: float = 0.0
    busy: float = 0.0
    failed: float = 0.0

    def __post_init__(self) -> None:
        if (
            min(self.human, self.machine, self.busy, self.failed) < 0
            or self.human + self.machine + self.busy + self.failed > 1
        ):
            raise ValueError("phase probabilities must be >= 0 and add up to at most 1")

    @property
    def cumulative(self) -> FloatArray:
        return np.cumsum([self.human, self.machine, self.busy, self.failed])


@dataclass(frozen=True)
class Scenario:
    """One kind of shift. Times in seconds."""

    name: str
    operators: int
    phases: tuple[Phase, ...]
    shift_seconds: float = 4 * 3600.0
    tick: float = 0.5
    ring_mean: float = 8.0
    ring_cv: float = 0.5
    busy_mean: float = 4.0
    failed_mean: float = 1.5
    ring_timeout: float = 25.0
    talk_mean: float = 120.0
    talk_cv: float = 1.0
    wrap_mean: float = 15.0
    wrap_cv: float = 0.0
    amd_delay: float = 2.5
    abandon_after: float = 2.0

    @property
    def upper_bound(self) -> float:
        """The best occupancy possible: talk / (talk + wrap-up)."""
        return self.talk_mean / (self.talk_mean + self.wrap_mean)

    @property
    def change_at(self) -> float | None:
        return self.phases[1].start if len(self.phases) > 1 else None


@dataclass(frozen=True)
class ShiftResult:
    """What one simulated shift measured."""

    scenario: str
    strategy: str
    seed: int
    occupancy: float
    abandon_rate: float
    answers: int
    abandons: int
    connects: int
    dials: int
    connects_per_operator_hour: float
    mean_wait: float
    peak_lines: int
    abandon_rate_after_change: float | None
    upper_bound: float


class _Population:
    """The callees of one seed, in dialling order (common random numbers)."""

    CHUNK = 4096

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.rng = np.random.default_rng([seed, 1])
        self.columns: dict[str, FloatArray] = {}
        self.size = 0

    def person(self, k: int) -> dict[str, float]:
        while k >= self.size:
            self._grow()
        return {name: float(col[k]) for name, col in self.columns.items()}

    def _grow(self) -> None:
        s, n, rng = self.scenario, self.CHUNK, self.rng
        chunk = {
            "u": rng.random(n),
            "ring": _lognormal(rng, s.ring_mean, s.ring_cv, n),
            "busy": _lognormal(rng, s.busy_mean, 0.5, n),
            "failed": _lognormal(rng, s.failed_mean, 0.5, n),
            "talk": _lognormal(rng, s.talk_mean, s.talk_cv, n),
            "wrap": _lognormal(rng, s.wrap_mean, s.wrap_cv, n),
        }
        for name, values in chunk.items():
            self.columns[name] = np.concatenate((self.columns.get(name, np.zeros(0)), values))
        self.size += n


def _lognormal(rng: np.random.Generator, mean: float, cv: float, n: int) -> FloatArray:
    if cv <= 0:
        rng.random(n)  # keep the stream aligned whatever the CV
        return np.full(n, mean)
    sigma2 = math.log1p(cv * cv)
    return rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), n)


@dataclass
class _Shift:
    scenario: Scenario
    pacer: Pacer
    population: _Population
    events: list[tuple[float, int, str, int]] = field(default_factory=list)
    seq: itertools.count[int] = field(default_factory=itertools.count)
    free: dict[int, float] = field(default_factory=dict)  # operator -> idle since
    talking: dict[int, float] = field(default_factory=dict)  # operator -> talk start
    wrapping: dict[int, float] = field(default_factory=dict)  # operator -> wrap start
    ringing: dict[int, float] = field(default_factory=dict)  # call -> dial time
    waiting: deque[tuple[int, float]] = field(default_factory=deque)  # (call, answered at)
    persons: dict[int, dict[str, float]] = field(default_factory=dict)
    wrap_length: dict[int, float] = field(default_factory=dict)  # operator -> wrap-up after this call
    dials: int = 0
    answers: int = 0
    abandons: int = 0
    connects: int = 0
    wait_total: float = 0.0
    talk_total: float = 0.0
    peak_lines: int = 0
    answers_after: int = 0
    abandons_after: int = 0

    def push(self, at: float, kind: str, ref: int) -> None:
        heapq.heappush(self.events, (at, next(self.seq), kind, ref))

    def emit(self, kind: EventKind, at: float, duration: float) -> None:
        self.pacer.observe(CallEvent(kind, at, duration))

    def after_change(self, at: float) -> bool:
        change = self.scenario.change_at
        return change is not None and change <= at < change + 3600.0

    # -- the run ----------------------------------------------------------------------------------

    def run(self) -> None:
        s = self.scenario
        self.free = dict.fromkeys(range(s.operators), 0.0)
        self.push(0.0, "tick", 0)
        while self.events:
            at, _, kind, ref = heapq.heappop(self.events)
            if at >= s.shift_seconds:
                break
            getattr(self, f"_on_{kind}")(at, ref)
        for start in self.talking.values():
            self.talk_total += s.shift_seconds - start

    def _on_tick(self, now: float, _: int) -> None:
        snapshot = Snapshot(
            now=now,
            agents_logged_in=self.scenario.operators,
            agents_free=len(self.free),
            idle_elapsed=now - np.fromiter(self.free.values(), np.float64, len(self.free)),
            talk_elapsed=now - np.fromiter(self.talking.values(), np.float64, len(self.talking)),
            wrap_elapsed=now - np.fromiter(self.wrapping.values(), np.float64, len(self.wrapping)),
            ring_elapsed=now - np.fromiter(self.ringing.values(), np.float64, len(self.ringing)),
            waiting_elapsed=now - np.fromiter((a for _, a in self.waiting), np.float64, len(self.waiting)),
        )
        for _ in range(self.pacer.decide(snapshot).calls):
            self._dial(now)
        lines = len(self.ringing) + len(self.waiting) + len(self.talking)
        self.peak_lines = max(self.peak_lines, lines)
        self.push(now + self.scenario.tick, "tick", 0)

    def _dial(self, now: float) -> None:
        s = self.scenario
        call = self.dials
        self.dials += 1
        person = self.population.person(call)
        self.persons[call] = person
        self.ringing[call] = now
        self.emit(EventKind.DIALED, now, 0.0)
        phase = next(p for p in reversed(s.phases) if p.start <= now)
        outcome = int(np.searchsorted(phase.cumulative, person["u"], side="right"))
        if outcome == 0 and person["ring"] < s.ring_timeout:
            self.push(now + person["ring"], "human", call)
        elif outcome == 1 and person["ring"] < s.ring_timeout:
            self.push(now + person["ring"] + s.amd_delay, "machine", call)
        elif outcome == 2:
            self.push(now + min(person["busy"], s.ring_timeout), "busy", call)
        elif outcome == 3:
            self.push(now + min(person["failed"], s.ring_timeout), "failed", call)
        else:
            self.push(now + s.ring_timeout, "no_answer", call)

    def _settle(self, now: float, call: int, kind: EventKind) -> None:
        dialled = self.ringing.pop(call)
        self.persons.pop(call, None)
        self.emit(kind, now, now - dialled)

    def _on_machine(self, now: float, call: int) -> None:
        dialled = self.ringing.pop(call)
        self.persons.pop(call, None)
        self.emit(EventKind.ANSWERED_MACHINE, now, now - dialled)  # as the engine: dial to verdict

    def _on_busy(self, now: float, call: int) -> None:
        self._settle(now, call, EventKind.BUSY)

    def _on_failed(self, now: float, call: int) -> None:
        self._settle(now, call, EventKind.FAILED)

    def _on_no_answer(self, now: float, call: int) -> None:
        self._settle(now, call, EventKind.NO_ANSWER)

    def _on_human(self, now: float, call: int) -> None:
        dialled = self.ringing.pop(call)
        self.answers += 1
        self.answers_after += self.after_change(now)
        self.emit(EventKind.ANSWERED_HUMAN, now, now - dialled)
        if self.free:
            operator = min(self.free, key=self.free.__getitem__)
            del self.free[operator]
            self._connect(now, call, operator, waited=0.0)
        else:
            self.waiting.append((call, now))
            self.push(now + self.scenario.abandon_after, "abandon", call)

    def _on_abandon(self, now: float, call: int) -> None:
        for index, (waiting_call, _answered) in enumerate(self.waiting):
            if waiting_call == call:
                del self.waiting[index]
                self.persons.pop(call, None)
                self.abandons += 1
                self.abandons_after += self.after_change(now)
                self.emit(EventKind.ABANDONED, now, self.scenario.abandon_after)
                return

    def _connect(self, now: float, call: int, operator: int, waited: float) -> None:
        person = self.persons.pop(call)
        self.connects += 1
        self.wait_total += waited
        self.emit(EventKind.CONNECTED, now, waited)
        self.talking[operator] = now
        self.wrap_length[operator] = person["wrap"]
        self.push(now + person["talk"], "talk_end", operator)

    def _on_talk_end(self, now: float, operator: int) -> None:
        start = self.talking.pop(operator)
        self.talk_total += now - start
        self.emit(EventKind.TALK_ENDED, now, now - start)
        self.wrapping[operator] = now
        self.push(now + self.wrap_length[operator], "wrap_end", operator)

    def _on_wrap_end(self, now: float, operator: int) -> None:
        start = self.wrapping.pop(operator)
        self.emit(EventKind.WRAP_ENDED, now, now - start)
        if self.waiting:
            call, answered = self.waiting.popleft()
            self._connect(now, call, operator, waited=now - answered)
        else:
            self.free[operator] = now


def simulate(
    scenario: Scenario, strategy: str, seed: int, pacer_options: Mapping[str, Any] | None = None
) -> ShiftResult:
    """Run one shift of ``scenario`` under ``strategy`` with callee population ``seed``;
    ``pacer_options`` go to :func:`~pacing.make_pacer`."""
    pacer = make_pacer(
        strategy,
        ring_timeout=scenario.ring_timeout,
        abandon_after=scenario.abandon_after,
        rng=np.random.default_rng([seed, 2]),
        **(pacer_options or {}),
    )
    shift = _Shift(scenario, pacer, _Population(scenario, seed))
    shift.run()
    hours = scenario.shift_seconds / 3600.0
    after = None
    if scenario.change_at is not None:
        after = shift.abandons_after / shift.answers_after if shift.answers_after else 0.0
    return ShiftResult(
        scenario=scenario.name,
        strategy=strategy,
        seed=seed,
        occupancy=shift.talk_total / (scenario.operators * scenario.shift_seconds),
        abandon_rate=shift.abandons / shift.answers if shift.answers else 0.0,
        answers=shift.answers,
        abandons=shift.abandons,
        connects=shift.connects,
        dials=shift.dials,
        connects_per_operator_hour=shift.connects / (scenario.operators * hours),
        mean_wait=shift.wait_total / shift.connects if shift.connects else 0.0,
        peak_lines=shift.peak_lines,
        abandon_rate_after_change=after,
        upper_bound=scenario.upper_bound,
    )
