"""A script drawn as a graph: steps in columns by their distance from the start, edges labelled with
the answers (or ``then``, a rule's number, ``else``). Pure layout (sizes in SVG user units); the
console's editor renders it, marking the steps that have problems."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from scripts_crm.model import Script, Step

NODE_W, NODE_H = 150.0, 46.0
GAP_X, GAP_Y = 70.0, 22.0
MARGIN = 16.0


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    label: str
    x: float
    y: float
    problem: bool


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    x1: float
    y1: float
    x2: float
    y2: float
    back: bool  # drawn to an earlier column (a loop)


@dataclass(frozen=True)
class Diagram:
    nodes: list[Node]
    edges: list[Edge]
    width: float
    height: float


def _ways(step: Step) -> list[tuple[str, str]]:
    ways = []
    if step.next:
        ways.append((step.next, "→"))
    ways += [(a.next, a.value) for a in step.answers]
    ways += [(r.next, f"#{i + 1}") for i, r in enumerate(step.rules)]
    if step.default:
        ways.append((step.default, "else"))
    return ways


def _edges(step: Step, where: dict[str, tuple[float, float]], depth: dict[str, int]) -> list[Edge]:
    """One arrow to each step this one leads to (several answers to one step share it, labels joined)."""
    x, y = where[step.id]
    labels: dict[str, list[str]] = {}
    for target, label in _ways(step):
        if target in where:
            labels.setdefault(target, []).append(label)
    out = []
    for target, names in labels.items():
        tx, ty = where[target]
        back = depth[target] <= depth[step.id]
        out.append(
            Edge(step.id, target, ", ".join(names), x + NODE_W, y + NODE_H / 2, tx, ty + NODE_H / 2, back)
        )
    return out


def layout(script: Script, *, problem_steps: frozenset[str] = frozenset(), language: str = "ru") -> Diagram:
    """Columns by breadth-first distance from ``start``; steps nobody reaches in a last column."""
    by_id = {s.id: s for s in script.steps}
    depth: dict[str, int] = {}
    if script.start in by_id:
        depth[script.start] = 0
        queue = deque([script.start])
        while queue:
            current = queue.popleft()
            for target, _label in _ways(by_id[current]):
                if target in by_id and target not in depth:
                    depth[target] = depth[current] + 1
                    queue.append(target)
    last = max(depth.values(), default=-1) + 1
    for step in script.steps:
        depth.setdefault(step.id, last)
    columns: dict[int, list[str]] = {}
    for step in script.steps:
        columns.setdefault(depth[step.id], []).append(step.id)
    where: dict[str, tuple[float, float]] = {}
    for column, ids in columns.items():
        for row, step_id in enumerate(ids):
            where[step_id] = (MARGIN + column * (NODE_W + GAP_X), MARGIN + row * (NODE_H + GAP_Y))
    nodes = []
    for step in script.steps:
        x, y = where[step.id]
        title = step.title.get(language) if step.title else ""
        nodes.append(Node(step.id, step.kind, title or step.id, x, y, step.id in problem_steps))
    edges = [edge for step in script.steps for edge in _edges(step, where, depth)]
    width = MARGIN * 2 + (max(columns) + 1) * (NODE_W + GAP_X)
    height = MARGIN * 2 + max(len(ids) for ids in columns.values()) * (NODE_H + GAP_Y)
    return Diagram(nodes, edges, width, height)
