"""CodeUpdateArena oracle: the fork-server sandbox vs a naive fresh-interpreter-per-program harness.

What it measures (all in this one run, on this machine, with the load average printed since the
machine may be shared):
1. the full oracle (every reference solution, with and without its update) through
   `recode.evaluation.arena` exactly as `recode eval arena --oracle` runs it (fork-server sandbox, a
   sample's tests in one process, unsettled tests re-run alone): pass counts and wall time;
2. on an evenly spread subset, the same verdicts from a naive harness that starts a fresh
   `python` per (example, with/without update) program, the way the 495 s baseline in
   /work/shared/notes/measured.md was taken; the speed ratio and whether the verdicts agree;
3. where the time goes, per harness: program seconds on the subset's *light* tasks (every test
   quick: the harness's own cost dominates) and on its *heavy* ones (a 10000x10000 matmul, a
   gigabyte tensor or a 15 s timeout: the tests' own compute dominates, which no harness can speed
   up, and the naive harness gives a whole program the 15 s that the benchmark gives each test).

The naive baseline runs the benchmark's *reference* solutions in plain subprocesses (no isolation): it
exists only to be timed, never for model-written code.

    python benchmarks/arena_oracle.py [--data PATH] [--subset 40] [--workers 2] [--skip-full]
                                      [--isolate-tests]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from recode.data.loaders import arena_path, load_arena
from recode.evaluation.arena import ExecConfig, evaluate, oracle_candidates
from recode.evaluation.programs import build_programs, sentinel
from recode.evaluation.tasks import ArenaTask, standard_tasks

TIMEOUT_S = 15.0
HEAVY_S = 1.0
"""Fork-server program seconds (both ways) from which a task counts as heavy: at a few ms of harness
cost per program, such a task's time is its tests' own compute (a fresh interpreter's start-up alone
costs about that much, so the naive harness's seconds cannot tell heavy from light)."""


def main() -> None:
    args = _parse_args()
    tasks = standard_tasks(load_arena(args.data or arena_path()))
    config = ExecConfig(timeout_s=TIMEOUT_S, workers=args.workers, isolate_tests=args.isolate_tests)
    print(f"load average at start: {_load()}; {config}")
    if not args.skip_full:
        seconds, body = _timed_oracle(tasks, config)
        _report("full oracle, fork-server sandbox", body, seconds)
    subset = tasks[:: max(1, len(tasks) // args.subset)][: args.subset]
    fast_s, fast = _timed_oracle(subset, config)
    _report(f"subset of {len(subset)}, fork-server sandbox", fast, fast_s)
    naive_s, naive, naive_cost = _naive(subset, args.workers)
    print(f"subset of {len(subset)}, naive fresh interpreter: {naive_s:.1f} s")
    differ = [t for t in fast["tasks"] if (t["c"] == 1, t["c_without"] == 1) != naive[t["task_id"]]]
    print(f"verdicts agree on {len(subset) - len(differ)}/{len(subset)} tasks")
    for task in differ:
        print(
            f"  differs: {task['task_id']}: (with, without) naive {naive[task['task_id']]}, here "
            f"{(task['c'] == 1, task['c_without'] == 1)}: {task['samples'][0]['detail'][:120]}"
        )
    print(f"speed-up on the subset: {naive_s / fast_s:.1f}x (naive / fork-server), wall clock")
    _split(fast, naive_cost)
    if not args.skip_full:
        print(f"naive extrapolated to all {len(tasks)} tasks: {naive_s * len(tasks) / len(subset):.0f} s")
    print(f"load average at end: {_load()}")


def _parse_args() -> argparse.Namespace:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--data", type=Path, default=None, help="arena.jsonl [default: $RECODE_DATA_DIR]")
    parser.add_argument("--subset", type=int, default=40, help="tasks for the naive comparison")
    parser.add_argument("--workers", type=int, default=2, help="parallel programs in both harnesses")
    parser.add_argument("--skip-full", action="store_true", help="only the subset comparison")
    parser.add_argument(
        "--isolate-tests", action="store_true", help="one process per unit test (the CLI's --isolate-tests)"
    )
    return parser.parse_args()


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def _timed_oracle(tasks: list[ArenaTask], config: ExecConfig) -> tuple[float, dict]:
    start = time.perf_counter()
    body = evaluate(tasks, oracle_candidates(tasks), config=config, progress=sys.stdout.isatty())
    return time.perf_counter() - start, body


def _report(label: str, body: dict, seconds: float) -> None:
    tasks = body["tasks"]
    passed = sum(t["c"] for t in tasks)
    without = sum(t["c_without"] for t in tasks)
    print(f"{label}: {passed}/{len(tasks)} pass with the update, {without} without, {seconds:.1f} s")
    # Why the ratio is what it is: a few tests' own compute (or 15 s timeouts) outweighs the rest.
    costs = sorted((sum(s["duration_s"] for s in t["samples"]) for t in tasks), reverse=True)
    heavy = costs[: max(1, len(costs) // 25)]
    print(f"  program seconds: {sum(costs):.1f} in all, {sum(heavy):.1f} in the {len(heavy)} costliest tasks")


def _split(fast: dict, naive_cost: dict[str, float]) -> None:
    """Program seconds per harness on light and heavy tasks (see HEAVY_S)."""
    ours = {t["task_id"]: sum(s["duration_s"] for s in t["samples"]) for t in fast["tasks"]}
    heavy = sorted(i for i in ours if ours[i] >= HEAVY_S)
    light = [i for i in ours if i not in heavy]
    for label, ids in ((f"light ({len(light)} tasks)", light), (f"heavy ({len(heavy)} tasks)", heavy)):
        mine, theirs = sum(ours[i] for i in ids), sum(naive_cost[i] for i in ids)
        ratio = f"{theirs / mine:.1f}x" if mine else "n/a"
        print(f"  {label}: program seconds naive {theirs:.1f}, fork-server {mine:.1f}: {ratio}")
    for i in heavy:
        print(f"    heavy: {i}: naive {naive_cost[i]:.1f} s, fork-server {ours[i]:.1f} s")


def _naive(
    tasks: list[ArenaTask], workers: int
) -> tuple[float, dict[str, tuple[bool, bool]], dict[str, float]]:
    """One fresh interpreter per (task, with/without) program running all its tests: wall seconds,
    (with, without) verdicts per task, and program seconds per task (both ways)."""
    jobs = [(t, with_update) for t in tasks for with_update in (True, False)]
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        outcomes = list(pool.map(lambda job: _run_fresh(*job), jobs))
    verdicts: dict[str, list[bool]] = {}
    cost: dict[str, float] = {}
    for (task, _), (ok, seconds) in zip(jobs, outcomes, strict=True):
        verdicts.setdefault(task.task_id, []).append(ok)
        cost[task.task_id] = cost.get(task.task_id, 0.0) + seconds
    return time.perf_counter() - start, {k: (v[0], v[1]) for k, v in verdicts.items()}, cost


def _run_fresh(task: ArenaTask, with_update: bool) -> tuple[bool, float]:
    (program,) = build_programs(
        task, task.reference, with_update=with_update, nonce="naive", isolate_tests=False
    )
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", program.source], capture_output=True, text=True, timeout=TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return False, time.perf_counter() - start
    seconds = time.perf_counter() - start
    tag = sentinel("naive") + " "
    reports = [line.split(" ")[2] for line in done.stdout.splitlines() if line.startswith(tag)]
    outcomes = [word for word in reports if word != "start"]  # each test reports start, then pass/fail
    return len(outcomes) == len(task.unit_tests) and all(word == "pass" for word in outcomes), seconds


if __name__ == "__main__":
    main()
