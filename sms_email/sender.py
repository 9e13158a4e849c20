"""The message sender: takes due messages from the outbox, applies the rules, sends, records.

Theory of operation
-------------------
:meth:`MessageSender.send_due` claims due rows of ``message`` (``finished_at`` unset, ``next_try_at``
passed; claimed for as long as a try may take, :func:`call_limit`; ``SKIP LOCKED`` on PostgreSQL)
and handles each one:

- ``sent`` rows of a gateway that reports delivery are asked for their status, every
  ``status_every`` seconds for ``status_for`` seconds, then left as sent;
- ``queued`` and ``sending`` rows past their ``not_after`` expire with the reason they waited for;
  the others pass the rules (:mod:`sms_email.rules`: stop lists, calling window, contact caps),
  which may hold them until a later time; then the row becomes ``sending`` with one more try,
  *committed before the request leaves*, and the gateway is called under a time limit.

Whatever the gateway says is written in one transaction with the lead's history line, the webhook
event (``message.sent``, ``message.delivered``, ``message.failed``) and, for an address the gateway
calls wrong, the mark on the lead. A row whose try began and never ended (the process was killed)
is claimed again when its claim runs out; its ``tries`` tells the gateway an earlier try may have
gone out (SMSC is asked for the status of our ``id`` before sending; SMTP sends the same
Message-ID). A gateway with no funds or refused credentials *parks* its channel: nothing more is sent
through it until the wait is over, and supervisors see why in the log and in the channel states.
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dialer.config_channels import ChannelSettings, SmscSettings
from dialer.storage.engine import reading, writing
from dialer.storage.outbox import Outbox, retry_delay
from dialer.storage.tables import LEAD, LEAD_EVENT, MESSAGE, PROJECT
from dialer.storage.types import utcnow
from dialer.webhooks import queue_webhook
from sms_email import rules
from sms_email.gateway import Attachment, Gateway, Outcome, Outgoing
from sms_email.store import stopped

log = structlog.get_logger(__name__)
MISSING_CHANNEL_WAIT = 600.0
_COLUMNS = tuple(c for c in MESSAGE.c if c.name not in ("id", "tries"))


# The "project" of the console's own emails (invitations, password resets): no webhook, no window.
CONSOLE: Mapping[str, Any] = {"id": None, "slug": None, "webhook_url": None}


@dataclass(frozen=True)
class Parked:
    until: datetime
    reason: str


@dataclass(frozen=True)
class ChannelState:
    """A channel as a supervisor sees it: parked (nothing goes through it) until when, and why."""

    name: str
    medium: str
    kind: str
    projects: tuple[str, ...]
    parked_until: datetime | None
    reason: str | None


class MessageSender:
    """Delivers the message outbox; :meth:`run` until stopped, or :meth:`send_due` once (tests)."""

    def __init__(
        self,
        engine: AsyncEngine,
        gateways: Mapping[str, Gateway],
        channels: Mapping[str, ChannelSettings],
        *,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        batch: int = 50,
        concurrency: int = 20,
    ) -> None:
        self._engine = engine
        self._gateways = gateways
        self._channels = channels
        self._clock = clock
        self._rng = rng or random.Random()
        self._limits = {name: call_limit(settings) for name, settings in channels.items()}
        claim = max(self._limits.values(), default=30.0) + 10.0
        self._outbox = Outbox(MESSAGE, done="finished_at", claim_for=timedelta(seconds=claim))
        self._batch = batch
        self._slots = asyncio.Semaphore(concurrency)
        self.parked: dict[str, Parked] = {}
        self._wake = asyncio.Event()

    def states(self) -> list[ChannelState]:
        """Every configured channel with its parking, by name."""
        now = self._clock()
        out = []
        for name, settings in sorted(self._channels.items()):
            parked = self.parked.get(name)
            live = parked is not None and parked.until > now
            out.append(
                ChannelState(
                    name, settings.medium, settings.kind, tuple(settings.projects),
                    parked.until if live and parked else None, parked.reason if live and parked else None,
                )
            )  # fmt: skip
        return out

    def wake(self) -> None:
        """Something was queued in this process: look now instead of at the next idle tick."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, *, idle: float = 1.0) -> None:
        """Send until ``stop`` is set; when nothing is due, sleeps ``idle`` seconds or until
        :meth:`wake` (messages queued by another process are seen within ``idle``)."""
        while not stop.is_set():
            try:
                handled = await self.send_due()
            except Exception:  # a database hiccup must not end sending for good
                log.exception("message sending pass failed; retrying")
                handled = 0
            if not handled:
                await self._idle(stop, idle)

    async def _idle(self, stop: asyncio.Event, idle: float) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((stopping, woken), timeout=idle, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            woken.cancel()
            self._wake.clear()

    async def send_due(self) -> int:
        """Claim and handle every due message once; returns how many were handled."""
        now = self._clock()
        due = await self._outbox.claim(self._engine, now, self._batch, *_COLUMNS)
        if not due:
            return 0
        async with reading(self._engine) as conn:
            projects = await _projects(conn, {row.project_id for row in due})
            leads = await _leads(conn, {row.lead_id for row in due if row.lead_id is not None})
        await asyncio.gather(
            *(
                self._handle(row._mapping, projects.get(row.project_id, CONSOLE), leads.get(row.lead_id), now)
                for row in due
            )
        )
        return len(due)

    async def _handle(
        self,
        row: Mapping[Any, Any],
        project: Mapping[Any, Any],
        lead: Mapping[Any, Any] | None,
        now: datetime,
    ) -> None:
        try:
            async with self._slots:
                if row["status"] == "sent":
                    await self._check_status(row, project, now)
                else:
                    await self._send(row, project, lead, now)
        except Exception:  # one message's fault must not stop the others; it is claimed again later
            log.exception("message handling failed", message=row["id"])

    async def _send(
        self,
        row: Mapping[Any, Any],
        project: Mapping[Any, Any],
        lead: Mapping[Any, Any] | None,
        now: datetime,
    ) -> None:
        if now >= row["not_after"]:
            why = row["reason"] or "nothing was tried"
            await self._record(row, project, "expired", now, reason=f"not sent before its deadline: {why}")
            return
        async with reading(self._engine) as conn:
            blocked = await stopped(conn, project["id"], row["medium"], row["recipient"])
            hold = await self._hold(conn, row, project, lead, now)
        if blocked:
            await self._record(row, project, "failed", now, reason=blocked)
            return
        if hold is not None:
            await self._wait(row, project, now, hold[0], hold[1])
            return
        gateway = self._gateways.get(row["channel"])
        if gateway is None:
            reason = f"channel {row['channel']!r} is not configured any more"
            await self._wait(row, project, now, now + timedelta(seconds=MISSING_CHANNEL_WAIT), reason)
            return
        async with writing(self._engine) as conn:
            started = await conn.execute(
                update(MESSAGE)
                .where(MESSAGE.c.id == row["id"], MESSAGE.c.finished_at.is_(None))
                .values(status="sending", tries=MESSAGE.c.tries + 1)
            )
        if started.rowcount == 0:
            return
        outcome = await self._call(gateway.send(_outgoing(row)), "send", self._limits[row["channel"]])
        await self._apply(row, project, gateway, outcome, self._clock())

    async def _hold(
        self,
        conn: AsyncConnection,
        row: Mapping[Any, Any],
        project: Mapping[Any, Any],
        lead: Mapping[Any, Any] | None,
        now: datetime,
    ) -> rules.Hold | None:
        parked = self.parked.get(row["channel"])
        if parked is not None and parked.until > now:
            return parked.until, f"channel {row['channel']} is parked: {parked.reason}"
        if row["medium"] != "sms":
            return None
        return rules.window_hold(project, lead, row["recipient"], now) or await rules.cap_hold(
            conn, project, row["recipient"], now
        )

    async def _check_status(self, row: Mapping[Any, Any], project: Mapping[Any, Any], now: datetime) -> None:
        gateway = self._gateways.get(row["channel"])
        settings = self._channels.get(row["channel"])
        if gateway is None or not gateway.reports_delivery:
            await self._finish_sent(row, now)
            return
        limit = self._limits.get(row["channel"], 30.0)
        outcome = await self._call(gateway.status(_outgoing(row), row["gateway_id"]), "status", limit)
        if outcome.state in ("delivered", "failed"):
            await self._apply(row, project, gateway, outcome, self._clock())
            return
        every, longest = _status_timing(settings)
        if row["sent_at"] is not None and now - row["sent_at"] > timedelta(seconds=longest):
            await self._finish_sent(row, now)
            return
        async with writing(self._engine) as conn:
            await conn.execute(
                update(MESSAGE)
                .where(MESSAGE.c.id == row["id"])
                .values(next_try_at=now + timedelta(seconds=every))
            )

    async def _call(self, call: Any, what: str, limit: float) -> Outcome:
        try:
            result: Outcome = await asyncio.wait_for(call, limit)
        except TimeoutError:
            return Outcome("retry", reason=f"the gateway's {what} took longer than {limit:.0f} s")
        return result

    async def _apply(
        self,
        row: Mapping[Any, Any],
        project: Mapping[Any, Any],
        gateway: Gateway,
        outcome: Outcome,
        now: datetime,
    ) -> None:
        if outcome.state == "parked":
            wait = outcome.retry_after or 600.0
            self.parked[row["channel"]] = Parked(now + timedelta(seconds=wait), outcome.reason or "")
            log.error("message channel parked", channel=row["channel"], reason=outcome.reason, seconds=wait)
            await self._wait(row, project, now, now + timedelta(seconds=wait), outcome.reason or "parked")
            return
        self.parked.pop(row["channel"], None)
        if outcome.state in ("retry", "unknown"):
            tries = row["tries"] + 1
            delay = outcome.retry_after or retry_delay(tries, self._rng, first=10.0, most=1800.0)
            await self._wait(row, project, now, now + timedelta(seconds=delay), outcome.reason or "try again")
            return
        values: dict[str, Any] = {"reason": outcome.reason if outcome.state != "sent" else None}
        if outcome.gateway_id or row["gateway_id"] is None:
            values["gateway_id"] = outcome.gateway_id or (
                str(row["id"]) if gateway.reports_delivery else None
            )
        if outcome.parts is not None:
            values["parts"] = outcome.parts
        if outcome.cost is not None:
            values["cost"] = outcome.cost
        if outcome.state in ("sent", "delivered"):
            values["sent_at"] = row["sent_at"] or now
        if outcome.state == "sent" and gateway.reports_delivery:
            every, _ = _status_timing(self._channels.get(row["channel"]))
            values["next_try_at"] = now + timedelta(seconds=every)
            await self._record(row, project, "sent", now, finished=False, **values)
            return
        await self._record(row, project, outcome.state, now, bad_address=outcome.bad_address, **values)

    async def _wait(
        self, row: Mapping[Any, Any], project: Mapping[Any, Any], now: datetime, until: datetime, reason: str
    ) -> None:
        """Put the message back in the queue until ``until``; expire it if that is past its deadline."""
        if until >= row["not_after"]:
            await self._record(
                row, project, "expired", now, reason=f"could not go before its deadline: {reason}"
            )
            return
        async with writing(self._engine) as conn:
            await conn.execute(
                update(MESSAGE)
                .where(MESSAGE.c.id == row["id"], MESSAGE.c.finished_at.is_(None))
                .values(status="queued", next_try_at=until, reason=reason[:500])
            )

    async def _finish_sent(self, row: Mapping[Any, Any], now: datetime) -> None:
        async with writing(self._engine) as conn:
            await conn.execute(update(MESSAGE).where(MESSAGE.c.id == row["id"]).values(finished_at=now))

    async def _record(
        self,
        row: Mapping[Any, Any],
        project: Mapping[Any, Any],
        status: str,
        now: datetime,
        *,
        finished: bool = True,
        bad_address: bool = False,
        **values: Any,
    ) -> None:
        """The message's new status with its history line, webhook and the lead's mark, together."""
        if values.get("reason"):
            values["reason"] = str(values["reason"])[:500]
        if finished:
            values["finished_at"] = now
        async with writing(self._engine) as conn:
            changed = await conn.execute(
                update(MESSAGE)
                .where(MESSAGE.c.id == row["id"], MESSAGE.c.finished_at.is_(None))
                .values(status=status, **values)
            )
            if changed.rowcount == 0:
                return
            await _tell(conn, row, project, status, now, reason=values.get("reason"))
            if bad_address and row["lead_id"] is not None:
                await _mark_bad(conn, row["lead_id"], row["recipient"], values.get("reason") or status)


async def _tell(
    conn: AsyncConnection,
    row: Mapping[Any, Any],
    project: Mapping[Any, Any],
    status: str,
    now: datetime,
    *,
    reason: str | None,
) -> None:
    detail = {"id": row["id"], "medium": row["medium"], "template": row["template"], "status": status}
    if reason:
        detail["reason"] = reason
    external_id = None
    if row["lead_id"] is not None:
        await conn.execute(
            insert(LEAD_EVENT).values(lead_id=row["lead_id"], at=now, kind="message", detail=detail)
        )
        external_id = (
            await conn.execute(select(LEAD.c.external_id).where(LEAD.c.id == row["lead_id"]))
        ).scalar()
    if project["webhook_url"]:
        event = {"sent": "message.sent", "delivered": "message.delivered"}.get(status, "message.failed")
        payload = {"event": event, "project": project["slug"], "external_id": external_id,
                   "at": now.isoformat(), "recipient": row["recipient"], **detail}  # fmt: skip
        await queue_webhook(conn, project["id"], payload, now)


async def _mark_bad(conn: AsyncConnection, lead_id: int, address: str, reason: str) -> None:
    current = (await conn.execute(select(LEAD.c.bad_contacts).where(LEAD.c.id == lead_id))).scalar() or {}
    marks = {**current, address: reason}
    await conn.execute(update(LEAD).where(LEAD.c.id == lead_id).values(bad_contacts=marks))


def call_limit(settings: ChannelSettings) -> float:
    """Seconds one send may take in all: SMSC may ask the status, send and ask again, each host in
    turn. A claim lasts this long plus a margin, so a message whose process died is taken up again
    soon after, and never while its try may still be running."""
    if isinstance(settings, SmscSettings):
        return settings.timeout * 3 * len(settings.hosts) + 5.0
    return settings.timeout + 5.0


def _status_timing(settings: ChannelSettings | None) -> tuple[float, float]:
    if isinstance(settings, SmscSettings):
        return settings.status_every, settings.status_for
    return 60.0, 0.0


def _outgoing(row: Mapping[Any, Any]) -> Outgoing:
    attachments = tuple(
        Attachment(a["filename"], a["content_type"], base64.b64decode(a["content"]))
        for a in row["attachments"] or ()
    )
    return Outgoing(
        id=row["id"],
        recipient=row["recipient"],
        body=row["body"],
        subject=row["subject"],
        html=row["html"],
        message_id=row["message_id"],
        attachments=attachments,
        maybe_sent=row["tries"] > 0,
    )


async def _projects(conn: AsyncConnection, ids: set[int | None]) -> dict[int | None, Mapping[Any, Any]]:
    rows = await conn.execute(select(PROJECT).where(PROJECT.c.id.in_([i for i in ids if i is not None])))
    return {r["id"]: r for r in rows.mappings().all()}


async def _leads(conn: AsyncConnection, ids: set[int]) -> dict[int, Mapping[Any, Any]]:
    if not ids:
        return {}
    rows = await conn.execute(select(LEAD.c.id, LEAD.c.time_zone).where(LEAD.c.id.in_(list(ids))))
    return {r["id"]: r for r in rows.mappings().all()}
