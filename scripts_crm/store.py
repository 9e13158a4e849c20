"""Scripts and CRM fields in the database: every save of a script is a new immutable version (checked
first against the project's fields and message templates), older ones can be read, compared and
brought back; a field set that would change the type of a field leads hold answers of is refused."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.errors import Conflict, NotFound, Rejected, field_errors
from dialer.storage.tables import FIELD_SET, LEAD, LEAD_ANSWER, MESSAGE_TEMPLATE, SCRIPT, SCRIPT_VERSION
from dialer.storage.types import utcnow
from scripts_crm.model import FieldSet, Script
from scripts_crm.validate import problems


@dataclass(frozen=True)
class VersionInfo:
    version: int
    created_at: datetime
    author: str | None
    note: str | None


def parse_script(payload: Any) -> Script:
    """A script from its JSON; :class:`Rejected` listing every field that does not fit the format."""
    try:
        return Script.model_validate(payload)
    except ValidationError as exc:
        raise Rejected("the script does not follow the format dialer-script/1", field_errors(exc)) from None


def parse_fields(payload: Any) -> FieldSet:
    try:
        return FieldSet.model_validate(payload)
    except ValidationError as exc:
        raise Rejected("the fields do not follow the format", field_errors(exc)) from None


async def get_fields(conn: AsyncConnection, project_id: int) -> FieldSet:
    body = (await conn.execute(select(FIELD_SET.c.body).where(FIELD_SET.c.project_id == project_id))).scalar()
    return FieldSet.model_validate(body) if body else FieldSet()


async def save_fields(
    conn: AsyncConnection, project_id: int, fields: FieldSet, *, now: datetime | None = None
) -> FieldSet:
    """Replace the project's fields; :class:`Conflict` (with the count of leads) when a field's type
    changes while leads hold answers of it: nothing is lost silently."""
    now = now or utcnow()
    names = [f.name for f in fields.fields]
    if len(names) != len(set(names)):
        raise Rejected("two fields have the same name", [])
    before = {f.name: f for f in (await get_fields(conn, project_id)).fields}
    for f in fields.fields:
        old = before.get(f.name)
        if old is None or old.type == f.type:
            continue
        held = (
            await conn.execute(
                select(func.count(func.distinct(LEAD_ANSWER.c.lead_id)))
                .join(LEAD, LEAD.c.id == LEAD_ANSWER.c.lead_id)
                .where(LEAD.c.project_id == project_id, LEAD_ANSWER.c.field == f.name)
            )
        ).scalar() or 0
        if held:
            raise Conflict(
                f"field {f.name!r} changes from {old.type} to {f.type} while {held} lead(s) hold answers of "
                "it; add a new field instead, or move the answers first"
            )
    body = fields.model_dump(mode="json")
    changed = await conn.execute(
        update(FIELD_SET).where(FIELD_SET.c.project_id == project_id).values(body=body, updated_at=now)
    )
    if not changed.rowcount:
        await conn.execute(insert(FIELD_SET).values(project_id=project_id, body=body, updated_at=now))
    return fields


async def templates_of(conn: AsyncConnection, project_id: int) -> set[str]:
    rows = await conn.execute(
        select(MESSAGE_TEMPLATE.c.name).where(MESSAGE_TEMPLATE.c.project_id == project_id)
    )
    return set(rows.scalars())


async def check(conn: AsyncConnection, project_id: int, script: Script) -> list[Any]:
    """The script's problems against this project's fields and templates (empty: it can be saved)."""
    fields = script.fields or await get_fields(conn, project_id)
    return problems(script, fields, await templates_of(conn, project_id))


async def save_script(
    conn: AsyncConnection,
    project_id: int,
    script: Script,
    *,
    author: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> int:
    """Save a new version (with the fields it carries, if any); :class:`Rejected` listing every
    problem when it is not valid, nothing saved. Returns the version number."""
    now = now or utcnow()
    found = await check(conn, project_id, script)
    if found:
        raise Rejected(f"script {script.name!r} has {len(found)} problem(s); nothing was saved", found)
    if script.fields is not None:
        await save_fields(conn, project_id, script.fields, now=now)
    body = script.model_copy(update={"fields": None}).model_dump(mode="json", exclude_none=True)
    row = (
        await conn.execute(select(SCRIPT.c.id, SCRIPT.c.current_version).where(
            SCRIPT.c.project_id == project_id, SCRIPT.c.name == script.name))
    ).first()  # fmt: skip
    if row is None:
        first = {"project_id": project_id, "name": script.name, "current_version": 1}
        new = insert(SCRIPT).values(**first, created_at=now, updated_at=now)
        script_id = (await conn.execute(new.returning(SCRIPT.c.id))).scalar_one()
        version = 1
    else:
        script_id = row.id
        latest = select(func.max(SCRIPT_VERSION.c.version)).where(SCRIPT_VERSION.c.script_id == script_id)
        version = int((await conn.execute(latest)).scalar() or 0) + 1
        await conn.execute(
            update(SCRIPT).where(SCRIPT.c.id == script_id).values(current_version=version, updated_at=now)
        )
    saved = {"script_id": script_id, "version": version, "body": body, "author": author, "note": note}
    await conn.execute(insert(SCRIPT_VERSION).values(**saved, created_at=now))
    return version


async def _script_id(conn: AsyncConnection, project_id: int, name: str) -> tuple[int, int]:
    row = (
        await conn.execute(
            select(SCRIPT.c.id, SCRIPT.c.current_version).where(
                SCRIPT.c.project_id == project_id, SCRIPT.c.name == name
            )
        )
    ).first()
    if row is None:
        raise NotFound(f"no script {name!r} in this project")
    return row.id, row.current_version


async def get_script(
    conn: AsyncConnection, project_id: int, name: str, version: int | None = None
) -> tuple[Script, int]:
    """The script as saved in ``version`` (default: the current one) and that version's number."""
    script_id, current = await _script_id(conn, project_id, name)
    wanted = version or current
    body = (
        await conn.execute(
            select(SCRIPT_VERSION.c.body).where(
                SCRIPT_VERSION.c.script_id == script_id, SCRIPT_VERSION.c.version == wanted
            )
        )
    ).scalar()
    if body is None:
        raise NotFound(f"script {name!r} has no version {wanted}")
    return Script.model_validate(body), wanted


