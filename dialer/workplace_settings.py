# ruff: noqa: RUF001
"""A project's rules for its operators' workplace: the outcomes they record a call with, the reasons
they pause with, how the client's number is shown, and the lender's portal.

An outcome (*disposition*) has a code the project chooses, words in Russian and English, what it does
to the lead (``effect``: the engine's :data:`~dialer.engine.attempts.DispositionOutcome`), whether it
counts as a successful application, and optional reasons (not interested: "the rate is too high").
A project that set none gets :data:`DEFAULT_DISPOSITIONS`. The portal's address is a template with
``{external_id}``, ``{name}``, ``{phone}`` and ``{data.KEY}`` placeholders, each filled URL-encoded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from dialer.errors import FieldError, Rejected, field_errors

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Effect = Literal["completed", "not_interested", "wrong_number", "callback", "retry"]
NO_OUTCOME = "no_outcome"  # what a call gets when its operator recorded nothing in time


class Words(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ru: str = Field(default="", max_length=100)
    en: str = Field(default="", max_length=100)

    def get(self, language: str) -> str:
        return (self.ru or self.en) if language == "ru" else (self.en or self.ru)


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: Code
    label: Words


class DispositionCode(BaseModel):
    """One outcome an operator can record."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: Code
    label: Words
    effect: Effect
    success: bool = False
    reasons: list[Reason] = Field(default_factory=list, max_length=30)


class PauseReason(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: Code
    label: Words


def _w(ru: str, en: str) -> Words:
    return Words(ru=ru, en=en)


DEFAULT_DISPOSITIONS: tuple[DispositionCode, ...] = (
    DispositionCode(code="application_completed", label=_w("Заявка дополнена", "Application completed"),
                    effect="completed", success=True),
    DispositionCode(code="callback", label=_w("Перезвонить", "Call back"), effect="callback"),
    DispositionCode(code="not_interested", label=_w("Не интересно", "Not interested"),
                    effect="not_interested",
                    reasons=[Reason(code="rate", label=_w("Высокая ставка", "The rate is too high")),
                             Reason(code="got_loan", label=_w("Уже взял заём", "Already has a loan")),
                             Reason(code="did_not_apply", label=_w("Не оставлял заявку", "Did not apply")),
                             Reason(code="other", label=_w("Другое", "Other"))]),
    DispositionCode(code="wrong_number", label=_w("Неверный номер", "Wrong number"), effect="wrong_number"),
    DispositionCode(code="no_person", label=_w("Не тот человек / не может говорить",
                                               "Not the person / cannot talk"), effect="retry"),
)  # fmt: skip
DEFAULT_PAUSE_REASONS: tuple[PauseReason, ...] = (
    PauseReason(code="break", label=_w("Перерыв", "Break")),
    PauseReason(code="lunch", label=_w("Обед", "Lunch")),
    PauseReason(code="training", label=_w("Обучение", "Training")),
    PauseReason(code="meeting", label=_w("Совещание", "Meeting")),
    PauseReason(code="technical", label=_w("Технические проблемы", "Technical problem")),
)
_DISPOSITIONS = TypeAdapter(list[DispositionCode])
_PAUSES = TypeAdapter(list[PauseReason])
PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[A-Za-z0-9_-]+)?)\}")
LEAD_NAMES = {"external_id", "name", "phone"}


def dispositions_of(project: Mapping[str, Any]) -> list[DispositionCode]:
    stored = project.get("dispositions")
    return _DISPOSITIONS.validate_python(stored) if stored else list(DEFAULT_DISPOSITIONS)


def pause_reasons_of(project: Mapping[str, Any]) -> list[PauseReason]:
    stored = project.get("pause_reasons")
    return _PAUSES.validate_python(stored) if stored else list(DEFAULT_PAUSE_REASONS)


def parse_dispositions(payload: Any) -> list[DispositionCode]:
    """The project's outcomes from JSON; :class:`Rejected` naming what does not fit."""
    return _parse_list(_DISPOSITIONS, payload, "dispositions", "outcome")


def parse_pause_reasons(payload: Any) -> list[PauseReason]:
    """The project's pause reasons from JSON; :class:`Rejected` naming what does not fit."""
    return _parse_list(_PAUSES, payload, "pause_reasons", "reason")


def _parse_list(adapter: TypeAdapter[list[Any]], payload: Any, where: str, what: str) -> list[Any]:
    """A non-empty list of items with codes used once each."""
    try:
        items = adapter.validate_python(payload)
    except ValidationError as exc:
        raise Rejected(f"the {where} were rejected", field_errors(exc)) from None
    problems = _unique([item.code for item in items], where)
    if not items:
        problems.append(FieldError(field=where, problem=f"at least one {what} is needed"))
    if problems:
        raise Rejected(f"the {where} were rejected", problems)
    return items


