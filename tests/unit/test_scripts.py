# ruff: noqa: RUF001, E501  (scripts written out as data, one step a line)
"""Scripts: the validator names every problem with its step; the runner, a pure function of the
inputs, reaches an end on every path of a valid script, never keeps answers of an abandoned branch,
and gives each action one key per call (hypothesis-generated graphs)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from scripts_crm.model import FieldSet, Script
from scripts_crm.runner import NEXT, Given, initial_fields, render, run
from scripts_crm.schema import text
from scripts_crm.validate import problems

FIELDS = FieldSet.model_validate({"fields": [
    {"name": "income", "type": "money", "label": {"ru": "Доход", "en": "Income"}, "required": True},
    {"name": "employer", "type": "text", "label": {"ru": "Работа"}, "default_from": "employer"},
    {"name": "consent", "type": "yes_no", "label": {"en": "SMS consent"}},
]})  # fmt: skip


def script(steps: list[dict[str, Any]], start: str = "hello") -> Script:
    return Script.model_validate({"name": "loans", "start": start, "steps": steps})


LOAN = script([
    {"id": "hello", "kind": "say", "text": {"ru": "Здравствуйте, {{ lead.name }}!"}, "next": "busy"},
    {"id": "busy", "kind": "question", "text": {"ru": "Удобно говорить?"}, "answers": [
        {"value": "yes", "label": {"ru": "Да"}, "next": "income"},
        {"value": "no", "label": {"ru": "Нет"}, "next": "later", "actions": [{"kind": "callback"}]},
    ]},
    {"id": "income", "kind": "question", "text": {"ru": "Ваш доход?"}, "field": "income", "next": "check"},
    {"id": "check", "kind": "branch", "rules": [
        {"when": [{"field": "income", "op": "between", "low": 30000}], "next": "sms"},
    ], "default": "refuse"},
    {"id": "sms", "kind": "question", "text": {"ru": "Отправить SMS со ссылкой?"}, "answers": [
        {"value": "yes", "label": {"ru": "Да"}, "next": "done",
         "actions": [{"kind": "send_message", "template": "link"}, {"kind": "set_field", "field": "consent", "value": True}]},
        {"value": "no", "label": {"ru": "Нет"}, "next": "done"},
    ]},
    {"id": "done", "kind": "end", "disposition": "completed", "actions": [{"kind": "mark_success"}]},
    {"id": "later", "kind": "end", "disposition": "callback"},
    {"id": "refuse", "kind": "end", "disposition": "not_interested"},
])  # fmt: skip


def test_the_sample_is_valid_and_runs_to_the_end_it_should() -> None:
    assert problems(LOAN, FIELDS, templates={"link"}) == []
    state = run(LOAN, [Given("hello"), Given("busy", "yes"), Given("income", "45 000"), Given("sms", "yes")])
    assert state.finished and state.disposition == "completed"
    assert state.path == ["hello", "busy", "income", "check", "sms", "done"]
    assert state.fields == {"income": "45 000", "consent": True}
    assert [f.key for f in state.actions] == ["sms/yes#0", "sms/yes#1", "done#0"]
    low = run(LOAN, [Given("hello"), Given("busy", "yes"), Given("income", "12000")])
    assert low.disposition == "not_interested" and not low.actions


def test_going_back_drops_the_abandoned_answers_and_their_actions() -> None:
    went = [Given("hello"), Given("busy", "no")]
    assert [f.key for f in run(LOAN, went).actions] == ["busy/no#0"]
    back = run(LOAN, went[:-1])
    assert back.current is not None and back.current.id == "busy" and back.answers == {} and not back.actions


def test_an_input_that_does_not_fit_is_refused_and_changes_nothing() -> None:
    state = run(LOAN, [Given("hello"), Given("busy", "maybe")])
    assert state.refused == "'maybe' is not an answer of step 'busy'" and state.current.id == "busy"
    state = run(LOAN, [Given("income", "1")])
    assert state.refused == "the call is at step 'hello', not 'income'"


def test_fields_start_from_saved_answers_then_the_leads_data() -> None:
    assert initial_fields(FIELDS, {"employer": "ООО Ромашка"}, {"income": 50000}) == {
        "income": 50000, "employer": "ООО Ромашка"}  # fmt: skip
    text = render("{{ lead.name }}, работа: {{ fields.employer }}, доход: {{ fields.income }}",
                  {"lead": {"name": "Иван"}, "fields": {"employer": "ООО"}})  # fmt: skip
    assert text == "Иван, работа: ООО, доход: —"


def test_every_problem_is_named_with_its_step() -> None:
    broken = script([
        {"id": "hello", "kind": "say", "text": {"ru": "{{ lead.nmae }} {{ fields.salary }} {{ boss }}"}, "next": "ask"},
        {"id": "ask", "kind": "question", "text": {"ru": "?"}, "answers": [
            {"value": "a", "label": {"ru": "А"}, "next": "nowhere"},
            {"value": "b", "label": {"ru": "Б"}, "next": "hello",
             "actions": [{"kind": "send_message", "template": "nope"}, {"kind": "set_field", "field": "x", "value": 1}]},
        ]},
        {"id": "orphan", "kind": "end", "disposition": "done"},
        {"id": "stuck", "kind": "branch", "rules": [{"when": [{"step": "hello", "op": "empty"}], "next": "stuck"}]},
        {"id": "ask", "kind": "end"},
    ])  # fmt: skip
    found = {(p.field, p.problem) for p in problems(broken, FIELDS, templates={"link"})}
    expected = {
        ("steps.ask", "two steps have this id"),
        ("steps.hello", "lead has no 'nmae' (pushed fields are lead.data.NAME)"),
        ("steps.hello", "no field 'salary' for the placeholder fields.salary"),
        ("steps.hello", "unknown placeholder 'boss'; use lead.…, fields.…, operator.name or project.name"),
        ("steps.ask", "leads to 'nowhere', which is not a step"),
        ("steps.ask", "sends template 'nope', which the project does not have"),
        ("steps.ask", "sets field 'x', which the project does not have"),
        ("steps.ask", "an end step needs a disposition"),
        ("steps.stuck", "a branch needs a default (where to go when no rule holds)"),
        ("steps.stuck", "tests the answer of 'hello', which asks nothing"),
        ("steps.orphan", "no way from the start reaches this step"),
        ("fields.income", "required, but no step asks for it or sets it"),
    }
    assert expected <= found, expected - found


def test_a_way_back_must_be_marked_as_a_loop() -> None:
    steps = [
        {"id": "hello", "kind": "question", "text": {"ru": "?"}, "answers": [
            {"value": "again", "label": {"ru": "Ещё раз"}, "next": "hello"},
            {"value": "bye", "label": {"ru": "Пока"}, "next": "end"}]},
        {"id": "end", "kind": "end", "disposition": "done"},
    ]  # fmt: skip
    assert [p.problem for p in problems(script(steps))] == [
        "goes back to 'hello': a loop; mark the way back loop: true if meant"
    ]
    steps[0]["answers"][0]["loop"] = True
    assert problems(script(steps)) == []
    assert run(script(steps), [Given("hello", "again"), Given("hello", "again")]).path == ["hello"] * 3


@st.composite
def graphs(draw: st.DrawFn) -> Script:
    """A valid script: every step leads only to later ones, the last ones end."""
    count = draw(st.integers(3, 14))
    ends = draw(st.integers(1, 3))
    steps: list[dict[str, Any]] = []
    for i in range(count):
        if i >= count - ends:
            steps.append({"id": f"s{i}", "kind": "end", "disposition": f"d{i}",
                          "actions": [{"kind": "mark_success"}] if draw(st.booleans()) else []})  # fmt: skip
            continue
        later = st.integers(i + 1, count - 1).map(lambda n: f"s{n}")
        kind = draw(st.sampled_from(["say", "question", "branch"]))
        if kind == "say":
            steps.append({"id": f"s{i}", "kind": "say", "text": {"en": "hi"}, "next": draw(later)})
        elif kind == "question":
            answers = [{"value": f"a{k}", "label": {"en": "?"}, "next": draw(later),
                        "actions": [{"kind": "set_outcome", "outcome": f"o{i}{k}"}]}
                       for k in range(draw(st.integers(1, 3)))]  # fmt: skip
            steps.append({"id": f"s{i}", "kind": "question", "text": {"en": "?"}, "answers": answers})
        else:
            rules = [{"when": [{"field": "f", "op": draw(st.sampled_from(["empty", "not_empty"]))}],
                      "next": draw(later)}] if draw(st.booleans()) else []  # fmt: skip
            steps.append({"id": f"s{i}", "kind": "branch", "rules": rules, "default": draw(later)})
    body = {"name": "generated", "start": "s0", "steps": steps}
    return Script.model_validate(body)


def _walk(generated: Script, choices: st.DataObject) -> tuple[list[Given], list[Any]]:
    inputs: list[Given] = []
    states = []
    for _ in range(len(generated.steps) + 1):
        state = run(generated, inputs)
        states.append(state)
        if state.finished:
            return inputs, states
        step = state.current
        assert step is not None
        value = NEXT if step.kind == "say" else choices.draw(st.sampled_from([a.value for a in step.answers]))
        inputs.append(Given(step.id, value))
    raise AssertionError("no end reached")


@settings(max_examples=150, deadline=None)
@given(graphs(), st.data())
def test_every_path_ends_answers_follow_the_path_and_actions_fire_once(
    generated: Script, data: st.DataObject
) -> None:
    reachable_only = [p for p in problems(generated) if "no way from the start" not in p.problem]
    assert reachable_only == []
    inputs, states = _walk(generated, data)
    final = states[-1]
    assert final.finished and final.disposition
    keys = [f.key for f in final.actions]
    assert len(keys) == len(set(keys))  # each action once per call
    for before, after in itertools.pairwise(states):
        assert [f.key for f in before.actions] == [f.key for f in after.actions][: len(before.actions)]
    # going back: the answers of what was dropped are gone, those kept are unchanged
    cut = data.draw(st.integers(0, len(inputs)))
    back = run(generated, inputs[:cut])
    assert set(back.answers) <= {g.step for g in inputs[:cut]}
    assert all(final.answers[k] == v for k, v in back.answers.items())


def test_the_committed_json_schema_is_the_models_and_the_sample_follows_it() -> None:
    root = Path(__file__).resolve().parents[2]
    assert (root / "docs/script.schema.json").read_text(encoding="utf-8") == text(), (
        "run: python -m scripts_crm.schema > docs/script.schema.json"
    )
    sample = Script.model_validate(
        json.loads((root / "dialer/demo/loan_script.json").read_text(encoding="utf-8"))
    )
    assert problems(sample, sample.fields, templates={"finish-link"}) == []


def test_a_script_of_thousands_of_steps_is_checked_without_recursion() -> None:
    steps = [{"id": f"s{i}", "kind": "say", "text": {"en": "."}, "next": f"s{i + 1}"} for i in range(3000)]
    steps.append({"id": "s3000", "kind": "end", "disposition": "done"})
    steps.append({"id": "stray", "kind": "say", "text": {"en": "."}, "next": "stray"})
    found = problems(script(steps, start="s0"))
    assert [(p.field, p.problem) for p in found] == [
        ("steps.stray", "no way from the start reaches this step")
    ]
