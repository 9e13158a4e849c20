"""Templates, the message outbox and the stop list in the database.

:func:`queue_message` writes the message row (and its history line) in the caller's transaction:
a script action that sends an SMS and the answer that triggered it are committed together, or
neither is. Everything that can be wrong with a message is found here, before the row exists: the
template, the lead, the address, the stop lists, a channel for the project; nothing is queued
half-way. The sender (:mod:`sms_email.sender`) takes it from there.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.config_channels import ChannelSettings, SmtpSettings
from dialer.errors import FieldError, NotFound, Rejected
from dialer.leads.phones import PhoneError, normalize
from dialer.storage.tables import (
    DNC,
    LEAD,
    LEAD_EVENT,
    MESSAGE,
    MESSAGE_STOP,
    MESSAGE_TEMPLATE,
    OPERATOR,
    PROJECT,
)
from dialer.storage.types import utcnow
from sms_email import templates
from sms_email.channels import channel_for
from sms_email.schema import (
    MessageIn,
    MessageOut,
    PreviewIn,
    PreviewOut,
    SmsSize,
    StopAdded,
    StopIn,
    TemplateBody,
    TemplateOut,
)
from sms_email.segments import Segments, segments
from sms_email.smtp import new_message_id

ATTACHMENTS_MAX = 5 * 1024 * 1024


async def project_row(conn: AsyncConnection, slug: str) -> Mapping[Any, Any]:
    row = (await conn.execute(select(PROJECT).where(PROJECT.c.slug == slug))).mappings().first()
    if row is None:
        raise NotFound(f"no project {slug!r}")
    return row


def _size(seg: Segments | None) -> SmsSize | None:
    if seg is None:
        return None
    return SmsSize(
        encoding=seg.encoding, length=seg.length, parts=seg.parts, per_part=seg.per_part, left=seg.left
    )


def _template_out(row: Mapping[Any, Any]) -> TemplateOut:
    return TemplateOut(
        name=row["name"],
        medium=row["medium"],
        body=row["body"],
        subject=row["subject"],
        html=row["html"],
        updated_at=row["updated_at"],
        sms=_size(segments(row["body"])) if row["medium"] == "sms" else None,
    )


def _as_template(row: Mapping[Any, Any]) -> templates.TemplateIn:
    return templates.TemplateIn(row["medium"], row["body"], row["subject"], row["html"])


async def save_template(
    conn: AsyncConnection, project_id: int, name: str, body: TemplateBody, *, now: datetime | None = None
) -> tuple[TemplateOut, bool]:
    """Create or replace the template ``name``; refused, every problem listed, when it is wrong.
    Returns it and whether it was created."""
    now = now or utcnow()
    problems = templates.check(templates.TemplateIn(body.medium, body.body, body.subject, body.html))
    if problems:
        raise Rejected(f"template {name!r} was not saved", problems)
    values = {"medium": body.medium, "body": body.body, "subject": body.subject, "html": body.html}
    where = (MESSAGE_TEMPLATE.c.project_id == project_id, MESSAGE_TEMPLATE.c.name == name)
    changed = await conn.execute(update(MESSAGE_TEMPLATE).where(*where).values(**values, updated_at=now))
    created = changed.rowcount == 0
    if created:
        await conn.execute(
            insert(MESSAGE_TEMPLATE).values(
                project_id=project_id, name=name, **values, created_at=now, updated_at=now
            )
        )
    return await get_template(conn, project_id, name), created


async def _template_row(conn: AsyncConnection, project_id: int, name: str) -> Mapping[Any, Any]:
    row = (
        (
            await conn.execute(
                select(MESSAGE_TEMPLATE).where(
                    MESSAGE_TEMPLATE.c.project_id == project_id, MESSAGE_TEMPLATE.c.name == name
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no template {name!r} in this project")
    return row


async def get_template(conn: AsyncConnection, project_id: int, name: str) -> TemplateOut:
    return _template_out(await _template_row(conn, project_id, name))


async def list_templates(conn: AsyncConnection, project_id: int) -> list[TemplateOut]:
    rows = await conn.execute(
        select(MESSAGE_TEMPLATE)
        .where(MESSAGE_TEMPLATE.c.project_id == project_id)
        .order_by(MESSAGE_TEMPLATE.c.name)
    )
    return [_template_out(r) for r in rows.mappings().all()]


async def delete_template(conn: AsyncConnection, project_id: int, name: str) -> None:
    gone = await conn.execute(
        delete(MESSAGE_TEMPLATE).where(
            MESSAGE_TEMPLATE.c.project_id == project_id, MESSAGE_TEMPLATE.c.name == name
        )
    )
    if gone.rowcount == 0:
        raise NotFound(f"no template {name!r} in this project")


async def _lead_row(conn: AsyncConnection, project_id: int, external_id: str) -> Mapping[Any, Any]:
    row = (
        (
            await conn.execute(
                select(LEAD).where(LEAD.c.project_id == project_id, LEAD.c.external_id == external_id)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no lead {external_id!r} in this project")
    return row


async def _variables(
    conn: AsyncConnection,
    project: Mapping[Any, Any],
    lead: Mapping[Any, Any] | None,
    answers: Mapping[Any, Any],
    operator: str | None,
) -> dict[str, Any]:
    name = None
    if operator:
        name = (await conn.execute(select(OPERATOR.c.name).where(OPERATOR.c.login == operator))).scalar()
    who = {"login": operator or "", "name": name or operator or ""}
    return templates.context(lead, answers=answers, operator=who, project=project)


async def preview(
    conn: AsyncConnection, project: Mapping[Any, Any], name: str, request: PreviewIn
) -> PreviewOut:
    """The template filled for a lead (or with no lead), with the SMS's size."""
    row = await _template_row(conn, project["id"], name)
    lead = await _lead_row(conn, project["id"], request.lead) if request.lead else None
    variables = await _variables(conn, project, lead, request.answers, request.operator)
    if lead is None:
        variables["lead"] = _Placeholders("lead")
    out = templates.render(_as_template(row), variables, name=name)
    return PreviewOut(body=out.body, subject=out.subject, html=out.html, sms=_size(out.segments))


