"""Checking answers against the project's CRM fields: each value typed and within its limits, or a
problem naming the field. Numbers accept the ways people type them ("45 000", "45,5")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from email_validator import EmailNotValidError, validate_email

from dialer.errors import FieldError
from dialer.leads.phones import PhoneError, normalize
from scripts_crm.model import FieldDef, FieldSet

YES = {"yes", "true", "1", "да", "y"}
NO = {"no", "false", "0", "нет", "n"}


def checked(
    fields: FieldSet, values: Mapping[str, Any], *, region: str = "RU"
) -> tuple[dict[str, Any], list[FieldError]]:
    """The values as they are kept (numbers as numbers, phones in E.164, ...) and every problem."""
    known = {f.name: f for f in fields.fields}
    clean: dict[str, Any] = {}
    problems: list[FieldError] = []
    for name, raw in values.items():
        definition = known.get(name)
        if definition is None:
            problems.append(FieldError(field=name, problem="the project has no such field"))
            continue
        if raw is None or raw in ("", []):
            if definition.required:
                problems.append(FieldError(field=name, problem="required"))
            else:
                clean[name] = None
            continue
        try:
            clean[name] = _value(definition, raw, region)
        except ValueError as exc:
            problems.append(FieldError(field=name, problem=str(exc), expected=_expected(definition)))
    return clean, problems


def _value(f: FieldDef, raw: Any, region: str) -> Any:  # noqa: PLR0911 (one return per type)
    if f.type in ("number", "money"):
        return _number(f, raw)
    if f.type == "yes_no":
        word = str(raw).strip().lower()
        if isinstance(raw, bool):
            return raw
        if word in YES or word in NO:
            return word in YES
        raise ValueError(f"{raw!r} is neither yes nor no")
    if f.type == "date":
        return date.fromisoformat(str(raw).strip()).isoformat()
    if f.type == "datetime":
        return datetime.fromisoformat(str(raw).strip()).isoformat()
    if f.type == "phone":
        try:
            return normalize(str(raw), region)
        except PhoneError as exc:
            raise ValueError(str(exc)) from None
    if f.type == "email":
        try:
            return validate_email(str(raw), check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(str(exc)) from None
    if f.type in ("select", "multi_select"):
        return _choice(f, raw)
    return _text(f, raw)


def _number(f: FieldDef, raw: Any) -> float | int:
    try:
        number = Decimal(str(raw).replace("\u00a0", "").replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"{raw!r} is not a number") from None
    if f.minimum is not None and number < Decimal(str(f.minimum)):
        raise ValueError(f"{number} is less than {f.minimum:g}")
    if f.maximum is not None and number > Decimal(str(f.maximum)):
        raise ValueError(f"{number} is more than {f.maximum:g}")
    return int(number) if number == number.to_integral_value() else float(number)


def _choice(f: FieldDef, raw: Any) -> Any:
    allowed = {o.value for o in f.options}
    chosen = raw if isinstance(raw, list) else [raw]
    if f.type == "select" and len(chosen) != 1:
        raise ValueError("choose one")
    wrong = [str(c) for c in chosen if str(c) not in allowed]
    if wrong:
        raise ValueError(f"not a choice: {', '.join(wrong)}")
    return [str(c) for c in chosen] if f.type == "multi_select" else str(chosen[0])


def _text(f: FieldDef, raw: Any) -> str:
    text = str(raw).strip()
    if f.min_length is not None and len(text) < f.min_length:
        raise ValueError(f"at least {f.min_length} characters")
    if f.max_length is not None and len(text) > f.max_length:
        raise ValueError(f"at most {f.max_length} characters")
    if f.pattern and re.fullmatch(f.pattern, text) is None:
        raise ValueError("does not match the field's pattern")
    return text


def _expected(f: FieldDef) -> str:
    if f.type in ("select", "multi_select"):
        return "one of " + ", ".join(o.value for o in f.options)
    if f.type in ("number", "money"):
        low = "" if f.minimum is None else f" from {f.minimum:g}"
        high = "" if f.maximum is None else f" to {f.maximum:g}"
        return f"a number{low}{high}"
    shapes = {"date": "a date like 2026-12-06", "datetime": "2026-12-06T10:00:00+03:00",
              "yes_no": "yes or no", "phone": "a phone number", "email": "an email address"}  # fmt: skip
    return shapes.get(f.type, f.label.en or f.label.ru)
