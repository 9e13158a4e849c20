"""Running a script: a pure function from what the operator has given so far to where the call is.

Theory of operation
-------------------
The state of a call's script is never stored as a cursor: it is recomputed, each time, from the
script version the call started with, the lead, and the list of :class:`Given` inputs in order (the
operator's "next" on a say step, the button pressed on a question, the value typed). Walking from
``start``, each input must belong to the step reached; branch steps decide by themselves (their rules
over the field values and answers so far, else the default); the walk stops at the first step that
waits for the operator, or at an end.

Going back is dropping the last input: the answers of the abandoned branch are simply not in the
new state, so they are never saved and what they would send is never sent. The actions on the way
are returned with a stable key (``step`` or ``step/answer``, with their index): the caller fires
each key once per call, so a retry, a double click or a reload never fires twice, and an action of
a branch not taken never fires at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from scripts_crm.model import Action, Condition, FieldSet, Script, SetField, Step

NEXT = "next"  # what a say step is given
MAX_STEPS = 10_000  # a walk longer than this is a loop the validator let through (never expected)


@dataclass(frozen=True)
class Given:
    """One input of the operator: at ``step``, the answer's value, the typed value, or ``"next"``."""

    step: str
    value: Any = NEXT


@dataclass(frozen=True)
class Fired:
    key: str
    action: Action


@dataclass(frozen=True)
class State:
    """Where the call is: the step waiting (None when ended), the steps walked, the answers and field
    values in force, the actions on the way, the end's disposition."""

    current: Step | None
    path: list[str]
    answers: dict[str, Any]
    fields: dict[str, Any]
    actions: list[Fired] = field(default_factory=list)
    disposition: str | None = None
    refused: str | None = None  # why an input was not taken (the state is the one before it)

    @property
    def finished(self) -> bool:
        return self.current is None


class ScriptError(Exception):
    """The script itself cannot be run (it did not pass validation)."""


def initial_fields(
    fields: FieldSet | None, lead_data: Mapping[str, Any], saved: Mapping[str, Any]
) -> dict[str, Any]:
    """Field values at the start of the call: saved answers, else the lead's pushed data."""
    values: dict[str, Any] = {}
    for f in fields.fields if fields else []:
        if f.name in saved:
            values[f.name] = saved[f.name]
        elif f.default_from and f.default_from in lead_data:
            values[f.name] = lead_data[f.default_from]
    return values


def run(script: Script, given: Sequence[Given], *, fields: Mapping[str, Any] | None = None) -> State:
    """The state after ``given``, from the field values ``fields`` the call started with. An input
    that does not fit is not taken: ``refused`` says why and the state is the one before it."""
    by_id = {s.id: s for s in script.steps}
    values = dict(fields or {})
    answers: dict[str, Any] = {}
    path: list[str] = []
    fired: list[Fired] = []
    inputs = list(given)
    step = _step(by_id, script.start)
    while len(path) < MAX_STEPS:
        path.append(step.id)
        fired += [Fired(f"{step.id}#{i}", a) for i, a in enumerate(step.actions)]
        _apply(step.actions, values)
        if step.kind == "end":
            return State(None, path, answers, values, fired, step.disposition)
        if step.kind == "branch":
            step = _step(by_id, _decide(step, values, answers))
            continue
        if not inputs:
            return State(step, path, answers, values, fired)
        given_now = inputs.pop(0)
        refused = _refusal(step, given_now)
        if refused:
            return State(step, path, answers, values, fired, refused=refused)
        if step.kind == "say":
            step = _step(by_id, step.next)
            continue
        answers[step.id] = given_now.value
        if step.field:
            values[step.field] = given_now.value
            step = _step(by_id, step.next)
            continue
        answer = next(a for a in step.answers if a.value == given_now.value)
        fired += [Fired(f"{step.id}/{answer.value}#{i}", a) for i, a in enumerate(answer.actions)]
        _apply(answer.actions, values)
        step = _step(by_id, answer.next)
    raise ScriptError(f"more than {MAX_STEPS} steps without an end: an unmarked loop")


def _step(by_id: Mapping[str, Step], step_id: str | None) -> Step:
    if step_id is None or step_id not in by_id:
        raise ScriptError(f"no step {step_id!r}")
    return by_id[step_id]


def _refusal(step: Step, given: Given) -> str | None:
    if given.step != step.id:
        return f"the call is at step {step.id!r}, not {given.step!r}"
    if step.kind == "question" and not step.field and given.value not in {a.value for a in step.answers}:
        return f"{given.value!r} is not an answer of step {step.id!r}"
    return None


def _apply(actions: Sequence[Action], values: dict[str, Any]) -> None:
    for action in actions:
        if isinstance(action, SetField):
            values[action.field] = action.value


def _decide(step: Step, values: Mapping[str, Any], answers: Mapping[str, Any]) -> str | None:
    for rule in step.rules:
        if all(_holds(c, values, answers) for c in rule.when):
            return rule.next
    return step.default


def _holds(condition: Condition, values: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    value = answers.get(condition.step) if condition.step else values.get(condition.field or "")
    empty = value is None or value in ("", [])
    if condition.op == "empty":
        return empty
    if condition.op == "not_empty":
        return not empty
    if condition.op == "equals":
        return _same(value, condition.value)
    if condition.op == "one_of":
        return any(_same(value, v) for v in condition.values)
    number = _number(value)
    if number is None:
        return False
    return (condition.low is None or number >= condition.low) and (
        condition.high is None or number <= condition.high
    )


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    na, nb = _number(a), _number(b)
    return (na is not None and na == nb) or str(a).strip().lower() == str(b).strip().lower()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(str(value).replace(",", ".").replace(" ", ""))
    except ValueError:
        return None


class _Dash(ChainableUndefined):
    """A value the lead or the call does not have yet reads as a dash, never as an error."""

    def __str__(self) -> str:
        return "—"


_TEXT = SandboxedEnvironment(undefined=_Dash, autoescape=False)


def render(text: str, variables: Mapping[str, Any]) -> str:
    """A step's text with its placeholders filled (sandboxed); what is missing shows as ``—``."""
    try:
        return _TEXT.from_string(text).render(variables)
    except TemplateError as exc:  # validation refuses these; a text saved before a change still shows
        return f"{text} [{exc}]"
