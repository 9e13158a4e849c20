"""What the engine writes down for the reports: operators' state spans and campaigns' dial levels.

Theory of operation
-------------------
Every state change of an operator becomes a span in ``operator_state``: the change closes the
operator's open span and opens the next one (``offline`` opens none). Spans are whole rows with
their start and end, never counters, so a report sums spans clipped to its period and a day is
split at the project's midnight by the report, not here.

Changes are queued as they happen (the board's listener must not wait for the database) and
written in one transaction a second; :meth:`Journal.stop` writes the rest and closes the spans
still open. After a crash the spans left open are closed at start at the last change written
before it: later than that nothing is known.

Dial samples: the campaign's dial level and the pacer's reason, written when the level moved by a
quarter call per operator (at most every ``SAMPLE_MIN`` seconds) and at least every
``SAMPLE_MAX`` seconds while the campaign runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.storage import writing
from dialer.storage.tables import DIAL_SAMPLE, OPERATOR_STATE
from dialer.storage.types import utcnow

log = structlog.get_logger(__name__)
FLUSH_EVERY = 1.0  # seconds between two writes
SAMPLE_MIN = 10.0  # seconds: a dial level that moved is written at most this often
SAMPLE_MAX = 60.0  # seconds: and at least this often
LEVEL_STEP = 0.25  # calls per operator: a move this large is worth a sample


@dataclass(frozen=True)
class StateChange:
    operator: str
    state: str
    reason: str | None
    campaign_id: int | None
    project_id: int | None
    at: datetime


@dataclass(frozen=True)
class DialLevel:
    campaign_id: int
    at: datetime
    level: float | None
    calls: int
    operators: int
    reason: str


class Journal:
    def __init__(self, db: AsyncEngine, *, wall: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.wall = wall
        self.changes: list[StateChange] = []
        self.samples: list[DialLevel] = []
        self._last: dict[int, tuple[float, float | None, str]] = {}  # campaign -> monotonic, level, strategy
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Close the spans a crash left open, then write every second."""
        async with writing(self.db) as conn:
            last = (await conn.execute(select(func.max(OPERATOR_STATE.c.started_at)))).scalar()
            if last is not None:
                await conn.execute(
                    update(OPERATOR_STATE).where(OPERATOR_STATE.c.ended_at.is_(None)).values(ended_at=last)
                )
        self._task = asyncio.create_task(self._run(), name="engine-journal")

    async def stop(self) -> None:
        """Write what is queued and close every open span now (the operators are gone with us)."""
        self._stop.set()
        if self._task is not None:
            await self._task
        try:
            await self.flush()
            async with writing(self.db) as conn:
                await conn.execute(
                    update(OPERATOR_STATE)
                    .where(OPERATOR_STATE.c.ended_at.is_(None))
                    .values(ended_at=self.wall())
                )
        except Exception as exc:  # the database went first: the next start closes the spans left open
            log.warning("operators' last states not written at stop", error=str(exc))

    def moved(
        self, operator: str, state: str, reason: str | None, campaign: tuple[int, int] | None = None
    ) -> None:
        """``operator`` entered ``state`` now; ``campaign`` (campaign id, project id) of the call."""
        campaign_id, project_id = campaign if campaign is not None else (None, None)
        self.changes.append(StateChange(operator, state, reason, campaign_id, project_id, self.wall()))

    def dial_level(
        self, campaign_id: int, now: float, *, level: float | None, calls: int, operators: int, reason: str,
        strategy: str = "",
    ) -> None:  # fmt: skip
        """The campaign's level at ``now`` (monotonic seconds); kept when worth a sample."""
        last = self._last.get(campaign_id)
        if last is not None:
            since, last_level, last_strategy = last
            moved = (level is None) != (last_level is None) or (
                level is not None and last_level is not None and abs(level - last_level) >= LEVEL_STEP
            )
            changed = moved or strategy != last_strategy
            if now - since < (SAMPLE_MIN if changed else SAMPLE_MAX):
                return
        self._last[campaign_id] = (now, level, strategy)
        self.samples.append(DialLevel(campaign_id, self.wall(), level, calls, operators, reason[:300]))

    async def flush(self) -> None:
        changes, self.changes = self.changes, []
        samples, self.samples = self.samples, []
        if not changes and not samples:
            return
        try:
            await self._write(changes, samples)
        except Exception:
            self.changes[:0], self.samples[:0] = changes, samples  # kept, in order, for the next write
            raise

    async def _write(self, changes: list[StateChange], samples: list[DialLevel]) -> None:
        async with writing(self.db) as conn:
            for change in changes:
                await conn.execute(
                    update(OPERATOR_STATE)
                    .where(OPERATOR_STATE.c.operator == change.operator, OPERATOR_STATE.c.ended_at.is_(None))
                    .values(ended_at=change.at)
                )
                if change.state != "offline":
                    await conn.execute(
                        insert(OPERATOR_STATE).values(
                            operator=change.operator,
                            state=change.state,
                            reason=change.reason,
                            campaign_id=change.campaign_id,
                            project_id=change.project_id,
                            started_at=change.at,
                        )
                    )
            if samples:
                await conn.execute(
                    insert(DIAL_SAMPLE),
                    [
                        {
                            "campaign_id": s.campaign_id,
                            "at": s.at,
                            "level": s.level,
                            "calls": s.calls,
                            "operators": s.operators,
                            "reason": s.reason,
                        }
                        for s in samples
                    ],
                )

    async def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), FLUSH_EVERY)
            try:
                await self.flush()
            except Exception:  # the database is away: keep the rows for the next try
                log.exception("journal write failed; retrying")
