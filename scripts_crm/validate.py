"""Checking a script when it is saved: every problem, each naming its step, none silently accepted.

Found: steps with the same id; a missing ``start``; steps of the wrong shape (a question with neither
answers nor a field, a branch with no default, an end with no disposition); targets that do not
exist; unknown fields, templates and placeholders; conditions on steps that ask nothing; steps nobody
can reach; steps from which no end can be reached; loops not marked ``loop: true``; required fields
that no reachable step asks for or sets (and that the lead's data cannot fill).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from dialer.errors import FieldError
from scripts_crm.model import FieldSet, Script, SendMessage, SetField, Step

LEAD_ATTRIBUTES = frozenset({"external_id", "name", "phone", "phones", "email", "status", "data"})
OBJECTS = {"lead", "fields", "operator", "project"}
_ENV = SandboxedEnvironment()


def edges(step: Step) -> Iterator[tuple[str, bool]]:
    """(target, marked as a loop) of every way out of ``step``."""
    if step.next:
        yield step.next, step.loop
    for answer in step.answers:
        yield answer.next, answer.loop
    for rule in step.rules:
        yield rule.next, rule.loop
    if step.default:
        yield step.default, False


def problems(
    script: Script, fields: FieldSet | None = None, templates: Collection[str] | None = None
) -> list[FieldError]:
    """Every problem of ``script`` against the project's ``fields`` and message ``templates`` (None:
    not checked); empty when it can be saved."""
    found: list[FieldError] = []
    by_id: dict[str, Step] = {}
    for step in script.steps:
        if step.id in by_id:
            found.append(_at(step.id, "two steps have this id"))
        by_id[step.id] = step
    if script.start not in by_id:
        found.append(FieldError(field="start", problem=f"no step {script.start!r}"))
    known = {f.name: f for f in (fields.fields if fields else [])}
    for step in script.steps:
        found += _shape(step)
        for target, _loop in edges(step):
            if target not in by_id:
                found.append(_at(step.id, f"leads to {target!r}, which is not a step"))
        found += _references(step, by_id, known if fields is not None else None, templates)
    if script.start in by_id:
        found += _graph(script, by_id)
        if fields is not None:
            found += _required(script, by_id, fields)
    return found


def _at(step_id: str, problem: str) -> FieldError:
    return FieldError(field=f"steps.{step_id}", problem=problem)


def _shape(step: Step) -> list[FieldError]:
    problems_ = []
    if step.kind in ("say", "question") and (step.text is None or not (step.text.ru or step.text.en)):
        problems_.append(_at(step.id, "no text for the operator to read"))
    if step.kind == "say" and not step.next:
        problems_.append(_at(step.id, "a say step needs next"))
    if step.kind == "question":
        if bool(step.answers) == bool(step.field):
            problems_.append(_at(step.id, "a question has answer buttons or a typed field (one of them)"))
        if step.field and not step.next:
            problems_.append(_at(step.id, "a question with a typed field needs next"))
        values = [a.value for a in step.answers]
        if len(values) != len(set(values)):
            problems_.append(_at(step.id, "two answers have the same value"))
    if step.kind == "branch" and not step.default:
        problems_.append(_at(step.id, "a branch needs a default (where to go when no rule holds)"))
    if step.kind == "end":
        if not step.disposition:
            problems_.append(_at(step.id, "an end step needs a disposition"))
        if list(edges(step)):
            problems_.append(_at(step.id, "an end step leads nowhere"))
    return problems_


def _actions(step: Step) -> Iterator[Any]:
    yield from step.actions
    for answer in step.answers:
        yield from answer.actions


def _references(
    step: Step, by_id: dict[str, Step], fields: dict[str, Any] | None, templates: Collection[str] | None
) -> list[FieldError]:
    found = []
    if fields is not None and step.field and step.field not in fields:
        found.append(_at(step.id, f"asks for field {step.field!r}, which the project does not have"))
    for action in _actions(step):
        if isinstance(action, SetField) and fields is not None and action.field not in fields:
            found.append(_at(step.id, f"sets field {action.field!r}, which the project does not have"))
        if isinstance(action, SendMessage) and templates is not None and action.template not in templates:
            found.append(_at(step.id, f"sends template {action.template!r}, which the project does not have"))
    for rule in step.rules:
        for condition in rule.when:
            if condition.field is None and condition.step is None:
                found.append(_at(step.id, "a condition names neither a field nor a step"))
            if condition.field is not None and fields is not None and condition.field not in fields:
                found.append(
                    _at(step.id, f"tests field {condition.field!r}, which the project does not have")
                )
            if condition.step is not None:
                asked = by_id.get(condition.step)
                if asked is None or asked.kind != "question":
                    found.append(_at(step.id, f"tests the answer of {condition.step!r}, which asks nothing"))
    for text in (step.text, step.title):
        for source in (text.ru, text.en) if text else ():
            found += [_at(step.id, p) for p in _placeholders(source, fields)]
    return found


def _placeholders(source: str, fields: dict[str, Any] | None) -> list[str]:
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return [f"the text does not parse (line {exc.lineno}): {exc.message}"]
    found = []
    for name in sorted({n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"} - OBJECTS):
        found.append(f"unknown placeholder {name!r}; use lead.…, fields.…, operator.name or project.name")
    for node in tree.find_all(nodes.Getattr):
        if not isinstance(node.node, nodes.Name):
            continue
        if node.node.name == "lead" and node.attr not in LEAD_ATTRIBUTES:
            found.append(f"lead has no {node.attr!r} (pushed fields are lead.data.NAME)")
        if node.node.name == "fields" and fields is not None and node.attr not in fields:
            found.append(f"no field {node.attr!r} for the placeholder fields.{node.attr}")
    return found


def _graph(script: Script, by_id: dict[str, Step]) -> list[FieldError]:
    reached, found = _walk(script.start, by_id)
    for step in script.steps:
        if step.id not in reached:
            found.append(_at(step.id, "no way from the start reaches this step"))
    coming: dict[str, list[str]] = {}
    for step in script.steps:
        for target, _loop in edges(step):
            coming.setdefault(target, []).append(step.id)
    leads_to_end = {s.id for s in script.steps if s.kind == "end"}
    todo = list(leads_to_end)
    while todo:  # backwards from the ends
        for source in coming.get(todo.pop(), []):
            if source not in leads_to_end:
                leads_to_end.add(source)
                todo.append(source)
    for step in script.steps:
        if step.id in reached and step.id not in leads_to_end:
            found.append(_at(step.id, "no way from this step reaches an end"))
    return found


def _walk(start: str, by_id: dict[str, Step]) -> tuple[set[str], list[FieldError]]:
    """The steps reachable from ``start``, and the loops not marked as such: depth first without
    recursion (scripts of thousands of steps); an edge to a step still on the way down is a loop."""
    found: list[FieldError] = []
    reported: set[tuple[str, str]] = set()
    reached, on_way = {start}, {start}
    stack = [(start, iter(list(edges(by_id[start]))))]
    while stack:
        step_id, ways = stack[-1]
        for target, loop in ways:
            if target not in by_id:
                continue
            if target in on_way and not loop and (step_id, target) not in reported:
                reported.add((step_id, target))
                found.append(
                    _at(step_id, f"goes back to {target!r}: a loop; mark the way back loop: true if meant")
                )
            if target not in reached:
                reached.add(target)
                on_way.add(target)
                stack.append((target, iter(list(edges(by_id[target])))))
                break
        else:
            on_way.discard(step_id)
            stack.pop()
    return reached, found


def _required(script: Script, by_id: dict[str, Step], fields: FieldSet) -> list[FieldError]:
    asked = {s.field for s in script.steps if s.field}
    asked |= {a.field for s in script.steps for a in _actions(s) if isinstance(a, SetField)}
    return [
        FieldError(field=f"fields.{f.name}", problem="required, but no step asks for it or sets it")
        for f in fields.fields
        if f.required and f.name not in asked and not f.default_from
    ]
