"""Judge (sample, with/without update) units in the sandbox: per-test verdicts, cached, no idle cores.

Why a scheduler of its own: on CodeUpdateArena's oracle a few dozen tests (10000x10000 matmuls, 8 GB
tensors) cost more than the other ~3000 together, and each holds a worker for up to the 15 s limit.
Any barrier (a batch, a module group, "first pass then re-runs") leaves the other cores idle behind
such a test. Here every worker takes the next program from one queue, re-runs of unsettled tests
first (they finish units that already started, heavy ones included), and each unit is cached the
moment its last verdict arrives, so an interrupted run loses only the programs in flight. Units start
heaviest first (longest-processing-time-first, by a static guess of the data the tests build), so the
slow tests overlap the thousand quick ones instead of running alone at the end.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
import math
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from recode.errors import RecodeError
from recode.evaluation.programs import UnitProgram, UnitVerdict, build_programs, read_verdicts
from recode.evaluation.tasks import ArenaTask

Key = tuple[str, int, bool]
"""(task_id, sample index, with_update): identifies the verdicts of one sample's tests, one way."""

_RERUN, _FIRST = 0, 1
"""Queue priorities: re-runs of unsettled tests go before programs of units not started yet."""
_FLUSH_S = 2.0
ARENA_PRELOAD = ("numpy", "sympy", "torch")
"""Light to heavy, as `route` wants: sympy tasks then fork from a numpy+sympy server, and torch (the
slowest import, ~2 s of CPU per server) is preloaded by one pool of servers instead of two."""


@dataclass(frozen=True)
class ExecConfig:
    """How programs run: per-program limits, parallelism, and one process per test or per sample.

    `isolate_tests=False` (default) runs a sample's tests in one process and re-runs alone only the
    tests that process cannot settle (see `programs.read_verdicts`): the verdicts of one process per
    test (the benchmark's harness) at a fraction of the processes.
    """

    timeout_s: float = 15.0
    memory_mb: int = 4096
    workers: int | None = None
    isolate_tests: bool = False


@dataclass
class Outcome:
    """Verdicts of one unit's tests, in test order, and the sandbox seconds they took."""

    verdicts: list[UnitVerdict] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class Unit:
    """One sample judged one way: what to run, and a digest of it (the verdict-cache key)."""

    key: Key
    task: ArenaTask
    code: str
    programs: list[UnitProgram]
    digest: str


def units(samples: Iterable[tuple[ArenaTask, int, str]], nonce: str, config: ExecConfig) -> Iterator[Unit]:
    """Units for (task, sample index, code) triples, built lazily: with the update, then without."""
    limits = f"{config.timeout_s}|{config.memory_mb}|{config.isolate_tests}"
    for task, index, code in samples:
        for with_update in (True, False):
            programs = build_programs(
                task, code, with_update=with_update, nonce=nonce, isolate_tests=config.isolate_tests
            )
            digest = hashlib.sha256(limits.encode())
            for program in programs:
                digest.update(program.source.replace(nonce, "").encode())
            yield Unit((task.task_id, index, with_update), task, code, programs, digest.hexdigest())


