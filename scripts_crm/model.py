"""The exchange format of scripts and CRM fields: what a supervisor writes, what the API and the CLI
import and export as JSON (``docs/script.schema.json`` is generated from these models).

A *field set* is the project's CRM fields: typed, labelled in Russian and English, validated, with a
default taken from the lead's pushed data. A *script* is a graph of steps from ``start``:

- ``say``: text for the operator to read (placeholders ``{{ lead.name }}``, ``{{ lead.data.amount }}``,
  ``{{ fields.income }}``), then ``next``;
- ``question``: answer buttons (each with its ``next`` and actions), or a typed ``field`` with ``next``;
- ``branch``: rules over answers and field values, the first that holds decides, else ``default``;
- ``end``: the call's disposition.

Actions (on an answer or a step): send a message template, set a field, set the outcome, schedule a
callback pinned to the operator, mark the application successful. An edge that leads back to a step
already on the way (a loop) must say ``loop: true``: a loop nobody meant is a trap for the operator.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
StepId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
FieldType = Literal[
    "text", "long_text", "number", "money", "date", "datetime", "phone", "email", "select",
    "multi_select", "yes_no", "address",
]  # fmt: skip
FORMAT: Literal["dialer-script/1"] = "dialer-script/1"


class Strict(BaseModel):
    """No unknown keys and no coercion: ``"maximum": false`` or ``"required": 1`` are refused, as the
    JSON Schema says they should be."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Text(Strict):
    """Words in Russian and English; a side left out falls back to the other."""

    ru: str = ""
    en: str = ""

    def get(self, language: str) -> str:
        return (self.ru or self.en) if language == "ru" else (self.en or self.ru)


class Option(Strict):
    value: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    label: Text


class FieldDef(Strict):
    """One CRM field of the project."""

    name: Name
    type: FieldType
    label: Text
    required: bool = False
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1, le=10_000)
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = Field(
        default=None, max_length=500, description="a regular expression the text matches"
    )
    options: list[Option] = Field(default_factory=list, description="select and multi_select: the choices")
    default_from: str | None = Field(
        default=None, max_length=100, description="a key of the lead's pushed data that pre-fills the field"
    )


class FieldSet(Strict):
    fields: list[FieldDef] = Field(default_factory=list, max_length=500)


class SendMessage(Strict):
    kind: Literal["send_message"]
    template: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class SetField(Strict):
    kind: Literal["set_field"]
    field: Name
    value: Any


class SetOutcome(Strict):
    kind: Literal["set_outcome"]
    outcome: Annotated[str, StringConstraints(min_length=1, max_length=32)]


class ScheduleCallback(Strict):
    kind: Literal["callback"]
    pinned: bool = Field(default=True, description="pinned to the operator who took the call")
    after_minutes: int | None = Field(
        default=None, ge=1, le=60 * 24 * 60, description="None: the operator picks"
    )


class MarkSuccess(Strict):
    kind: Literal["mark_success"]


Action = Annotated[
    SendMessage | SetField | SetOutcome | ScheduleCallback | MarkSuccess, Field(discriminator="kind")
]


class Answer(Strict):
    """An answer button of a question."""

    value: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    label: Text
    next: StepId
    loop: bool = False
    actions: list[Action] = Field(default_factory=list)


class Condition(Strict):
    """What a branch rule tests: a field's value (or the answer given at a step)."""

    field: str | None = Field(default=None, description="a CRM field's name")
    step: StepId | None = Field(default=None, description="the answer given at this step")
    op: Literal["equals", "one_of", "between", "empty", "not_empty"]
    value: Any = None
    values: list[Any] = Field(default_factory=list)
    low: float | None = None
    high: float | None = None


class Rule(Strict):
    when: list[Condition] = Field(min_length=1, description="all must hold")
    next: StepId
    loop: bool = False


class Step(Strict):
    id: StepId
    kind: Literal["say", "question", "branch", "end"]
    title: Text | None = None
    text: Text | None = Field(default=None, description="say and question: what the operator reads")
    next: StepId | None = Field(default=None, description="say, and question with a typed field")
    loop: bool = False
    field: Name | None = Field(default=None, description="question: the CRM field typed in")
    answers: list[Answer] = Field(default_factory=list, description="question: the buttons")
    rules: list[Rule] = Field(default_factory=list, description="branch: tried in order")
    default: StepId | None = Field(default=None, description="branch: when no rule holds")
    actions: list[Action] = Field(default_factory=list, description="fired when the step is reached")
    disposition: str | None = Field(default=None, max_length=32, description="end: the call's outcome")


class Script(Strict):
    """A script as it is exchanged: the format tag, its name, the first step and the steps."""

    format: Literal["dialer-script/1"] = FORMAT
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    title: Text = Field(default_factory=Text)
    start: StepId
    steps: list[Step] = Field(min_length=1, max_length=5000)
    fields: FieldSet | None = Field(
        default=None, description="the project's CRM fields, when exported with them"
    )

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)
