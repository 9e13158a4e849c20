"""Message templates: Jinja2 in a sandbox with strict undefined, checked when saved.

A template sees four names: ``lead`` (``external_id``, ``name``, ``phone``, ``phones``, ``email``,
``status``, ``data``: the fields pushed over the API), ``answers`` (the CRM answers of the call),
``operator`` (``login``, ``name``) and ``project`` (``slug``, ``name``). Saving refuses a template that
does not parse, names anything else, or asks ``lead``, ``operator`` or ``project`` for an attribute
they do not have: ``{{ lead.nmae }}`` is a typo found by the person who wrote it, not by a client who
received "Hello ," at 9 pm. What cannot be known when saving (a key of ``lead.data`` or ``answers``
that this lead lacks) is an error when the message is queued, naming the key; nothing is queued then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from jinja2 import StrictUndefined, TemplateError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from dialer.errors import FieldError, Rejected
from sms_email.segments import Segments, segments

Medium = Literal["sms", "email"]
OBJECTS: dict[str, frozenset[str] | None] = {
    "lead": frozenset({"external_id", "name", "phone", "phones", "email", "status", "data"}),
    "operator": frozenset({"login", "name"}),
    "project": frozenset({"slug", "name"}),
    "answers": None,  # any key: the CRM fields are the project's own
}
SMS_MAX = 1000  # characters SMSC.ru accepts in one message (it splits it into parts)
EMAIL_MAX = 1_000_000


class Fields(dict[str, Any]):
    """A mapping a template reads (``lead.data``, ``answers``), named in the error for a missing key."""

    def __init__(self, values: Mapping[str, Any], path: str) -> None:
        super().__init__(values)
        self.path = path


class _Missing(StrictUndefined):
    @property
    def _undefined_message(self) -> str:
        owner = self._undefined_obj
        if isinstance(owner, Fields):
            return f"{owner.path} has no {self._undefined_name!r}"
        return str(super()._undefined_message)


_TEXT = SandboxedEnvironment(undefined=_Missing, autoescape=False, keep_trailing_newline=True)
_HTML = SandboxedEnvironment(undefined=_Missing, autoescape=True, keep_trailing_newline=True)


@dataclass(frozen=True)
class TemplateIn:
    """What a person writes: the medium, the email's subject and HTML part, the text."""

    medium: Medium
    body: str
    subject: str | None = None
    html: str | None = None


@dataclass(frozen=True)
class Rendered:
    body: str
    subject: str | None
    html: str | None
    segments: Segments | None  # SMS only


def check(template: TemplateIn) -> list[FieldError]:
    """Every problem of the template, each naming its part (body, subject, html); empty when fine."""
    problems: list[FieldError] = []
    if template.medium == "email" and not (template.subject or "").strip():
        problems.append(FieldError(field="subject", problem="an email needs a subject"))
    if template.medium == "sms" and (template.subject or template.html):
        problems.append(FieldError(field="subject", problem="an SMS has no subject or HTML part"))
    if not template.body.strip():
        problems.append(FieldError(field="body", problem="empty; write the text the client receives"))
    for part, source, env in (
        ("body", template.body, _TEXT),
        ("subject", template.subject, _TEXT),
        ("html", template.html, _HTML),
    ):
        if source:
            problems.extend(_check_source(part, source, env))
    return problems


def _check_source(part: str, source: str, env: SandboxedEnvironment) -> list[FieldError]:
    try:
        tree = env.parse(source)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        return [FieldError(field=part, problem=f"does not parse{where}: {exc.message or exc}")]
    problems = []
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for name in sorted({n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"} - assigned):
        if name not in OBJECTS:
            problems.append(
                FieldError(
                    field=part,
                    problem=f"unknown variable {name!r}",
                    expected="one of "
                    + ", ".join(OBJECTS)
                    + " (e.g. {{ lead.name }}, {{ lead.data.amount }})",
                )
            )
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, (nodes.Getattr, nodes.Getitem))
        target = node.node
        if not isinstance(target, nodes.Name) or target.name in assigned:
            continue
        allowed = OBJECTS.get(target.name)
        key = node.attr if isinstance(node, nodes.Getattr) else _constant(node.arg)
        if allowed is None or key is None or key in allowed:
            continue
        problems.append(
            FieldError(
                field=part,
                problem=f"{target.name} has no {key!r}",
                expected=", ".join(sorted(allowed))
                + (" (pushed fields are lead.data.NAME)" if target.name == "lead" else ""),
            )
        )
    return problems


def _constant(arg: nodes.Node) -> str | None:
    return str(arg.value) if isinstance(arg, nodes.Const) else None


def context(
    lead: Mapping[str, Any] | None,
    *,
    answers: Mapping[str, Any] | None = None,
    operator: Mapping[str, Any] | None = None,
    project: Mapping[str, Any],
) -> dict[str, Any]:
    """The variables a template sees, from a lead row (or None for a message to no lead)."""
    lead_vars: dict[str, Any] = {}
    if lead is not None:
        data = dict(lead.get("data") or {})
        phones = list(lead.get("phones") or [])
        lead_vars = {
            "external_id": lead.get("external_id"),
            "name": lead.get("name") or "",
            "phone": phones[0] if phones else "",
            "phones": phones,
            "email": data.get("email", ""),
            "status": lead.get("status"),
            "data": Fields(data, "lead.data"),
        }
    return {
        "lead": lead_vars,
        "answers": Fields(answers or {}, "answers"),
        "operator": dict(operator or {"login": "", "name": ""}),
        "project": {"slug": project.get("slug"), "name": project.get("name")},
    }


def render(template: TemplateIn, variables: Mapping[str, Any], *, name: str = "template") -> Rendered:
    """The message for these variables; :class:`Rejected` naming the missing value or the fault."""
    try:
        body = _TEXT.from_string(template.body).render(variables)
        subject = _TEXT.from_string(template.subject).render(variables) if template.subject else None
        html = _HTML.from_string(template.html).render(variables) if template.html else None
    except UndefinedError as exc:
        raise Rejected(
            f"template {name!r} needs a value this lead does not have: {exc.message}",
            [FieldError(field="template", problem=str(exc.message), expected="the lead's data to carry it")],
        ) from None
    except SecurityError as exc:
        raise Rejected(f"template {name!r} tried something unsafe: {exc}") from None
    except TemplateError as exc:
        raise Rejected(f"template {name!r} failed: {exc}") from None
    if subject is not None:
        subject = " ".join(subject.split())  # a header is one line
    if template.medium == "sms":
        if len(body) > SMS_MAX:
            raise Rejected(
                f"the SMS is {len(body)} characters; at most {SMS_MAX}",
                [FieldError(field="template", problem=f"{len(body)} characters", expected=f"<= {SMS_MAX}")],
            )
        return Rendered(body, None, None, segments(body))
    if len(body) + len(html or "") > EMAIL_MAX:
        raise Rejected(f"the email is larger than {EMAIL_MAX} characters")
    return Rendered(body, subject, html, None)