class VerdictCache:
    """Append-only JSONL of verdicts keyed by a digest of the programs (nonce removed) and their limits.

    Why a digest and not the task id: a changed candidate, test, update or limit must never reuse an old
    verdict, and an identical program (the same completion sampled twice) need not run twice.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.hits = 0
        self._rows: dict[str, Outcome] = {} if path is None else self._load(path)
        self._loaded = frozenset(self._rows)
        self._pending: list[str] = []
        self._flushed = time.monotonic()

    @staticmethod
    def _load(path: Path) -> dict[str, Outcome]:
        rows: dict[str, Outcome] = {}
        if not path.is_file():
            return rows
        drop_partial_line(path)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                row = json.loads(line)
                verdicts = [UnitVerdict(bool(p), str(s), str(d)) for p, s, d in row["verdicts"]]
                rows[row["digest"]] = Outcome(verdicts, float(row["seconds"]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                raise RecodeError(
                    f"{path}:{number}: not a verdict-cache row", hint="delete the file or pass --fresh"
                ) from None
        return rows

    def get(self, digest: str) -> Outcome | None:
        """The outcome for `digest` if known (`hits` counts only those read from the file)."""
        found = self._rows.get(digest)
        self.hits += digest in self._loaded
        return found

    def add(self, digest: str, outcome: Outcome) -> None:
        """Record an outcome; rows reach the file every couple of seconds (and at `flush`)."""
        self._rows[digest] = outcome
        if self.path is None:
            return
        verdicts = [[v.passed, v.status, v.detail] for v in outcome.verdicts]
        row = {"digest": digest, "verdicts": verdicts, "seconds": outcome.seconds}
        self._pending.append(json.dumps(row))
        if time.monotonic() - self._flushed > _FLUSH_S:
            self.flush()

    def flush(self) -> None:
        self._flushed = time.monotonic()
        if self.path is None or not self._pending:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(self._pending) + "\n")
        self._pending.clear()


def drop_partial_line(path: Path) -> None:
    """Cut a last line that an interruption left without its newline, so appends start on a clean line.

    Rows are written whole and newline-terminated, so an unterminated tail is always a partial row; its
    work is simply redone.
    """
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


@dataclass
class _Pending:
    """A unit whose programs are queued or running, and the identical units waiting on its verdicts."""

    unit: Unit
    found: dict[int, UnitVerdict | None] = field(default_factory=dict)
    seconds: float = 0.0
    open_programs: int = 0
    followers: list[Unit] = field(default_factory=list)


@dataclass(frozen=True)
class _Job:
    pending: _Pending
    program: UnitProgram


class Scheduler:
    """Runs units on `box` with `workers` threads pulling from one priority queue (see module doc).

    `box` is anything with `run(source, limits) -> SandboxResult` that is safe to call from several
    threads (a `recode.sandbox.Sandbox`); `nonce` is the sentinel the programs were built with.
    """

    def __init__(self, box: Any, limits: Any, nonce: str, workers: int) -> None:
        self.box, self.limits, self.nonce, self.workers = box, limits, nonce, workers
        self.isolation = "none"
        self._jobs: queue.PriorityQueue[tuple[int, int, _Job | None]] = queue.PriorityQueue()
        self._done: queue.SimpleQueue[tuple[_Job, Any]] = queue.SimpleQueue()
        self._order = itertools.count()

    def run(
        self, todo: Iterable[Unit], cache: VerdictCache, advance: Callable[[int], None]
    ) -> dict[Key, Outcome]:
        """Verdicts for every unit in `todo` (cached ones are not run); `advance(n)` per finished unit."""
        threads = [threading.Thread(target=self._work, daemon=True) for _ in range(self.workers)]
        for thread in threads:
            thread.start()
        verdicts: dict[Key, Outcome] = {}
        running: dict[str, _Pending] = {}
        source = iter(todo)
        exhausted = False
        try:
            while True:
                while not exhausted and len(running) < 4 * self.workers:
                    exhausted = not self._feed(source, cache, verdicts, running, advance)
                if not running:
                    break
                job, result = self._done.get()
                if isinstance(result, BaseException):
                    raise result
                self._settle(job, result, cache, verdicts, running, advance)
        finally:
            cache.flush()
            for _ in threads:  # running programs end within their limits; idle workers stop at once
                self._jobs.put((-1, next(self._order), None))
        for thread in threads:
            thread.join()
        return verdicts

    def _feed(
        self,
        source: Iterator[Unit],
        cache: VerdictCache,
        verdicts: dict[Key, Outcome],
        running: dict[str, _Pending],
        advance: Callable[[int], None],
    ) -> bool:
        """Start the next unit (or answer it from the cache); False when there is none left."""
        unit = next(source, None)
        if unit is None:
            return False
        hit = cache.get(unit.digest)
        if hit is not None:
            verdicts[unit.key] = hit
            advance(1)
        elif unit.digest in running:
            running[unit.digest].followers.append(unit)
        else:
            pending = running[unit.digest] = _Pending(unit)
            self._submit(pending, unit.programs, _FIRST)
        return True

    def _submit(self, pending: _Pending, programs: list[UnitProgram], priority: int) -> None:
        pending.open_programs += len(programs)
        for program in programs:
            self._jobs.put((priority, next(self._order), _Job(pending, program)))

    def _settle(
        self,
        job: _Job,
        result: Any,
        cache: VerdictCache,
        verdicts: dict[Key, Outcome],
        running: dict[str, _Pending],
        advance: Callable[[int], None],
    ) -> None:
        """Record one program's verdicts; queue re-runs for what it left unsettled; finish the unit."""
        pending, program = job.pending, job.program
        pending.found.update(zip(program.tests, read_verdicts(program, result, self.nonce), strict=True))
        pending.seconds += result.duration_s
        pending.open_programs -= 1
        self.isolation = result.isolation
        unsettled = [i for i in program.tests if pending.found[i] is None]
        if unsettled:  # only a grouped program leaves tests unsettled; one of a single test never does
            unit = pending.unit
            reruns = build_programs(
                unit.task, unit.code, with_update=unit.key[2], nonce=self.nonce, tests=unsettled
            )
            self._submit(pending, reruns, _RERUN)
        if pending.open_programs:
            return
        tests = range(len(pending.unit.task.unit_tests))
        outcome = Outcome(
            cast(list[UnitVerdict], [pending.found[i] for i in tests]), round(pending.seconds, 3)
        )
        for unit in (pending.unit, *pending.followers):
            verdicts[unit.key] = outcome
        cache.add(pending.unit.digest, outcome)
        del running[pending.unit.digest]
        advance(1 + len(pending.followers))

    def _work(self) -> None:
        while True:
            _, _, job = self._jobs.get()
            if job is None:
                return
            try:
                result: Any = self.box.run(job.program.source, self.limits)
            except BaseException as exc:  # handed to the scheduling thread, which raises it
                result = exc
            self._done.put((job, result))


