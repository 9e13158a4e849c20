"""A script as the editor's forms show it, and back: one fieldset per step, with answers, rules and
actions written one a line (the editor's hints show the syntax).

- answers: ``value | label | next`` (add ``loop`` after next for a way back) ``| action; action``
- rules: ``income between 0 15000 -> lower_amount``, ``employer empty -> ask_employer``,
  ``step:identity equals confirmed and income not_empty -> next``
- actions: ``send_message TEMPLATE``, ``set_field NAME VALUE``, ``set_outcome OUTCOME``,
  ``callback [unpinned] [MINUTES]``, ``mark_success``

:func:`from_form` never raises for what a person typed: it returns the script's JSON (for the
format's own validation) and the problems of the lines it could not read, each naming its step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dialer.errors import FieldError
from scripts_crm.model import Action, Script, Step

KINDS = ("say", "question", "branch", "end")
OPS = ("equals", "one_of", "between", "empty", "not_empty")


def _value(text: str) -> Any:
    """A typed value: numbers and true/false as JSON, the rest as text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _action(spec: str) -> dict[str, Any]:
    words = spec.split()
    if not words:
        raise ValueError("an empty action")
    kind, rest = words[0], words[1:]
    if kind == "send_message" and len(rest) == 1:
        return {"kind": kind, "template": rest[0]}
    if kind == "set_field" and len(rest) >= 2:
        return {"kind": kind, "field": rest[0], "value": _value(" ".join(rest[1:]))}
    if kind == "set_outcome" and len(rest) == 1:
        return {"kind": kind, "outcome": rest[0]}
    if kind == "mark_success" and not rest:
        return {"kind": kind}
    if kind == "callback":
        out: dict[str, Any] = {"kind": kind, "pinned": "unpinned" not in rest}
        minutes = [w for w in rest if w.isdigit()]
        if minutes:
            out["after_minutes"] = int(minutes[0])
        return out
    raise ValueError(f"cannot read the action {spec!r}")


def _actions(text: str) -> list[dict[str, Any]]:
    return [_action(part.strip()) for part in text.replace("\n", ";").split(";") if part.strip()]


def _target(text: str) -> tuple[str, bool]:
    words = text.split()
    if not words:
        raise ValueError("no next step")
    return words[0], "loop" in words[1:]


def _answer(line: str) -> dict[str, Any]:
    parts = [p.strip() for p in line.split("|")]
    if len(parts) < 3:
        raise ValueError(f"an answer is value | label | next (| actions): {line!r}")
    target, loop = _target(parts[2])
    return {"value": parts[0], "label": {"ru": parts[1], "en": parts[1]}, "next": target, "loop": loop,
            "actions": _actions(parts[3]) if len(parts) > 3 else []}  # fmt: skip


def _condition(text: str) -> dict[str, Any]:
    words = text.split()
    if len(words) < 2 or words[1] not in OPS:
        raise ValueError(f"a condition is SUBJECT OP [VALUE]; OP one of {', '.join(OPS)}: {text!r}")
    subject, op, rest = words[0], words[1], words[2:]
    out: dict[str, Any] = {"op": op}
    if subject.startswith("step:"):
        out["step"] = subject[5:]
    else:
        out["field"] = subject
    if op == "equals":
        out["value"] = _value(" ".join(rest))
    elif op == "one_of":
        out["values"] = [_value(v.strip()) for v in " ".join(rest).split(",") if v.strip()]
    elif op == "between":
        if len(rest) not in (1, 2):
            raise ValueError(f"between takes LOW and optionally HIGH: {text!r}")
        out["low"], out["high"] = float(rest[0]), float(rest[1]) if len(rest) == 2 else None
    return out


def _rule(line: str) -> dict[str, Any]:
    if "->" not in line:
        raise ValueError(f"a rule is CONDITION [and CONDITION] -> next: {line!r}")
    when, _, then = line.rpartition("->")
    target, loop = _target(then)
    return {"when": [_condition(c.strip()) for c in when.split(" and ")], "next": target, "loop": loop}


