"""What the dialer tells the pacer, and what the pacer answers.

All times are seconds on one monotonic clock chosen by the caller; durations are seconds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from pacing.errors import InvalidSnapshot

FloatArray = npt.NDArray[np.float64]


class EventKind(enum.Enum):
    """Things that happen to a call, in the order a call can meet them.

    ``duration`` of a :class:`CallEvent` means, by kind:

    - ``DIALED``: 0 (the call was launched at ``at``);
    - ``ANSWERED_HUMAN``, ``ANSWERED_MACHINE``, ``BUSY``, ``NO_ANSWER``, ``FAILED``: seconds from dial
      to that outcome (the ring time);
    - ``CONNECTED``, ``ABANDONED``: seconds the answered person waited for an operator;
    - ``TALK_ENDED``, ``WRAP_ENDED``: length of that phase.
    """

    DIALED = "dialed"
    ANSWERED_HUMAN = "answered_human"
    ANSWERED_MACHINE = "answered_machine"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    CONNECTED = "connected"
    ABANDONED = "abandoned"
    TALK_ENDED = "talk_ended"
    WRAP_ENDED = "wrap_ended"


DIAL_OUTCOMES = (
    EventKind.ANSWERED_HUMAN,
    EventKind.ANSWERED_MACHINE,
    EventKind.BUSY,
    EventKind.NO_ANSWER,
    EventKind.FAILED,
)


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One thing that happened at time ``at`` (seconds) and how long it took (see :class:`EventKind`)."""

    kind: EventKind
    at: float
    duration: float = 0.0


def _array(values: object) -> FloatArray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


@dataclass(frozen=True)
class Snapshot:
    """The campaign at one instant, as the dialer sees it.

    ``agents_free`` operators are ready with no call; ``idle_elapsed`` holds how long each has waited.
    ``talk_elapsed`` and ``wrap_elapsed`` hold, per busy operator, seconds spent in the current phase;
    ``ring_elapsed`` seconds since dial for each call not yet settled (ringing, or answered and still
    being classified); ``waiting_elapsed`` seconds each answered person has waited for an operator.
    Operators logged in but in none of these states are paused. Arrays of seconds, any order.
    """

    now: float
    agents_logged_in: int
    agents_free: int
    idle_elapsed: FloatArray = field(default_factory=lambda: np.zeros(0))
    talk_elapsed: FloatArray = field(default_factory=lambda: np.zeros(0))
    wrap_elapsed: FloatArray = field(default_factory=lambda: np.zeros(0))
    ring_elapsed: FloatArray = field(default_factory=lambda: np.zeros(0))
    waiting_elapsed: FloatArray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        for name in ("idle_elapsed", "talk_elapsed", "wrap_elapsed", "ring_elapsed", "waiting_elapsed"):
            values = _array(getattr(self, name))
            if values.size and (not np.all(np.isfinite(values)) or values.min() < 0):
                raise InvalidSnapshot(f"{name} must hold finite seconds >= 0")
            object.__setattr__(self, name, values)
        if self.agents_free < 0 or self.agents_logged_in < 0:
            raise InvalidSnapshot("agent counts must be >= 0")
        busy = self.talk_elapsed.size + self.wrap_elapsed.size
        if self.agents_free + busy > self.agents_logged_in:
            raise InvalidSnapshot(
                f"agents_free ({self.agents_free}) + talking/wrapping ({busy}) exceeds "
                f"agents_logged_in ({self.agents_logged_in})"
            )

    @property
    def calls_pending(self) -> int:
        """Calls launched and not yet with an operator: ringing (or being classified) plus waiting."""
        return int(self.ring_elapsed.size + self.waiting_elapsed.size)

    @property
    def agents_busy(self) -> int:
        return int(self.talk_elapsed.size + self.wrap_elapsed.size)

    @property
    def agents_paused(self) -> int:
        return self.agents_logged_in - self.agents_free - self.agents_busy


@dataclass(frozen=True, slots=True)
class Decision:
    """How many calls to launch now, and why in one line a supervisor can read."""

    calls: int
    reason: str
    strategy: str = ""
    risk: float = 0.0
    """Predicted chance that the last call launched, if a person answers, finds no operator."""
