"""Pacing benchmark: strategies x scenarios x seeds of simulated shifts, and the cost of decide().

    python bench/pacing.py                       # everything: 20 seeds, 4-hour shifts, 2 processes
    python bench/pacing.py --seeds 5 --hours 1 --scenarios ten,five --strategies predictive
    python bench/pacing.py --decide-only         # only the decide() timing
    python bench/pacing.py --sweep               # the scaling sweep (bench/pacing_sweep.py)

Prints the command line, a table per scenario (occupancy = talk / logged-in time; abandon = abandons
per human answer per shift: mean, 95th percentile and share of shifts over 3 %; connects per operator
hour; mean wait of connected calls; peak lines in use; the upper bound talk / (talk + wrap-up)) and,
for scenarios with a regime change, the abandon rate in the hour after it.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pacing_sweep

from pacing import Snapshot, make_pacer
from pacing.events import CallEvent, EventKind
from pacing.simulate import Phase, Scenario, ShiftResult, simulate

SCENARIOS = {
    "ten": Scenario("10 operators, answer 0.25", 10, (Phase(0, 0.25),)),
    "fifty": Scenario("50 operators, answer 0.15", 50, (Phase(0, 0.15),)),
    "five": Scenario("5 operators, answer 0.40", 5, (Phase(0, 0.40),)),
    "fall": Scenario("20 operators, answer 0.35 -> 0.12 after 1 h", 20, (Phase(0, 0.35), Phase(3600, 0.12))),
    "rise": Scenario("20 operators, answer 0.12 -> 0.35 after 1 h", 20, (Phase(0, 0.12), Phase(3600, 0.35))),
    "machines": Scenario(
        "20 operators, human 0.20, machine 0.20 (AMD 2.5 s), busy 0.10, talk 90 s cv 1.2, wrap 20 s",
        20,
        (Phase(0, 0.20, machine=0.20, busy=0.10),),
        talk_mean=90.0,
        talk_cv=1.2,
        wrap_mean=20.0,
    ),
    "large": Scenario(
        "100 operators, answer 0.10, talk 60 s cv 0.8, wrap 10 s",
        100,
        (Phase(0, 0.10),),
        talk_mean=60.0,
        talk_cv=0.8,
        wrap_mean=10.0,
    ),
}
PROTOTYPE_OCCUPANCY = {
    "ten": 0.757,
    "fifty": 0.836,
    "five": 0.749,
    "fall": 0.794,
    "rise": 0.801,
    "machines": 0.720,
    "large": 0.815,  # the reference pacer of the issue that found the collapse
}


def run_one(job: tuple[str, str, int, float]) -> ShiftResult:
    name, strategy, seed, hours = job
    scenario = replace(SCENARIOS[name], shift_seconds=hours * 3600.0)
    return simulate(scenario, strategy, seed)


def table(name: str, results: list[ShiftResult], strategies: list[str]) -> None:
    scenario = SCENARIOS[name]
    print(
        f"\n{name}: {scenario.name}  (upper bound {scenario.upper_bound:.3f}, prototype predictive "
        f"{PROTOTYPE_OCCUPANCY[name]:.3f})"
    )
    header = (
        f"  {'strategy':<12} {'occupancy':>9} {'abandon':>8} {'p95':>7} {'>3%':>5} {'conn/op-h':>9} "
        f"{'wait s':>6} {'peak':>5} {'dials':>7}"
    )
    if scenario.change_at is not None:
        header += f" {'1h after change mean/p95':>25}"
    print(header)
    for strategy in strategies:
        rows = [r for r in results if r.scenario == scenario.name and r.strategy == strategy]
        if not rows:
            continue
        occupancy = np.array([r.occupancy for r in rows])
        abandon = np.array([r.abandon_rate for r in rows])
        p95 = np.percentile(abandon, 95)
        line = (
            f"  {strategy:<12} {occupancy.mean():9.3f} {abandon.mean():8.2%} {p95:7.2%} "
            f"{(abandon > 0.03).mean():5.0%} {np.mean([r.connects_per_operator_hour for r in rows]):9.2f} "
            f"{np.mean([r.mean_wait for r in rows]):6.2f} {max(r.peak_lines for r in rows):5d} "
            f"{np.mean([r.dials for r in rows]):7.0f}"
        )
        after = [r.abandon_rate_after_change for r in rows if r.abandon_rate_after_change is not None]
        if after:
            line += f" {np.mean(after):16.2%} / {np.percentile(after, 95):.2%}"
        print(line)
    print(f"  ({len({r.seed for r in results if r.scenario == scenario.name})} seeds)")


def bench_decide(operators: int = 100, ringing: int = 500, rounds: int = 2000, exact: bool = True) -> None:
    rng = np.random.default_rng(7)
    pacer = make_pacer("predictive", rng=rng)
    for i in range(400):  # a warm pacer: learned statistics and an unspent budget
        pacer.observe(CallEvent(EventKind.DIALED, i, 0.0))
        pacer.observe(CallEvent(EventKind.ANSWERED_HUMAN if i % 4 == 0 else EventKind.NO_ANSWER, i, 8.0))
        pacer.observe(CallEvent(EventKind.TALK_ENDED, i, float(rng.lognormal(4.4, 0.8))))
        pacer.observe(CallEvent(EventKind.WRAP_ENDED, i, 15.0))
    busy = operators - 5
    timings = []
    for k in range(rounds):
        snapshot = Snapshot(
            now=1000.0 + k,
            agents_logged_in=operators,
            agents_free=5,
            idle_elapsed=rng.uniform(0, 5, 5),
            talk_elapsed=rng.uniform(0, 400, busy - 15),
            wrap_elapsed=rng.uniform(0, 15, 15),
            ring_elapsed=rng.uniform(0, 25, ringing),
            waiting_elapsed=np.zeros(0),
        )
        started = time.perf_counter()
        pacer.decide(snapshot)
        timings.append(time.perf_counter() - started)
    ms = np.array(timings) * 1000
    print(
        f"\ndecide(): {operators} operators, {ringing} ringing calls, {rounds} calls: "
        f"p50 {np.percentile(ms, 50):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms, max {ms.max():.3f} ms"
    )
    if not exact:
        return
    small = []
    for k in range(rounds):
        snapshot = Snapshot(
            now=5000.0 + k,
            agents_logged_in=20,
            agents_free=2,
            talk_elapsed=rng.uniform(0, 400, 15),
            wrap_elapsed=rng.uniform(0, 15, 3),
            ring_elapsed=rng.uniform(0, 25, 30),
        )
        started = time.perf_counter()
        pacer.decide(snapshot)
        small.append(time.perf_counter() - started)
    ms = np.array(small) * 1000
    print(
        f"decide(): 20 operators, 30 ringing calls (exact path): p50 {np.percentile(ms, 50):.3f} ms, "
        f"p99 {np.percentile(ms, 99):.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--strategies", default="predictive,dial_level,progressive")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--decide-only", action="store_true")
    parser.add_argument("--sweep", action="store_true", help="the scaling sweep (default 4 seeds x 2 h)")
    args = parser.parse_args()
    print("command:", shlex.join([Path(sys.executable).name, *sys.argv]))
    if args.sweep:
        sweep(args)
        return
    bench_decide()
    bench_decide(operators=300, ringing=2000, rounds=500, exact=False)
    if args.decide_only:
        return
    names = args.scenarios.split(",")
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {', '.join(SCENARIOS)}")
    strategies = args.strategies.split(",")
    jobs = [(n, s, seed, args.hours) for n in names for s in strategies for seed in range(args.seeds)]
    # Longest first so the two processes finish together.
    jobs.sort(key=lambda j: -(SCENARIOS[j[0]].operators * (3 if j[1] == "predictive" else 1)))
    started = time.perf_counter()
    cpu_started = time.process_time()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_one, jobs, chunksize=1))
    for name in names:
        table(name, results, strategies)
    print(
        f"\n{len(jobs)} shifts of {args.hours:g} h in {time.perf_counter() - started:.0f} s wall "
        f"({args.jobs} processes; parent CPU {time.process_time() - cpu_started:.1f} s)"
    )


def sweep(args: argparse.Namespace) -> None:
    seeds = 4 if "--seeds" not in sys.argv else args.seeds
    hours = 2.0 if "--hours" not in sys.argv else args.hours
    cells = pacing_sweep.cells()
    jobs = [
        (replace(cell.scenario, shift_seconds=hours * 3600.0), strategy, seed)
        for cell in cells
        for strategy in ("predictive", "progressive")
        for seed in range(pacing_sweep.seeds_for(cell, seeds))
    ]
    jobs.sort(key=lambda j: -(j[0].operators / max(j[0].phases[0].human, 0.05) * (j[1] == "predictive")))
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(pacing_sweep.run_one, jobs, chunksize=1))
    pacing_sweep.report(cells, results)
    print(
        f"\n{len(jobs)} shifts of {hours:g} h ({seeds} seeds per cell and strategy) in "
        f"{time.perf_counter() - started:.0f} s wall ({args.jobs} processes)"
    )


if __name__ == "__main__":
    main()