def _unique(codes: list[str], where: str) -> list[FieldError]:
    seen: set[str] = set()
    repeated = sorted({c for c in codes if c in seen or seen.add(c)})  # type: ignore[func-returns-value]
    return [FieldError(field=where, problem=f"the code {c!r} is used twice") for c in repeated]


def check_portal_url(template: str) -> list[FieldError]:
    """Problems of a portal address template (empty when it is fine)."""
    problems = []
    parts = urlsplit(PLACEHOLDER.sub("x", template))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        example = "https://portal.example.com/applications/{external_id}"
        problems.append(FieldError(field="portal_url", problem="not an http(s) address", expected=example))
    if "{" in urlsplit(template).netloc:
        problems.append(
            FieldError(field="portal_url", problem="placeholders are allowed after the host only")
        )
    for name in PLACEHOLDER.findall(template):
        if name not in LEAD_NAMES and not name.startswith("data."):
            problems.append(FieldError(field="portal_url", problem=f"unknown placeholder {{{name}}}",
                                       expected="{external_id}, {name}, {phone} or {data.KEY}"))  # fmt: skip
    return problems


def portal_url(template: str, lead: Mapping[str, Any]) -> str:
    """The portal's address for ``lead`` (its ``external_id``, ``name``, ``phones``, ``data``); a value
    the lead lacks is left empty."""

    def value(match: re.Match[str]) -> str:
        name = match[1]
        if name == "phone":
            found: Any = (lead.get("phones") or [""])[0]
        elif name.startswith("data."):
            found = (lead.get("data") or {}).get(name[5:], "")
        else:
            found = lead.get(name) or ""
        return quote(str(found), safe="")

    return PLACEHOLDER.sub(value, template)


def portal_origin(template: str) -> str | None:
    """``scheme://host[:port]`` of the portal (for the frame policy and ``postMessage``)."""
    parts = urlsplit(PLACEHOLDER.sub("x", template))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def masked(phone: str) -> str:
    """``+7 ••• •••-45-67``: the country code and the last four digits."""
    digits = phone.lstrip("+")
    if len(digits) <= 4:
        return phone
    country = digits[:1] if digits.startswith("7") or digits.startswith("1") else digits[:2]
    return f"+{country} ••• •••-{digits[-4:-2]}-{digits[-2:]}"


LIMITS = {  # setting -> (least, most) seconds
    "wrap_up_extension": (5, 600),
    "disposition_limit": (10, 3600),
    "away_limit": (10, 3600),
}


def parse_settings(form: Mapping[str, str]) -> tuple[dict[str, Any], list[FieldError]]:
    """The workplace settings typed in a form (text values; the outcomes and pause reasons as JSON):
    the values to store and every problem, each naming its setting."""
    values: dict[str, Any] = {}
    problems: list[FieldError] = []
    portal = form.get("portal_url", "").strip()
    problems += check_portal_url(portal) if portal else []
    values["portal_url"] = portal or None
    values["mask_phones"] = form.get("mask_phones") in ("on", "true", "1")
    values["manual_calls"] = form.get("manual_calls") in ("on", "true", "1")
    for name, (least, most) in LIMITS.items():
        raw = form.get(name, "").strip()
        try:
            number = int(raw)
        except ValueError:
            problems.append(FieldError(field=name, problem=f"{raw!r} is not a whole number of seconds"))
            continue
        if not least <= number <= most:
            problems.append(
                FieldError(field=name, problem=f"{number} is out of range", expected=f"{least}-{most}")
            )
        values[name] = number
    for name, parse in (("dispositions", parse_dispositions), ("pause_reasons", parse_pause_reasons)):
        raw = form.get(name, "").strip()
        if not raw:
            values[name] = None  # the defaults
            continue
        try:
            parsed = parse(json.loads(raw))
        except json.JSONDecodeError as exc:
            problems.append(FieldError(field=name, problem=f"not JSON: {exc.msg} at line {exc.lineno}"))
            continue
        except Rejected as exc:
            problems += [FieldError(field=e.field if e.field.startswith(name) else f"{name}.{e.field}",
                                    problem=e.problem, expected=e.expected) for e in exc.errors]  # fmt: skip
            continue
        values[name] = [item.model_dump() for item in parsed]
    return values, problems


def as_json(items: list[DispositionCode] | list[PauseReason]) -> str:
    """The outcomes or reasons as the settings form shows them (indented JSON)."""
    return json.dumps([item.model_dump() for item in items], ensure_ascii=False, indent=1)
