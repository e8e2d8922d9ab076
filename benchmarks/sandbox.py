"""Sandbox cost per program: fork-server (numpy/torch/sympy preloaded) vs a fresh interpreter per program.

Both sides run the same small program that imports numpy, torch and sympy (as CodeUpdateArena programs
do) and computes very little, so the figure is the sandbox's own cost; each runs `--workers` programs at a
time, in this one run, on this machine:

1. fork-server: one `recode.sandbox.Sandbox` (server start-up reported separately, then ms/program);
2. isolated fresh interpreter: `recode.sandbox.run_program` per program (same isolation, no preload);
3. naive fresh interpreter: a plain `python file.py` subprocess per program (no isolation at all) — the
   way the 495 s arena baseline in /work/shared/notes/measured.md was taken; timed, nothing more.

    python benchmarks/sandbox.py [--programs 200] [--baseline-programs 16] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from recode.sandbox import Sandbox, SandboxLimits, isolation_tier, run_program

PROGRAM = """\
import numpy as np
import sympy
import torch

x = torch.arange(12, dtype=torch.float32).reshape(3, 4)
assert float(x.sum()) == float(np.arange(12).sum()) == 66.0
assert sympy.Rational(1, 3) * 3 == 1
print("OK")
"""
LIMITS = SandboxLimits(timeout_s=120.0, memory_mb=4096)


def main() -> None:
    args = _parse_args()
    print(f"isolation tier: {isolation_tier()}; workers: {args.workers}; load average: {os.getloadavg()}")
    start = time.perf_counter()
    with Sandbox(LIMITS, workers=args.workers) as box:
        # servers preloading what PROGRAM names start on its first run; the first forks touch cold pages
        box.run_many([PROGRAM] * args.workers, progress=False)
        startup = time.perf_counter() - start
        print(f"fork-server start-up incl. preloading {', '.join(box.preloaded)}: {startup:.2f} s")
        fork_ms = _per_program(args.programs, args.workers, lambda: _check(box.run(PROGRAM).stdout))
    print(f"fork-server:                   {fork_ms:8.1f} ms/program ({args.programs} programs)")
    fresh_ms = _per_program(
        args.baseline_programs, args.workers, lambda: _check(run_program(PROGRAM, LIMITS).stdout)
    )
    print(f"isolated fresh interpreter:    {fresh_ms:8.1f} ms/program ({args.baseline_programs} programs)")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "program.py")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(PROGRAM)
        naive_ms = _per_program(args.baseline_programs, args.workers, lambda: _check(_naive(path)))
    print(f"naive fresh interpreter:       {naive_ms:8.1f} ms/program ({args.baseline_programs} programs)")
    print(f"speed-up vs naive fresh interpreter:    {naive_ms / fork_ms:6.1f}x")
    print(f"speed-up vs isolated fresh interpreter: {fresh_ms / fork_ms:6.1f}x")


def _per_program(count: int, workers: int, run_one: Callable[[], None]) -> float:
    """Wall milliseconds per program with `workers` programs in flight at once."""
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: run_one(), range(count)))
    return (time.perf_counter() - start) / count * 1000


def _naive(path: str) -> str:
    done = subprocess.run([sys.executable, path], capture_output=True, text=True, timeout=LIMITS.timeout_s)
    return done.stdout


def _check(stdout: str) -> None:
    if stdout.strip() != "OK":
        raise SystemExit(f"benchmark program failed: {stdout!r}")


def _parse_args() -> argparse.Namespace:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--programs", type=int, default=200, help="programs through the fork-server")
    parser.add_argument("--baseline-programs", type=int, default=16, help="programs per fresh baseline")
    parser.add_argument("--workers", type=int, default=2, help="programs in flight at once")
    return parser.parse_args()


if __name__ == "__main__":
    main()