async def list_scripts(conn: AsyncConnection, project_id: int) -> list[tuple[str, int, datetime]]:
    rows = await conn.execute(
        select(SCRIPT.c.name, SCRIPT.c.current_version, SCRIPT.c.updated_at)
        .where(SCRIPT.c.project_id == project_id)
        .order_by(SCRIPT.c.name)
    )
    return [(r.name, r.current_version, r.updated_at) for r in rows.all()]


async def versions(conn: AsyncConnection, project_id: int, name: str) -> list[VersionInfo]:
    script_id, _current = await _script_id(conn, project_id, name)
    rows = await conn.execute(
        select(
            SCRIPT_VERSION.c.version,
            SCRIPT_VERSION.c.created_at,
            SCRIPT_VERSION.c.author,
            SCRIPT_VERSION.c.note,
        )
        .where(SCRIPT_VERSION.c.script_id == script_id)
        .order_by(SCRIPT_VERSION.c.version.desc())
    )
    return [VersionInfo(*r) for r in rows.all()]


async def restore(
    conn: AsyncConnection, project_id: int, name: str, version: int, *, author: str | None = None
) -> int:
    """Bring an older version back as a new one (the history keeps every version)."""
    script, _ = await get_script(conn, project_id, name, version)
    return await save_script(conn, project_id, script, author=author, note=f"back to version {version}")


