"""Operators' sessions and who gets the next answered call.

Theory of operation
-------------------
An operator is ``offline``, ``ready`` (waiting for a call), ``reserved`` (a call is being connected
to them), ``talking``, ``wrap_up`` (after-call work, back to ready by itself after the campaign's
wrap-up time) or ``paused`` (with a reason code). Transitions are a table; an illegal one raises
:class:`OperatorStateError` and leaves the state unchanged.

Routing (:meth:`OperatorBoard.pick`): among ready operators of the call's project, the one idle the
longest gets it; ties go to the one with fewest calls today. An operator logged into several projects
takes calls from all of them; the campaign loop asks for the highest-priority campaign first. A
``prefer`` login (a callback's pinned operator, a returning client's personal operator) wins when that
operator is ready. Times are seconds on one monotonic clock, passed in; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from dialer.errors import Conflict


class OperatorState(StrEnum):
    OFFLINE = "offline"
    READY = "ready"
    RESERVED = "reserved"
    TALKING = "talking"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


S = OperatorState
TRANSITIONS: dict[OperatorState, frozenset[OperatorState]] = {
    S.OFFLINE: frozenset({S.READY, S.PAUSED}),
    S.READY: frozenset({S.RESERVED, S.PAUSED, S.OFFLINE}),
    S.RESERVED: frozenset({S.TALKING, S.READY, S.PAUSED, S.OFFLINE}),
    S.TALKING: frozenset({S.WRAP_UP, S.OFFLINE, S.PAUSED}),
    S.WRAP_UP: frozenset({S.READY, S.PAUSED, S.OFFLINE}),
    S.PAUSED: frozenset({S.READY, S.OFFLINE}),
}


class OperatorStateError(Conflict):
    """A state change that the operator's current state does not allow."""


@dataclass
class Operator:
    """One operator's session."""

    login: str
    projects: frozenset[int]
    state: OperatorState = OperatorState.OFFLINE
    since: float = 0.0  # when the current state began
    idle_since: float | None = None  # when they last became ready (None unless ready)
    calls_today: int = 0
    pause_reason: str | None = None
    wrap_up_until: float | None = None
    owes: str | None = None  # an ended call whose outcome they have not recorded: the wrap-up waits for it
    history: list[tuple[float, OperatorState]] = field(default_factory=list)
    on_move: Callable[[Operator], None] | None = field(default=None, repr=False, compare=False)

    def move(self, to: OperatorState, now: float, *, reason: str | None = None) -> None:
        """Change state at ``now``; :class:`OperatorStateError` when not allowed from here."""
        if to == self.state:
            return
        if to not in TRANSITIONS[self.state]:
            raise OperatorStateError(f"operator {self.login}: cannot go from {self.state} to {to}")
        if to is S.PAUSED and not reason:
            raise OperatorStateError(f"operator {self.login}: a pause needs a reason code")
        if to is S.TALKING:
            self.calls_today += 1
        self.state = to
        self.since = now
        self.idle_since = now if to is S.READY else None
        self.pause_reason = reason if to is S.PAUSED else None
        self.wrap_up_until = None
        if to is not S.WRAP_UP:
            self.owes = None
        self.history.append((now, to))
        if self.on_move is not None:
            self.on_move(self)

    def start_wrap_up(self, now: float, seconds: float) -> None:
        self.move(S.WRAP_UP, now)
        self.wrap_up_until = now + seconds


class OperatorBoard:
    """Every logged-in operator of this dialer process, by login."""

    def __init__(self) -> None:
        self.operators: dict[str, Operator] = {}
        self.listeners: list[Callable[[Operator], None]] = []  # told of every state change

    def _moved(self, operator: Operator) -> None:
        for listener in self.listeners:
            listener(operator)

    def log_in(self, login: str, projects: Iterable[int], now: float) -> Operator:
        operator = self.operators.get(login)
        if operator is None:
            operator = self.operators[login] = Operator(
                login, frozenset(projects), since=now, on_move=self._moved
            )
        else:
            operator.projects = frozenset(projects)
        return operator

    def get(self, login: str) -> Operator:
        try:
            return self.operators[login]
        except KeyError:
            raise OperatorStateError(f"operator {login} is not logged in") from None

    def tick(self, now: float) -> list[Operator]:
        """Return operators whose wrap-up time is over to ready; the ones that changed."""
        back = []
        for operator in self.operators.values():
            if (
                operator.state is S.WRAP_UP
                and operator.wrap_up_until is not None
                and now >= operator.wrap_up_until
                and operator.owes is None
            ):
                operator.move(S.READY, now)
                back.append(operator)
        return back

    def next_wrap_end(self) -> float | None:
        """When the next wrap-up ends (for the loops' timers), or None."""
        ends = [
            o.wrap_up_until for o in self.operators.values() if o.wrap_up_until is not None and o.owes is None
        ]
        return min(ends) if ends else None

    def ready(self, project: int) -> list[Operator]:
        return [o for o in self.operators.values() if o.state is S.READY and project in o.projects]

    def pick(
        self, project: int, *, prefer: str | None = None, exclude: Collection[str] = ()
    ) -> Operator | None:
        """The operator to reserve for a call of ``project``, or None when nobody is ready."""
        if prefer is not None:
            preferred = self.operators.get(prefer)
            if preferred is not None and preferred.state is S.READY and project in preferred.projects:
                return preferred
        candidates = [o for o in self.ready(project) if o.login not in exclude]
        if not candidates:
            return None
        return min(candidates, key=_routing_order)


def _routing_order(operator: Operator) -> tuple[float, int, str]:
    """Idle longest first (earliest ``idle_since``), then fewest calls today, then login (stable)."""
    idle_since = operator.idle_since if operator.idle_since is not None else 0.0
    return idle_since, operator.calls_today, operator.login
