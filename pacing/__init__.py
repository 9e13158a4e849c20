"""Predictive pacing: how many calls to launch per free operator, under the abandon limit.

Pure functions and small classes over numpy arrays: no asyncio, no database, no clock reads; time
and the random generator are arguments.

    from pacing import make_pacer, CallEvent, EventKind, Snapshot, Decision
    pacer = make_pacer("predictive", abandon_target=0.03, ring_timeout=25.0, abandon_after=2.0,
                       rng=numpy.random.default_rng(seed))
    pacer.observe(CallEvent(kind=EventKind.ANSWERED_HUMAN, at=t, duration=ring_seconds))
    decision = pacer.decide(Snapshot(now=t, agents_logged_in=..., agents_free=..., ...))
"""

from pacing.errors import InvalidParameter, InvalidSnapshot, PacingError
from pacing.events import CallEvent, Decision, EventKind, Snapshot
from pacing.strategies import STRATEGIES, Pacer, make_pacer

__all__ = [
    "STRATEGIES",
    "CallEvent",
    "Decision",
    "EventKind",
    "InvalidParameter",
    "InvalidSnapshot",
    "Pacer",
    "PacingError",
    "Snapshot",
    "make_pacer",
]