class _Placeholders(dict[str, Any]):
    """With no lead to fill a preview, ``{{ lead.name }}`` shows as ``[lead.name]``."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def __getitem__(self, key: str) -> Any:
        return _Placeholders(f"{self.path}.{key}")

    def __contains__(self, key: object) -> bool:
        return True

    def __str__(self) -> str:
        return f"[{self.path}]"

    def __iter__(self) -> Any:
        return iter(())


def _recipient(
    medium: str, request: MessageIn, lead: Mapping[Any, Any] | None, project: Mapping[Any, Any]
) -> str:
    if medium == "sms":
        phones = list((lead or {}).get("phones") or [])
        raw = request.to or next((p for p in phones if p not in _bad(lead)), None)
        if not raw and phones:
            marks = "; ".join(f"{p}: {_bad(lead)[p]}" for p in phones)
            raise Rejected("every phone of the lead could not be reached before", [_no("to", marks)])
        if not raw:
            raise Rejected("no phone to send the SMS to", [_no("to", "the lead has no phone; give to")])
        try:
            return normalize(raw, project["region"])
        except PhoneError as exc:
            raise Rejected("not a phone an SMS can go to", [_no("to", f"{raw!r}: {exc}")]) from None
    raw = request.to or str(((lead or {}).get("data") or {}).get("email") or "")
    if not raw:
        raise Rejected("no address to send the email to", [_no("to", "give to, or the lead's data.email")])
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise Rejected("not an email address", [_no("to", f"{raw!r}: {exc}")]) from None


def _no(field: str, problem: str) -> FieldError:
    expected = {"to": "a phone (SMS) or an email address the client can receive"}.get(field)
    return FieldError(field=field, problem=problem, expected=expected)


def _bad(lead: Mapping[Any, Any] | None) -> dict[str, str]:
    return dict((lead or {}).get("bad_contacts") or {})


async def stopped(conn: AsyncConnection, project_id: int | None, medium: str, address: str) -> str | None:
    """Why ``address`` may get no ``medium`` message of the project, or None. A phone on the
    do-not-call list gets no SMS either: it asked to be left alone."""
    row = (
        await conn.execute(
            select(MESSAGE_STOP.c.reason).where(
                MESSAGE_STOP.c.medium == medium,
                MESSAGE_STOP.c.address == address,
                or_(MESSAGE_STOP.c.project_id == project_id, MESSAGE_STOP.c.project_id.is_(None)),
            )
        )
    ).first()
    if row is not None:
        return f"{address} is on the {medium} stop list" + (f" ({row.reason})" if row.reason else "")
    if medium == "sms":
        dnc = (
            await conn.execute(
                select(DNC.c.reason).where(
                    DNC.c.phone == address, or_(DNC.c.project_id == project_id, DNC.c.project_id.is_(None))
                )
            )
        ).first()
        if dnc is not None:
            return f"{address} is on the do-not-call list" + (f" ({dnc.reason})" if dnc.reason else "")
    return None


def _attachments(request: MessageIn, medium: str) -> list[dict[str, str]]:
    if not request.attachments:
        return []
    if medium != "email":
        raise Rejected(
            "an SMS has no attachments", [_no("attachments", "remove them or use an email template")]
        )
    out, total = [], 0
    for i, item in enumerate(request.attachments):
        try:
            total += len(base64.b64decode(item.content, validate=True))
        except (binascii.Error, ValueError):
            raise Rejected(
                "an attachment is not base64", [_no(f"attachments.{i}.content", "not base64")]
            ) from None
        out.append({"filename": item.filename, "content_type": item.content_type, "content": item.content})
    if total > ATTACHMENTS_MAX:
        raise Rejected("the attachments are too large", [_no("attachments", f"{total} bytes; at most 5 MiB")])
    return out


async def queue_message(
    conn: AsyncConnection,
    channels: Mapping[str, ChannelSettings],
    project: Mapping[Any, Any],
    lead_external_id: str | None,
    request: MessageIn,
    *,
    now: datetime | None = None,
) -> tuple[MessageOut, bool]:
    """Queue the template for the lead, in the caller's transaction; returns it and whether it is new
    (False: the idempotency key named an earlier message, which is returned unchanged)."""
    now = now or utcnow()
    if request.idempotency_key:
        earlier = await _by_key(conn, project["id"], request.idempotency_key)
        if earlier is not None:
            return earlier, False
    template = await _template_row(conn, project["id"], request.template)
    medium = template["medium"]
    lead = await _lead_row(conn, project["id"], lead_external_id) if lead_external_id else None
    recipient = _recipient(medium, request, lead, project)
    if recipient in _bad(lead):
        reason = _bad(lead)[recipient]
        raise Rejected(
            f"{recipient} could not be reached before", [_no("to", f"marked on the lead: {reason}")]
        )
    why = await stopped(conn, project["id"], medium, recipient)
    if why:
        raise Rejected("the client asked not to get these messages", [_no("to", why)])
    variables = await _variables(conn, project, lead, request.answers, request.operator)
    rendered = templates.render(_as_template(template), variables)
    channel = channel_for(channels, project["slug"], medium)
    settings = channels[channel]
    row = {
        "project_id": project["id"],
        "lead_id": lead["id"] if lead else None,
        "medium": medium,
        "channel": channel,
        "template": request.template,
        "recipient": recipient,
        "subject": rendered.subject,
        "body": rendered.body,
        "html": rendered.html,
        "attachments": _attachments(request, medium),
        "status": "queued",
        "idempotency_key": request.idempotency_key,
        "operator": request.operator,
        "message_id": new_message_id(settings) if isinstance(settings, SmtpSettings) else None,
        "parts": rendered.segments.parts if rendered.segments else None,
        "encoding": rendered.segments.encoding if rendered.segments else None,
        "tries": 0,
        "next_try_at": now,
        "not_after": now + timedelta(seconds=request.valid_for),
        "created_at": now,
    }
    try:
        async with conn.begin_nested():
            inserted = await conn.execute(insert(MESSAGE).values(**row).returning(MESSAGE.c.id))
            message_id = inserted.scalar_one()
    except IntegrityError:  # the same key, queued by a racing request a moment ago
        earlier = await _by_key(conn, project["id"], request.idempotency_key or "")
        if earlier is None:
            raise
        return earlier, False
    if lead is not None:
        detail = {"id": message_id, "medium": medium, "template": request.template, "status": "queued"}
        await conn.execute(
            insert(LEAD_EVENT).values(lead_id=lead["id"], at=now, kind="message", detail=detail)
        )
    return await get_message(conn, project["id"], message_id), True


async def queue_system_email(
    conn: AsyncConnection,
    channels: Mapping[str, ChannelSettings],
    *,
    to: str,
    subject: str,
    body: str,
    key: str,
    valid_for: timedelta = timedelta(hours=72),
    now: datetime | None = None,
) -> int:
    """An email of the console itself (an invitation, a password reset) to a person, through a
    channel that serves every project; queued in the caller's transaction. Returns its id."""
    now = now or utcnow()
    try:
        address = validate_email(to, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise Rejected("not an email address", [_no("email", f"{to!r}: {exc}")]) from None
    everyone = sorted(n for n, c in channels.items() if c.medium == "email" and not c.projects)
    if not everyone:
        raise Rejected(
            'no email channel serves the console: add a [channels.NAME] section with kind = "smtp" and '
            "no projects list to config.toml"
        )
    channel = everyone[0]
    settings = channels[channel]
    assert isinstance(settings, SmtpSettings)
    row: dict[str, Any] = {
        "project_id": None, "lead_id": None, "medium": "email", "channel": channel, "template": None,
        "recipient": address, "subject": subject, "body": body, "html": None, "attachments": [],
        "status": "queued", "idempotency_key": key,
        "message_id": new_message_id(settings),
        "tries": 0, "next_try_at": now, "not_after": now + valid_for, "created_at": now,
    }  # fmt: skip
    inserted = await conn.execute(insert(MESSAGE).values(**row).returning(MESSAGE.c.id))
    return int(inserted.scalar_one())


_OUT_COLUMNS = (*(c for c in MESSAGE.c if c.name not in ("html", "attachments")), LEAD.c.external_id)


def _message_out(row: Mapping[Any, Any]) -> MessageOut:
    return MessageOut(
        **{k: row[k] for k in MessageOut.model_fields if k not in ("lead", "next_try_at")},
        lead=row["external_id"],
        next_try_at=None if row["finished_at"] else row["next_try_at"],
    )


def _select_out() -> Any:
    return select(*_OUT_COLUMNS).outerjoin(LEAD, LEAD.c.id == MESSAGE.c.lead_id)


async def _by_key(conn: AsyncConnection, project_id: int, key: str) -> MessageOut | None:
    row = (
        (
            await conn.execute(
                _select_out().where(MESSAGE.c.project_id == project_id, MESSAGE.c.idempotency_key == key)
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else _message_out(row)


async def get_message(conn: AsyncConnection, project_id: int, message_id: int) -> MessageOut:
    row = (
        (
            await conn.execute(
                _select_out().where(MESSAGE.c.project_id == project_id, MESSAGE.c.id == message_id)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no message {message_id} in this project")
    return _message_out(row)


async def list_messages(
    conn: AsyncConnection,
    project_id: int,
    *,
    lead: str | None = None,
    status: Sequence[str] = (),
    limit: int = 100,
) -> list[MessageOut]:
    """The project's (or one lead's) messages, newest first."""
    query = _select_out().where(MESSAGE.c.project_id == project_id)
    if lead is not None:
        query = query.where(MESSAGE.c.lead_id == (await _lead_row(conn, project_id, lead))["id"])
    if status:
        query = query.where(MESSAGE.c.status.in_(list(status)))
    rows = await conn.execute(query.order_by(MESSAGE.c.id.desc()).limit(limit))
    return [_message_out(r) for r in rows.mappings().all()]


async def add_stops(
    conn: AsyncConnection, project: Mapping[Any, Any] | None, request: StopIn, *, now: datetime | None = None
) -> StopAdded:
    """Record that these phones or addresses get no more messages of the medium (for the project,
    or for all projects when ``project`` is None). Every address is checked first; all or nothing."""
    now = now or utcnow()
    region = project["region"] if project else "RU"
    addresses, problems = [], []
    for i, raw in enumerate(request.addresses):
        try:
            if request.medium == "sms":
                addresses.append(normalize(raw, region))
            else:
                addresses.append(validate_email(raw, check_deliverability=False).normalized)
        except (PhoneError, EmailNotValidError) as exc:
            problems.append(FieldError(field=f"addresses.{i}", problem=f"{raw!r}: {exc}"))
    if problems:
        raise Rejected("nothing was added to the stop list", problems)
    project_id = project["id"] if project else None
    scope = MESSAGE_STOP.c.project_id == project_id if project_id else MESSAGE_STOP.c.project_id.is_(None)
    existing = set(
        (
            await conn.execute(
                select(MESSAGE_STOP.c.address).where(
                    scope, MESSAGE_STOP.c.medium == request.medium, MESSAGE_STOP.c.address.in_(addresses)
                )
            )
        ).scalars()
    )
    added = list(dict.fromkeys(a for a in addresses if a not in existing))
    if added:
        await conn.execute(
            insert(MESSAGE_STOP),
            [
                {"project_id": project_id, "medium": request.medium, "address": a, "reason": request.reason,
                 "created_at": now}
                for a in added
            ],
        )  # fmt: skip
    return StopAdded(medium=request.medium, added=added, already=sorted(existing))
