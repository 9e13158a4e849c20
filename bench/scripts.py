"""Scripts benchmark: validating and walking large scripts.

    python bench/scripts.py                 # 500 and 2,000 steps, 20 rounds each

A generated script of N steps (questions with three answers, branches over a field, say steps,
ends) is validated as a save would (every check, placeholders included), drawn and rendered as the
console's editor page (the forms of every step and the diagram), and walked from the start to an end
by the runner, as the workplace does after each answer. Prints p50/p99 per size.
"""

from __future__ import annotations

import argparse
import random
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialer.accounts.people import Person, Role
from dialer.web.render import TEMPLATES
from scripts_crm.diagram import layout
from scripts_crm.form import KINDS, to_form
from scripts_crm.model import FieldSet, Script
from scripts_crm.runner import NEXT, Given, run
from scripts_crm.validate import problems

FIELDS = FieldSet.model_validate({"fields": [{"name": "income", "type": "money", "label": {"en": "Income"}}]})


def generated(size: int, rng: random.Random) -> Script:
    steps: list[dict[str, Any]] = []
    for i in range(size - 3):
        later = [f"s{min(size - 1, i + k)}" for k in (1, 2, 3)]
        kind = ("say", "question", "branch")[i % 3]
        if kind == "say":
            text = {"ru": "Шаг {{ lead.name }} {{ fields.income }}", "en": "Step"}
            steps.append({"id": f"s{i}", "kind": "say", "text": text, "next": later[0]})
        elif kind == "question":
            answers = [{"value": f"a{k}", "label": {"en": f"A{k}"}, "next": later[k]} for k in range(3)]
            steps.append({"id": f"s{i}", "kind": "question", "text": {"en": "?"}, "answers": answers})
        else:
            rule = {
                "when": [{"field": "income", "op": "between", "low": rng.randint(0, 50_000)}],
                "next": later[1],
            }
            steps.append({"id": f"s{i}", "kind": "branch", "rules": [rule], "default": later[0]})
    steps += [{"id": f"s{size - 3 + k}", "kind": "end", "disposition": f"d{k}"} for k in range(3)]
    return Script.model_validate({"name": "big", "start": "s0", "steps": steps})


def walk(script: Script) -> int:
    given: list[Given] = []
    while True:
        state = run(script, given, fields={"income": 30_000})
        if state.finished:
            return len(given)
        step = state.current
        assert step is not None
        given.append(Given(step.id, NEXT if step.kind == "say" else step.answers[0].value))


def editor_page(script: Script) -> str:
    """The editor's page as the console renders it (forms of every step, the diagram, no problems)."""
    person = Person(1, "olga", "Olga", Role.SUPERVISOR, None, frozenset({1}), True, "ru", False)
    return TEMPLATES.get_template("console/script.html").render(
        person=person, csrf="x", language="ru", path="/", Role=Role, project={"slug": "p", "name": "P"},
        name=script.name, start=script.start, title={}, rows=to_form(script), kinds=KINDS,
        diagram=layout(script), problems=[], tab="scripts", versions=[], version=1, saved=None, changes=None,
    )  # fmt: skip


def pct(samples: list[float]) -> str:
    a = np.asarray(samples) * 1000
    return f"p50 {np.percentile(a, 50):7.2f} ms  p99 {np.percentile(a, 99):7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="500,2000")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(7)
    print(f"command: python {shlex.join(sys.argv)}")
    for size in (int(s) for s in args.sizes.split(",")):
        script = generated(size, rng)
        checks, steps, walks, pages = [], [], [], []
        for _ in range(args.rounds):
            began = time.perf_counter()
            found = problems(script, FIELDS, templates=set())
            checks.append(time.perf_counter() - began)
            assert not found, found[:3]
            began = time.perf_counter()
            editor_page(script)
            pages.append(time.perf_counter() - began)
            began = time.perf_counter()
            inputs = walk(script)
            walks.append(time.perf_counter() - began)
            steps.append(inputs)
        print(f"{size:>6} steps: validate {pct(checks)}; editor page {pct(pages)}; walk to an end "
              f"({steps[0]} answers, the state recomputed after each) {pct(walks)}")  # fmt: skip


if __name__ == "__main__":
    main()
