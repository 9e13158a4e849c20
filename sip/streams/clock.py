"""One 20 ms clock for every media leg in the process (not a task or thread per call).

Each tick has two phases: every leg first takes the frame it received for this tick (``pull``), then
every leg sends one frame (``push``), so a bridge always relays the frame its partner received in
the same tick. Ticks are scheduled on absolute times (start + k * ptime) with ``loop.call_at``, so
lateness never accumulates; when the loop was blocked for more than two ticks the clock skips ahead
(counted in ``skipped``) instead of sending a burst.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

log = logging.getLogger(__name__)


class Ticked(Protocol):
    def pull(self) -> None: ...
    def push(self) -> None: ...


class MediaClock:
    """Drives :class:`Ticked` members every ``ptime`` seconds while it has any."""

    def __init__(self, ptime: float = 0.020) -> None:
        self.ptime = ptime
        self.ticks = 0
        self.skipped = 0
        self.started_at: list[float] = []  # loop time each tick began (benchmarks read the gaps)
        self.keep_history = False
        self._members: dict[int, Ticked] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._next = 0.0

    def __len__(self) -> int:
        return len(self._members)

    def add(self, member: Ticked) -> None:
        self._members[id(member)] = member
        if self._handle is None:
            loop = asyncio.get_running_loop()
            self._next = loop.time() + self.ptime
            self._handle = loop.call_at(self._next, self._tick)

    def remove(self, member: Ticked) -> None:
        self._members.pop(id(member), None)
        if not self._members and self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        if self.keep_history:
            self.started_at.append(loop.time())
        members = list(self._members.values())
        for phase in ("pull", "push"):
            for member in members:
                try:
                    getattr(member, phase)()
                except Exception:  # one broken leg must not silence every call in the process
                    log.exception("media leg failed in %s; removing it from the clock", phase)
                    self._members.pop(id(member), None)
        self.ticks += 1
        self._next += self.ptime
        now = loop.time()
        if now - self._next > 2 * self.ptime:
            behind = int((now - self._next) / self.ptime)
            self.skipped += behind
            self._next += behind * self.ptime
        self._handle = loop.call_at(self._next, self._tick) if self._members else None
