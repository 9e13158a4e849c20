"""The scaling sweep of the pacing benchmark: a grid of call-centre shapes, predictive vs progressive.

    python bench/pacing.py --sweep                    # 4 seeds x 2-hour shifts per cell, 2 processes
    python bench/pacing.py --sweep --seeds 2 --hours 1

The grid crosses team size (3 to 300 operators) with the chance a person answers (0.03 to 0.6) at a
2-minute talk time, then varies one thing at a time around 30 and 100 operators at a 0.10 answer
rate: talk time and shape (20 s to 10 min, fixed to very spread), wrap-up (0 to 60 s), answering
machines and busy lines, ring-time shapes (quick and slow pick-ups), regime changes (the answer rate
collapsing or soaring after 20 minutes). Every shift starts cold: all operators free, nothing learned.

Small teams get more shifts per cell (``seeds_for``): their pooled rate is otherwise a handful of
abandons. Per cell: occupancy of predictive against the upper bound talk / (talk + wrap-up) and against
progressive; predictive's abandon rate pooled over the cell's shifts (abandons / human answers), the
95th percentile of single shifts and the share of shifts over the target. A line at the end names the
worst cells and whether any broke a rule (pooled abandons over the target, occupancy under progressive).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from pacing.simulate import Phase, Scenario, ShiftResult, simulate

TARGET = 0.03


@dataclass(frozen=True)
class Cell:
    label: str
    scenario: Scenario


def cells() -> list[Cell]:
    grid = [
        Cell(f"{n:>3} ops, answer {p:.2f}", Scenario(f"grid {n} {p}", n, (Phase(0, p),)))
        for n in (3, 10, 30, 100, 300)
        for p in (0.03, 0.10, 0.25, 0.60)
    ]
    variations: list[tuple[str, dict[str, object]]] = [
        ("talk 20 s cv 0.5, wrap 5 s", {"talk_mean": 20.0, "talk_cv": 0.5, "wrap_mean": 5.0}),
        ("talk 60 s fixed", {"talk_mean": 60.0, "talk_cv": 0.0}),
        ("talk 10 min cv 1.5", {"talk_mean": 600.0, "talk_cv": 1.5}),
        ("wrap-up 0 s", {"wrap_mean": 0.0}),
        ("wrap-up 60 s cv 0.5", {"wrap_mean": 60.0, "wrap_cv": 0.5}),
        (
            "machines 0.25 (AMD 3 s), busy 0.15",
            {"phases": (Phase(0, 0.10, machine=0.25, busy=0.15),), "amd_delay": 3.0},
        ),
        ("quick pick-up: ring 3 s cv 0.3", {"ring_mean": 3.0, "ring_cv": 0.3}),
        ("slow pick-up: ring 15 s cv 1.0", {"ring_mean": 15.0, "ring_cv": 1.0}),
        ("answer 0.30 -> 0.05 at 20 min", {"phases": (Phase(0, 0.30), Phase(1200, 0.05))}),
        ("answer 0.05 -> 0.30 at 20 min", {"phases": (Phase(0, 0.05), Phase(1200, 0.30))}),
    ]
    around = []
    for n in (30, 100):
        base = Scenario(f"vary {n}", n, (Phase(0, 0.10),))
        for label, change in variations:
            scenario = replace(base, name=f"vary {n} {label}", **change)  # type: ignore[arg-type]
            around.append(Cell(f"{n:>3} ops, answer 0.10, {label}", scenario))
    return grid + around


def seeds_for(cell: Cell, seeds: int) -> int:
    """Small teams answer few calls per shift (3 operators: about 150 in two hours, where one abandon
    moves the rate by 0.7 points), so they get more shifts for the same confidence in the pooled rate."""
    return seeds * max(1, round(30 / cell.scenario.operators))


def summarise(cell: Cell, predictive: list[ShiftResult], progressive: list[ShiftResult]) -> dict[str, float]:
    answers = sum(r.answers for r in predictive)
    abandons = sum(r.abandons for r in predictive)
    rates = np.array([r.abandon_rate for r in predictive])
    return {
        "occupancy": float(np.mean([r.occupancy for r in predictive])),
        "progressive": float(np.mean([r.occupancy for r in progressive])),
        "bound": cell.scenario.upper_bound if cell.scenario.wrap_mean > 0 else 1.0,
        "pooled": abandons / answers if answers else 0.0,
        "p95": float(np.percentile(rates, 95)),
        "over": float((rates > TARGET).mean()),
    }


def report(all_cells: list[Cell], results: list[ShiftResult]) -> None:
    print(f"\n{'cell':<58} {'occupancy':>9} {'bound':>6} {'progr.':>6} {'pooled':>7} {'p95':>6} {'>3%':>4}")
    rows = []
    for cell in all_cells:
        mine = [r for r in results if r.scenario == cell.scenario.name]
        row = summarise(
            cell,
            [r for r in mine if r.strategy == "predictive"],
            [r for r in mine if r.strategy == "progressive"],
        )
        rows.append((cell, row))
        print(
            f"{cell.label:<58} {row['occupancy']:9.3f} {row['bound']:6.3f} {row['progressive']:6.3f} "
            f"{row['pooled']:7.2%} {row['p95']:6.2%} {row['over']:4.0%}"
        )
    over = [c.label for c, r in rows if r["pooled"] > TARGET]
    under = [c.label for c, r in rows if r["occupancy"] < r["progressive"] - 0.005]
    worst_abandon = max(rows, key=lambda cr: cr[1]["pooled"])
    worst_gain = min(rows, key=lambda cr: cr[1]["occupancy"] - cr[1]["progressive"])
    worst_share = min(rows, key=lambda cr: cr[1]["occupancy"] / cr[1]["bound"])
    print(
        f"\nworst pooled abandon rate: {worst_abandon[0].label.strip()} ({worst_abandon[1]['pooled']:.2%});"
        f"\nsmallest gain over progressive: {worst_gain[0].label.strip()} "
        f"({worst_gain[1]['occupancy']:.3f} vs {worst_gain[1]['progressive']:.3f});"
        f"\nfarthest from the bound: {worst_share[0].label.strip()} "
        f"({worst_share[1]['occupancy']:.3f} of {worst_share[1]['bound']:.3f})"
    )
    print(f"cells over the {TARGET:.0%} target pooled: {over or 'none'}")
    print(f"cells under progressive's occupancy: {under or 'none'}")


def run_one(job: tuple[Scenario, str, int]) -> ShiftResult:
    scenario, strategy, seed = job
    return simulate(scenario, strategy, seed)