def execute(
    samples: list[tuple[ArenaTask, int, str]],
    config: ExecConfig,
    *,
    sandbox: Any | None,
    progress: bool,
    cache: VerdictCache,
) -> tuple[dict[Key, Outcome], str]:
    """Verdicts of every (task, sample index, code) both ways, and the isolation tier they ran under.

    Without `sandbox`, one is started with numpy, sympy and torch preloadable: it routes each program
    to the lightest fork-server that preloads what the program names (`recode.sandbox.pool.route`).
    """
    from recode.sandbox import SandboxLimits

    limits = SandboxLimits(timeout_s=config.timeout_s, memory_mb=config.memory_mb)
    nonce = secrets.token_hex(12)
    weights = {id(task): estimated_elements(task) for task, _, _ in samples}
    heaviest_first = sorted(samples, key=lambda sample: -weights[id(sample[0])])
    with _sandbox(sandbox, config, limits) as box, _bar(progress, 2 * len(samples)) as advance:
        workers = getattr(box, "workers", None) or config.workers or 1
        scheduler = Scheduler(box, limits, nonce, workers)
        verdicts = scheduler.run(units(heaviest_first, nonce, config), cache, advance)
    isolation = scheduler.isolation
    if isolation == "none" and cache.hits:
        isolation = "cached"  # nothing ran in this call: every verdict came from the cache
    return verdicts, isolation


_BUILDERS = frozenset(
    {
        *("rand", "randn", "randint", "random", "zeros", "ones", "empty", "full", "arange", "eye"),
        *("linspace", "Tensor", "tensor", "normal", "uniform"),
        *("range", "product", "permutations", "combinations", "repeat"),
    }
)
"""Calls whose constant arguments size the data a test builds (numpy/torch constructors, iterators)."""
_BOUNDS = frozenset({"randint", "arange", "linspace", "full", "normal", "uniform", "range"})
"""Builders whose constants mix bounds with sizes: only the largest constant is taken as a size."""


def estimated_elements(task: ArenaTask) -> int:
    """A static guess of how much data `task`'s tests build: elements summed over builder calls.

    Only an ordering key (`execute` starts the heaviest units first): on CodeUpdateArena it puts the
    10000x10000 matmuls and gigabyte tensors, which take seconds to their 15 s timeout, at the front.
    """
    total = 0
    for test in task.unit_tests:
        try:
            tree = ast.parse(test)
        except SyntaxError:
            continue
        total += sum(_call_elements(node) for node in ast.walk(tree) if isinstance(node, ast.Call))
    return total


def _call_elements(call: ast.Call) -> int:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in _BUILDERS:
        return 0
    arguments = [*call.args, *(k.value for k in call.keywords if k.arg in ("size", "shape", "repeat"))]
    sizes = [size for size in map(_size, arguments) if size]
    if not sizes:
        return 0
    scalars = all(isinstance(_constant(a), int) for a in call.args)
    return math.prod(sizes) if scalars and name not in _BOUNDS else max(sizes)


def _size(node: ast.expr) -> int:
    """Elements a constant argument stands for: an int, or the product of a tuple/list of ints."""
    value = _constant(node)
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 0)
    if isinstance(value, (tuple, list)) and value and all(type(v) is int for v in value):
        return math.prod(max(v, 0) for v in value)
    return 0


def _constant(node: ast.expr) -> object:
    """The value of a literal (`10**4` included), or None; exponents are capped so this stays cheap."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        base, exponent = _constant(node.left), _constant(node.right)
        if type(base) is int and type(exponent) is int and 0 <= exponent <= 64:
            return base**exponent
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


@contextmanager
def _sandbox(existing: Any | None, config: ExecConfig, limits: Any) -> Iterator[Any]:
    if existing is not None:
        yield existing
        return
    from recode.sandbox import Sandbox

    with Sandbox(limits, preload=ARENA_PRELOAD, workers=config.workers) as box:
        yield box


@contextmanager
def _bar(enabled: bool, total: int) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda _n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("[bold]executing[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("exec", total=total)
        yield lambda n: bar.advance(task, n)
