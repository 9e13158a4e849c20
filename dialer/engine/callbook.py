"""One campaign's calls in flight, turned into what the pacer learns from and decides on.

The campaign loop reports what telephony and the connector tell it (dialed, answered, failed,
connected, abandoned, ended); :class:`CallBook` keeps each call's phase and returns the
:class:`~pacing.CallEvent` the pacer must observe, with the duration that event kind means. At each
tick :meth:`CallBook.snapshot` builds the pacer's :class:`~pacing.Snapshot` from the calls and from
the operators of the campaign's project on the board. Times are seconds on one monotonic clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from dialer.engine.board import OperatorBoard, OperatorState
from pacing import CallEvent, EventKind, Snapshot


class CallPhase(StrEnum):
    RINGING = "ringing"  # dialled, no final answer yet (or answered and being classified)
    WAITING = "waiting"  # a person answered, no operator yet
    CONNECTED = "connected"
    ENDED = "ended"


FAILURES = {"busy": EventKind.BUSY, "no_answer": EventKind.NO_ANSWER, "failed": EventKind.FAILED}


@dataclass
class TrackedCall:
    call_id: str
    lead_id: int
    phone: str
    dialed_at: float
    phase: CallPhase = CallPhase.RINGING
    answered_at: float | None = None
    connected_at: float | None = None
    operator: str | None = None


class UnknownCall(KeyError):
    """An event for a call this book never dialled (a bug in the caller)."""


class CallBook:
    """The calls of one campaign (project ``project``)."""

    def __init__(self, project: int) -> None:
        self.project = project
        self.calls: dict[str, TrackedCall] = {}

    def _call(self, call_id: str) -> TrackedCall:
        try:
            return self.calls[call_id]
        except KeyError:
            raise UnknownCall(call_id) from None

    def dialed(self, call_id: str, *, lead_id: int, phone: str, now: float) -> CallEvent:
        self.calls[call_id] = TrackedCall(call_id, lead_id, phone, now)
        return CallEvent(EventKind.DIALED, now, 0.0)

    def answered(self, call_id: str, now: float, *, machine: bool = False) -> CallEvent:
        """A final answer: a person (now waiting for an operator) or a machine (ends here)."""
        call = self._call(call_id)
        call.answered_at = now
        call.phase = CallPhase.ENDED if machine else CallPhase.WAITING
        if machine:
            del self.calls[call_id]
        kind = EventKind.ANSWERED_MACHINE if machine else EventKind.ANSWERED_HUMAN
        return CallEvent(kind, now, now - call.dialed_at)

    def failed(self, call_id: str, now: float, outcome: str) -> CallEvent:
        """Busy, no answer or failed (``outcome`` names which)."""
        call = self.calls.pop(call_id, None)
        if call is None:
            raise UnknownCall(call_id)
        return CallEvent(FAILURES[outcome], now, now - call.dialed_at)

    def connected(self, call_id: str, now: float, operator: str) -> CallEvent:
        call = self._call(call_id)
        call.phase, call.connected_at, call.operator = CallPhase.CONNECTED, now, operator
        return CallEvent(EventKind.CONNECTED, now, now - (call.answered_at or now))

    def abandoned(self, call_id: str, now: float) -> CallEvent:
        call = self.calls.pop(call_id, None)
        if call is None:
            raise UnknownCall(call_id)
        return CallEvent(EventKind.ABANDONED, now, now - (call.answered_at or now))

    def ended(self, call_id: str, now: float) -> list[CallEvent]:
        """The call is over; a connected one reports its talk time."""
        call = self.calls.pop(call_id, None)
        if call is None or call.connected_at is None:
            return []
        return [CallEvent(EventKind.TALK_ENDED, now, now - call.connected_at)]

    def snapshot(self, now: float, board: OperatorBoard) -> Snapshot:
        """The pacer's view: this project's operators and this campaign's calls."""
        operators = [o for o in board.operators.values() if self.project in o.projects]
        logged_in = [o for o in operators if o.state is not OperatorState.OFFLINE]
        free = [o for o in logged_in if o.state is OperatorState.READY]
        talking = [o for o in logged_in if o.state in (OperatorState.TALKING, OperatorState.RESERVED)]
        wrapping = [o for o in logged_in if o.state is OperatorState.WRAP_UP]
        ringing = [c for c in self.calls.values() if c.phase is CallPhase.RINGING]
        waiting = [c for c in self.calls.values() if c.phase is CallPhase.WAITING]

        def elapsed(since: list[float]) -> np.ndarray:
            # An operator may have moved a moment after ``now`` was read (the tick awaited the
            # database since): that is no time at all, not negative time.
            return np.maximum(now - np.array(since, dtype=float), 0.0)

        return Snapshot(
            now=now,
            agents_logged_in=len(logged_in),
            agents_free=len(free),
            idle_elapsed=elapsed([o.idle_since if o.idle_since is not None else now for o in free]),
            talk_elapsed=elapsed([o.since for o in talking]),
            wrap_elapsed=elapsed([o.since for o in wrapping]),
            ring_elapsed=elapsed([c.dialed_at for c in ringing]),
            waiting_elapsed=elapsed([c.answered_at or now for c in waiting]),
        )
