"""Turning CSV rows into lead payloads: column mapping, several phone columns, the rest into ``data``.

Default mapping: a column named like a lead field (``external_id``, ``phone``, ``phones``, ``name``,
``priority``, ``time_zone``, ``expires_at``, ``campaign``) fills it; ``phone2``..``phone5`` add
numbers; ``phones`` may hold several separated by ``,`` ``;`` or ``|``; every other non-empty column
goes into ``data`` under its own name. ``--map COLUMN=FIELD`` overrides (``FIELD`` may be
``data.KEY`` or ``ignore``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.accounts.projects import ProjectRef
from dialer.errors import DialerError
from dialer.leads import store
from dialer.storage import writing

FIELDS = ("external_id", "phone", "phones", "name", "priority", "time_zone", "expires_at", "campaign")
_SPLIT = re.compile(r"[,;|]")
_EXTRA_PHONE = re.compile(r"^phone_?[2-5]$")


class MappingError(DialerError):
    """A ``--map`` option or the file's header cannot be used."""


def parse_maps(options: Sequence[str], header: Sequence[str]) -> dict[str, str]:
    """Column -> target (``FIELDS``, ``data.KEY`` or ``ignore``) for every column of ``header``."""
    targets: dict[str, str] = {}
    for column in header:
        lowered = column.strip().lower()
        if lowered in FIELDS:
            targets[column] = lowered
        elif _EXTRA_PHONE.match(lowered):
            targets[column] = "phone"
        else:
            targets[column] = f"data.{column.strip()}"
    problems = []
    for option in options:
        column, sep, target = option.partition("=")
        column, target = column.strip(), target.strip()
        if not sep or not column or not target:
            problems.append(f"--map {option!r}: expected COLUMN=FIELD")
        elif column not in targets:
            problems.append(
                f"--map {option!r}: no column {column!r} in the file; columns: {', '.join(header)}"
            )
        elif (
            target not in FIELDS
            and target != "ignore"
            and not (target.startswith("data.") and len(target) > 5)
        ):
            problems.append(
                f"--map {option!r}: unknown field {target!r}; fields: {', '.join(FIELDS)}, data.KEY, ignore"
            )
        else:
            targets[column] = target
    if problems:
        raise MappingError("\n".join(problems))
    columns = ", ".join(header)
    if "external_id" not in targets.values():
        raise MappingError(f"no column gives external_id; use --map COLUMN=external_id (columns: {columns})")
    if not {"phone", "phones"} & set(targets.values()):
        raise MappingError(
            f"no column gives a phone; name one with --map COLUMN=phone (columns: {', '.join(header)})"
        )
    return targets


def to_payload(
    row: Mapping[str, str | None], targets: Mapping[str, str], campaign: str | None
) -> dict[str, Any]:
    """The API payload for one CSV row (validation happens later, as for the API)."""
    payload: dict[str, Any] = {}
    phones: list[str] = []
    data: dict[str, str] = {}
    for column, target in targets.items():
        value = (row.get(column) or "").strip()
        if not value or target == "ignore":
            continue
        if target == "phone":
            phones.append(value)
        elif target == "phones":
            phones.extend(p.strip() for p in _SPLIT.split(value) if p.strip())
        elif target.startswith("data."):
            data[target[5:]] = value
        elif target == "priority":
            payload["priority"] = int(value) if re.fullmatch(r"-?\d{1,6}", value) else value
        else:
            payload[target] = value
    payload["phones"] = phones
    if data:
        payload["data"] = data
    if campaign is not None and "campaign" not in payload:
        payload["campaign"] = campaign
    return payload


CHUNK = 1000


@dataclass
class ImportReport:
    """What an import did: counts by result, and every rejected row with its line and reason."""

    header: list[str]
    totals: dict[str, int] = field(
        default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    )
    rejected: list[dict[str, Any]] = field(default_factory=list)  # the row's columns + line, reason


def sniff(text: str) -> str:
    """The separator the header line uses most (``,`` ``;`` tab ``|``); data rows are too irregular
    (addresses with commas, ragged rows) for :class:`csv.Sniffer` to be trusted."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


async def import_text(
    engine: AsyncEngine,
    project: ProjectRef,
    text: str,
    *,
    maps: Sequence[str] = (),
    campaign: str | None = None,
    delimiter: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Store every valid row of a CSV text (header first) in chunks; rejected rows never stop the
    valid ones. :class:`MappingError` when the header cannot be used at all."""
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter or sniff(text))
    header = list(reader.fieldnames or [])
    if not header:
        raise MappingError("empty file; the first line must name the columns")
    targets = parse_maps(maps, header)
    report = ImportReport(header)
    chunk: list[tuple[int, dict[str, str | None], dict[str, Any]]] = []
    for row in reader:
        extra = row.pop(None, None)
        chunk.append((reader.line_num, row, to_payload(row, targets, campaign) if not extra else {}))
        if len(chunk) >= CHUNK:
            await _store(engine, project, chunk, report)
            if progress is not None:
                progress(reader.line_num)
            chunk = []
    if chunk:
        await _store(engine, project, chunk, report)
    return report


async def _store(
    engine: AsyncEngine,
    project: ProjectRef,
    chunk: list[tuple[int, dict[str, str | None], dict[str, Any]]],
    report: ImportReport,
) -> None:
    async with writing(engine) as conn:
        result = await store.upsert_many(conn, project, [payload for _, _, payload in chunk])
    for (line, row, payload), outcome in zip(chunk, result.rows, strict=True):
        if outcome.result is not None:
            report.totals[outcome.result.value] += 1
            continue
        report.totals["rejected"] += 1
        if not payload:
            reason = "more values than columns in the header"
        else:
            reason = "; ".join(
                f"{e.field}: {e.problem}" + (f" (expected {e.expected})" if e.expected else "")
                for e in outcome.errors
            )
        report.rejected.append({**row, "line": line, "reason": reason})
