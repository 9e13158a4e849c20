"""Turning CSV rows into lead payloads: column mapping, several phone columns, the rest into ``data``.

Default mapping: a column named like a lead field (``external_id``, ``phone``, ``phones``, ``name``,
``priority``, ``time_zone``, ``expires_at``, ``campaign``) fills it; ``phone2``..``phone5`` add
numbers; ``phones`` may hold several separated by ``,`` ``;`` or ``|``; every other non-empty column
goes into ``data`` under its own name. ``--map COLUMN=FIELD`` overrides (``FIELD`` may be
``data.KEY`` or ``ignore``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from dialer.errors import DialerError

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