def diff(older: Script, newer: Script) -> list[str]:
    """What changed, step by step: steps added, removed, and the lines of each changed step."""
    lines: list[str] = []
    before = {s.id: s for s in older.steps}
    after = {s.id: s for s in newer.steps}
    if older.start != newer.start:
        lines.append(f"start: {older.start} -> {newer.start}")
    for step_id in after.keys() - before.keys():
        lines.append(f"+ step {step_id} ({after[step_id].kind})")
    for step_id in before.keys() - after.keys():
        lines.append(f"- step {step_id} ({before[step_id].kind})")
    for step_id in sorted(before.keys() & after.keys()):
        a, b = _lines(before[step_id]), _lines(after[step_id])
        if a != b:
            lines.append(f"~ step {step_id}")
            lines += [
                f"    {d}"
                for d in difflib.unified_diff(a, b, lineterm="", n=0)
                if not d.startswith(("---", "+++", "@@"))
            ]
    return lines


def _lines(step: Any) -> list[str]:
    plain = step.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    return json.dumps(plain, ensure_ascii=False, indent=1, sort_keys=True).splitlines()


@dataclass(frozen=True)
class AnswerLine:
    field: str
    value: Any
    previous: Any
    author: str | None
    call_id: str | None
    at: datetime


async def record_answers(
    conn: AsyncConnection,
    lead_id: int,
    values: dict[str, Any],
    *,
    author: str | None,
    call_id: str | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Keep the answers that changed (with the value each replaced); returns the fields written. The
    caller checks them against the field set first (:func:`scripts_crm.fields.checked`)."""
    now = now or utcnow()
    current = await current_answers(conn, lead_id)
    rows = [
        {"lead_id": lead_id, "field": name, "value": value, "previous": current.get(name), "author": author,
         "call_id": call_id, "at": now}
        for name, value in sorted(values.items())
        if name not in current or current[name] != value
    ]  # fmt: skip
    if rows:
        await conn.execute(insert(LEAD_ANSWER), rows)
    return [r["field"] for r in rows]


async def current_answers(conn: AsyncConnection, lead_id: int) -> dict[str, Any]:
    """Each field's latest answer for the lead."""
    rows = await conn.execute(
        select(LEAD_ANSWER.c.field, LEAD_ANSWER.c.value)
        .where(LEAD_ANSWER.c.lead_id == lead_id)
        .order_by(LEAD_ANSWER.c.id)
    )
    return dict(rows.all())


async def answer_history(conn: AsyncConnection, lead_id: int) -> list[AnswerLine]:
    rows = await conn.execute(
        select(LEAD_ANSWER.c.field, LEAD_ANSWER.c.value, LEAD_ANSWER.c.previous, LEAD_ANSWER.c.author,
               LEAD_ANSWER.c.call_id, LEAD_ANSWER.c.at)
        .where(LEAD_ANSWER.c.lead_id == lead_id)
        .order_by(LEAD_ANSWER.c.id)
    )  # fmt: skip
    return [AnswerLine(*r) for r in rows.all()]


async def lead_id_of(conn: AsyncConnection, project_id: int, external_id: str) -> int:
    found = (
        await conn.execute(
            select(LEAD.c.id).where(LEAD.c.project_id == project_id, LEAD.c.external_id == external_id)
        )
    ).scalar()
    if found is None:
        raise NotFound(f"no lead {external_id!r} in this project")
    return int(found)


async def answers_of(conn: AsyncConnection, lead_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each lead's latest answer per field (for exports)."""
    out: dict[int, dict[str, Any]] = {}
    if not lead_ids:
        return out
    rows = await conn.execute(
        select(LEAD_ANSWER.c.lead_id, LEAD_ANSWER.c.field, LEAD_ANSWER.c.value)
        .where(LEAD_ANSWER.c.lead_id.in_(lead_ids))
        .order_by(LEAD_ANSWER.c.id)
    )
    for lead_id, name, value in rows.all():
        out.setdefault(lead_id, {})[name] = value
    return out