def from_form(form: Mapping[str, str]) -> tuple[dict[str, Any], list[FieldError]]:
    """The script's JSON from the editor's fields, and the lines that could not be read."""
    problems: list[FieldError] = []
    steps = []
    count = int(form.get("count", "0") or 0)
    for i in range(min(count, 5000)):
        key = f"s{i}."
        if form.get(key + "delete") == "on":
            continue
        step_id = form.get(key + "id", "").strip() or f"step{i + 1}"
        step: dict[str, Any] = {"id": step_id, "kind": form.get(key + "kind", "say")}
        text = {"ru": form.get(key + "text_ru", "").strip(), "en": form.get(key + "text_en", "").strip()}
        if text["ru"] or text["en"]:
            step["text"] = text
        if form.get(key + "title", "").strip():
            step["title"] = {
                "ru": form.get(key + "title", "").strip(),
                "en": form.get(key + "title", "").strip(),
            }
        for name in ("field", "default", "disposition"):
            if form.get(key + name, "").strip():
                step[name] = form.get(key + name, "").strip()
        try:
            if form.get(key + "next", "").strip():
                step["next"], step["loop"] = _target(form.get(key + "next", ""))
            step["answers"] = [
                _answer(line) for line in form.get(key + "answers", "").splitlines() if line.strip()
            ]
            step["rules"] = [_rule(line) for line in form.get(key + "rules", "").splitlines() if line.strip()]
            step["actions"] = _actions(form.get(key + "actions", ""))
        except ValueError as exc:
            problems.append(FieldError(field=f"steps.{step_id}", problem=str(exc)))
        steps.append(step)
    title = {"ru": form.get("title_ru", "").strip(), "en": form.get("title_en", "").strip()}
    return {"format": "dialer-script/1", "name": form.get("name", "").strip(), "title": title,
            "start": form.get("start", "").strip(), "steps": steps}, problems  # fmt: skip


def _action_text(action: Action) -> str:
    data = action.model_dump(mode="json")
    kind = data.pop("kind")
    if kind == "callback":
        words = [] if data.get("pinned", True) else ["unpinned"]
        return " ".join(
            ["callback", *words, *([str(data["after_minutes"])] if data.get("after_minutes") else [])]
        )
    if kind == "set_field":
        return f"set_field {data['field']} {json.dumps(data['value'], ensure_ascii=False)}"
    return " ".join([kind, *(str(v) for v in data.values())])


def _condition_text(c: Any) -> str:
    subject = f"step:{c.step}" if c.step else c.field
    if c.op == "equals":
        shown = c.value if isinstance(c.value, str) else json.dumps(c.value, ensure_ascii=False)
        return f"{subject} equals {shown}"
    if c.op == "one_of":
        return f"{subject} one_of {', '.join(str(v) for v in c.values)}"
    if c.op == "between":
        return f"{subject} between {c.low:g}" + (f" {c.high:g}" if c.high is not None else "")
    return f"{subject} {c.op}"


def to_form(script: Script) -> list[dict[str, str]]:
    """One dict of field values a step for the editor's fieldsets."""
    out = []
    for step in script.steps:
        out.append(_step_form(step))
    return out


def _step_form(step: Step) -> dict[str, str]:
    loop = " loop" if step.loop else ""
    answers = [
        " | ".join([a.value, a.label.ru or a.label.en, a.next + (" loop" if a.loop else "")]
                   + (["; ".join(_action_text(x) for x in a.actions)] if a.actions else []))
        for a in step.answers
    ]  # fmt: skip
    rules = [" and ".join(_condition_text(c) for c in r.when) + f" -> {r.next}" + (" loop" if r.loop else "")
             for r in step.rules]  # fmt: skip
    return {
        "id": step.id, "kind": step.kind, "title": step.title.ru or step.title.en if step.title else "",
        "text_ru": step.text.ru if step.text else "", "text_en": step.text.en if step.text else "",
        "next": (step.next + loop) if step.next else "", "field": step.field or "",
        "default": step.default or "", "disposition": step.disposition or "",
        "answers": "\n".join(answers), "rules": "\n".join(rules),
        "actions": "; ".join(_action_text(a) for a in step.actions),
    }  # fmt: skip
