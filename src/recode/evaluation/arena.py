"""CodeUpdateArena evaluation: candidates in, pass@k / pass@k without update / UPass@k out.

Why these three numbers: pass@k alone rewards a model that solves the task *without* the update (the
tests then do not measure knowledge editing). Every program runs twice, with the update enacted and
without it; UPass@k counts samples that pass with it and fail without it, i.e. that really used it.
Stages are separate (EvalPlus style): candidates (oracle, a samples file, or a model through a
backend, with a resumable generation cache) -> sandbox verdicts per test -> per-task and grouped metrics
-> the run-result JSON that `recode compare` and `recode report` read.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from recode.errors import RecodeError
from recode.evaluation.passk import check_ks, pass_at_k
from recode.evaluation.programs import UnitProgram, UnitVerdict, build_programs, read_verdicts
from recode.evaluation.tasks import ArenaTask

NO_CODE = "no_code"


@dataclass(frozen=True)
class Candidate:
    """One sample for a task: the raw completion and the code extracted from it (None: nothing found)."""

    completion: str
    code: str | None

    @classmethod
    def from_completion(cls, completion: Any) -> Candidate:
        """Extract code the way the rewards do; bare code (no fence) that parses is taken as is."""
        from recode.rewards.extract import completion_text, extract_code

        text = completion_text(completion)
        code = extract_code(text)
        if code is None and _is_python(text):
            code = text
        if code is not None and not code.endswith("\n"):
            code += "\n"  # a fence body ends before its closing newline; programs append after it
        return cls(completion=text, code=code)


@dataclass(frozen=True)
class ExecConfig:
    """How programs run: per-program limits, parallelism, and one process per test or per sample.

    `isolate_tests=False` (default) runs a sample's tests in one process and re-runs alone only the
    tests that process cannot settle (see `programs.read_verdicts`): the verdicts of one process per
    test (the benchmark's harness) at ~1/6 of the processes. `chunk_size` counts (sample, with/without
    update) units handed to the sandbox at once: large enough to keep every worker busy, small enough
    that the verdict cache is written often.
    """

    timeout_s: float = 15.0
    memory_mb: int = 4096
    workers: int | None = None
    isolate_tests: bool = False
    chunk_size: int = 1024


def oracle_candidates(tasks: Sequence[ArenaTask]) -> dict[str, list[Candidate]]:
    """The benchmark's reference solutions as the only sample per task (a self-check of the harness)."""
    return {t.task_id: [Candidate(completion=t.reference, code=t.reference)] for t in tasks}


def read_samples(path: str | Path, task_ids: Sequence[str] | None = None) -> dict[str, list[Candidate]]:
    """`prog_syn_id`/`completion` JSONL rows (several per id) -> candidates; errors say FILE:LINE."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise RecodeError(
            f"{path}: no such samples file", hint="pass a JSONL file of {prog_syn_id, completion} rows"
        )
    known = set(task_ids) if task_ids is not None else None
    rows: dict[str, list[Any]] = defaultdict(list)
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                task_id, completion = _parse_sample_line(line, f"{path}:{number}", known)
                rows[task_id].append(completion)
    if not rows:
        raise RecodeError(
            f"{path}: no samples in the file", hint='each line: {"prog_syn_id": ..., "completion": ...}'
        )
    # Every line is validated before any extraction, so a bad line 9000 fails in a second, not a minute.
    return {task_id: [Candidate.from_completion(c) for c in texts] for task_id, texts in rows.items()}


def _parse_sample_line(line: str, where: str, known: set[str] | None) -> tuple[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecodeError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise RecodeError(f"{where}: expected a JSON object, got {type(row).__name__}")
    task_id = row.get("prog_syn_id", row.get("task_id"))
    if not isinstance(task_id, str):
        raise RecodeError(f"{where}: missing string field 'prog_syn_id'", hint=f"keys present: {sorted(row)}")
    if "completion" not in row or not isinstance(row["completion"], (str, list)):
        raise RecodeError(f"{where}: missing field 'completion' (a string, or a list of chat messages)")
    if known is not None and task_id not in known:
        raise RecodeError(
            f"{where}: unknown prog_syn_id {task_id!r}",
            hint="ids must come from the same data file and --variant as this evaluation",
        )
    return task_id, row["completion"]


def evaluate(
    tasks: Sequence[ArenaTask],
    candidates: Mapping[str, Sequence[Candidate]],
    *,
    ks: Sequence[int] = (1,),
    config: ExecConfig = ExecConfig(),
    sandbox: Any | None = None,
    progress: bool = True,
    verdict_cache: str | Path | None = None,
) -> dict[str, Any]:
    """Run every candidate of every task (with and without the update) and score them.

    Tasks without candidates are skipped; `ks` larger than a task's sample count is an error raised
    before anything runs. With `verdict_cache` (a JSONL file) verdicts are appended as they come in and
    reused on the next call, so an interrupted evaluation resumes instead of re-running every program.
    Returns the run-result JSON body (without model/backend metadata).
    """
    selected = [t for t in tasks if candidates.get(t.task_id)]
    if not selected:
        raise RecodeError("no task has a candidate to evaluate", hint="check the ids in the samples file")
    check_ks(ks, (len(candidates[t.task_id]) for t in selected))
    start = time.perf_counter()
    cache = VerdictCache(Path(verdict_cache) if verdict_cache is not None else None)
    verdicts, isolation = _execute(selected, candidates, config, sandbox, progress, cache)
    records = [_task_record(t, candidates[t.task_id], verdicts, ks) for t in selected]
    execution = {**asdict(config), "isolation": isolation, "reused_from_cache": cache.hits}
    return {
        "k": list(ks),
        "n_tasks": len(records),
        "metrics": _mean_metrics(records),
        "groups": {key: _grouped(records, key) for key in ("package", "update_type")},
        "tasks": records,
        "execution": {**execution, "duration_s": round(time.perf_counter() - start, 3)},
    }


Key = tuple[str, int, bool]
"""(task_id, sample index, with_update): identifies the verdicts of one sample's tests, one way."""


@dataclass
class _Outcome:
    verdicts: list[UnitVerdict] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class _Unit:
    """One sample judged one way: what to run, and a digest of it (the verdict-cache key)."""

    key: Key
    task: ArenaTask
    code: str
    programs: list[UnitProgram]
    digest: str


class VerdictCache:
    """Append-only JSONL of verdicts keyed by a digest of the programs (nonce removed) and their limits.

    Why a digest and not the task id: a changed candidate, test, update or limit must never reuse an old
    verdict, and an identical program (the same completion sampled twice) need not run twice.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.hits = 0
        self._rows: dict[str, _Outcome] = {} if path is None else self._load(path)
        self._loaded = frozenset(self._rows)
        self._pending: list[str] = []

    @staticmethod
    def _load(path: Path) -> dict[str, _Outcome]:
        rows: dict[str, _Outcome] = {}
        if not path.is_file():
            return rows
        drop_partial_line(path)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                row = json.loads(line)
                verdicts = [UnitVerdict(bool(p), str(s), str(d)) for p, s, d in row["verdicts"]]
                rows[row["digest"]] = _Outcome(verdicts, float(row["seconds"]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                raise RecodeError(
                    f"{path}:{number}: not a verdict-cache row", hint="delete the file or pass --fresh"
                ) from None
        return rows

    def get(self, digest: str) -> _Outcome | None:
        """The outcome for `digest` if known (`hits` counts only those read from the file)."""
        found = self._rows.get(digest)
        self.hits += digest in self._loaded
        return found

    def add(self, digest: str, outcome: _Outcome) -> None:
        self._rows[digest] = outcome
        if self.path is not None:
            verdicts = [[v.passed, v.status, v.detail] for v in outcome.verdicts]
            self._pending.append(
                json.dumps({"digest": digest, "verdicts": verdicts, "seconds": outcome.seconds})
            )

    def flush(self) -> None:
        if self.path is None or not self._pending:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(self._pending) + "\n")
        self._pending.clear()


def _execute(
    tasks: Sequence[ArenaTask],
    candidates: Mapping[str, Sequence[Candidate]],
    config: ExecConfig,
    sandbox: Any | None,
    progress: bool,
    cache: VerdictCache,
) -> tuple[dict[Key, _Outcome], str]:
    """Run every uncached sample, grouped by the heavy modules its programs import.

    Why grouped: a fork-server with torch preloaded forks several times slower than a bare one, so
    each group gets a sandbox preloading just what it imports. Programs are built lazily, one chunk
    at a time, so a large run never holds every source in memory.
    """
    from recode.sandbox import SandboxLimits

    limits = SandboxLimits(timeout_s=config.timeout_s, memory_mb=config.memory_mb)
    nonce = secrets.token_hex(12)
    samples = [
        (t, i, c.code) for t in tasks for i, c in enumerate(candidates[t.task_id]) if c.code is not None
    ]
    by_modules: dict[tuple[str, ...], list[tuple[ArenaTask, int, str]]] = defaultdict(list)
    for task, index, code in samples:
        by_modules[_heavy_modules(task, code)].append((task, index, code))
    verdicts: dict[Key, _Outcome] = {}
    isolation = "none"
    with _bar(progress, 2 * len(samples)) as advance:
        for modules, group in sorted(by_modules.items()):
            with _sandbox(sandbox, config, modules) as box:
                for chunk in _chunks(_units(group, nonce, config), config.chunk_size):
                    todo = [unit for unit in chunk if not _reuse(unit, cache, verdicts)]
                    for unit, outcome, used in _run_units(todo, box, limits, nonce):
                        verdicts[unit.key] = outcome
                        cache.add(unit.digest, outcome)
                        isolation = used
                    cache.flush()
                    advance(len(chunk))
    if isolation == "none" and cache.hits:
        isolation = "cached"  # nothing ran in this call: every verdict came from the cache
    return verdicts, isolation


def _reuse(unit: _Unit, cache: VerdictCache, verdicts: dict[Key, _Outcome]) -> bool:
    hit = cache.get(unit.digest)
    if hit is not None:
        verdicts[unit.key] = hit
    return hit is not None


def _run_units(
    units: Sequence[_Unit], box: Any, limits: Any, nonce: str
) -> Iterator[tuple[_Unit, _Outcome, str]]:
    """Run the units' programs, then give each test a grouped program left unsettled its own program."""
    results = iter(box.run_many([p.source for u in units for p in u.programs], limits, progress=False))
    slots: list[dict[int, UnitVerdict | None]] = []
    seconds: list[float] = []
    isolation = "none"
    for unit in units:
        found: dict[int, UnitVerdict | None] = {}
        spent = 0.0
        for program in unit.programs:
            result = next(results)
            found.update(zip(program.tests, read_verdicts(program, result, nonce), strict=True))
            spent += result.duration_s
            isolation = result.isolation
        slots.append(found)
        seconds.append(spent)
    reruns = [
        (u_index, program)
        for u_index, (unit, found) in enumerate(zip(units, slots, strict=True))
        for program in _isolated(unit, [i for i, v in found.items() if v is None], nonce)
    ]
    rerun_results = box.run_many([p.source for _, p in reruns], limits, progress=False) if reruns else []
    for (u_index, program), result in zip(reruns, rerun_results, strict=True):
        slots[u_index].update(zip(program.tests, read_verdicts(program, result, nonce), strict=True))
        seconds[u_index] += result.duration_s
    for unit, found, spent in zip(units, slots, seconds, strict=True):
        # Every slot is settled now: a program of one test always yields a verdict.
        ordered = cast(list[UnitVerdict], [found[i] for i in range(len(unit.task.unit_tests))])
        yield unit, _Outcome(ordered, round(spent, 3)), isolation


def _isolated(unit: _Unit, tests: list[int], nonce: str) -> list[UnitProgram]:
    if not tests:
        return []
    with_update = unit.key[2]
    return build_programs(unit.task, unit.code, with_update=with_update, nonce=nonce, tests=tests)


def _heavy_modules(task: ArenaTask, code: str) -> tuple[str, ...]:
    """The preloadable modules (numpy, torch, sympy) that a sample's programs import anywhere.

    numpy is always included: a server holding it forks as fast as a bare one, so it costs nothing and
    saves a sandbox start for the many tasks that import it.
    """
    from recode.sandbox import DEFAULT_PRELOAD

    sources = "\n".join((*task.imports, *(u.implementation for u in task.updates), *task.unit_tests, code))
    imported = set(re.findall(r"^\s*(?:import|from)\s+(\w+)", sources, re.MULTILINE)) | {"numpy"}
    return tuple(m for m in DEFAULT_PRELOAD if m in imported)


def _units(samples: Sequence[tuple[ArenaTask, int, str]], nonce: str, config: ExecConfig) -> Iterator[_Unit]:
    limits = f"{config.timeout_s}|{config.memory_mb}|{config.isolate_tests}"
    for task, index, code in samples:
        for with_update in (True, False):
            programs = build_programs(
                task, code, with_update=with_update, nonce=nonce, isolate_tests=config.isolate_tests
            )
            digest = hashlib.sha256(limits.encode())
            for program in programs:
                digest.update(program.source.replace(nonce, "").encode())
            yield _Unit((task.task_id, index, with_update), task, code, programs, digest.hexdigest())


@contextmanager
def _sandbox(existing: Any | None, config: ExecConfig, preload: tuple[str, ...]) -> Iterator[Any]:
    if existing is not None:
        yield existing
        return
    from recode.sandbox import Sandbox, SandboxLimits

    limits = SandboxLimits(timeout_s=config.timeout_s, memory_mb=config.memory_mb)
    with Sandbox(limits, preload=preload, workers=config.workers) as box:
        yield box


@contextmanager
def _bar(enabled: bool, total: int) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda _n: None
        return
    columns = (TextColumn("[bold]executing[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("exec", total=total)
        yield lambda n: bar.advance(task, n)


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _task_record(
    task: ArenaTask, cands: Sequence[Candidate], verdicts: Mapping[Key, _Outcome], ks: Sequence[int]
) -> dict[str, Any]:
    samples = [_sample_record(task, i, c, verdicts) for i, c in enumerate(cands)]
    n = len(samples)
    c_with = sum(s["passed"] for s in samples)
    c_without = sum(s["passed_without"] for s in samples)
    c_upass = sum(s["passed"] and not s["passed_without"] for s in samples)
    metrics: dict[str, float] = {}
    for k in ks:
        metrics[f"pass@{k}"] = pass_at_k(n, c_with, k)
        metrics[f"pass@{k}_without_update"] = pass_at_k(n, c_without, k)
        metrics[f"upass@{k}"] = pass_at_k(n, c_upass, k)
    metrics["test_accuracy"] = sum(s["test_accuracy"] for s in samples) / n
    metrics["test_accuracy_without_update"] = sum(s["test_accuracy_without"] for s in samples) / n
    return {
        "task_id": task.task_id,
        "n": n,
        "c": c_with,
        "c_without": c_without,
        "c_upass": c_upass,
        "metrics": metrics,
        "package": task.package,
        "update_type": task.update_type,
        "n_tests": len(task.unit_tests),
        **({"extra": task.extra} if task.extra else {}),
        "samples": samples,
    }


def _sample_record(
    task: ArenaTask, index: int, cand: Candidate, verdicts: Mapping[Key, _Outcome]
) -> dict[str, Any]:
    n_tests = len(task.unit_tests)
    if cand.code is None:
        no = [False] * n_tests
        detail = "no ```python block (or parseable code) found in the completion"
        return _sample(cand, no, no, NO_CODE, detail)
    with_outcome, without_outcome = (
        verdicts[(task.task_id, index, True)],
        verdicts[(task.task_id, index, False)],
    )
    with_, without = with_outcome.verdicts, without_outcome.verdicts
    failed = next(((i, v) for i, v in enumerate(with_) if not v.passed), None)
    status, detail = (
        ("ok", "") if failed is None else (failed[1].status, f"test {failed[0]}: {failed[1].detail}")
    )
    record = _sample(cand, [v.passed for v in with_], [v.passed for v in without], status, detail)
    record["duration_s"] = round(with_outcome.seconds + without_outcome.seconds, 3)
    return record


def _sample(
    cand: Candidate, with_: list[bool], without: list[bool], status: str, detail: str
) -> dict[str, Any]:
    n_tests = max(len(with_), 1)
    return {
        "completion": cand.completion,
        "passed": bool(with_) and all(with_),
        "passed_without": bool(without) and all(without),
        "status": status,
        "detail": detail,
        "test_accuracy": sum(with_) / n_tests,
        "test_accuracy_without": sum(without) / n_tests,
        "tests": with_,
        "tests_without": without,
    }


def _mean_metrics(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for rec in records:
        for name, value in rec["metrics"].items():
            totals[name] += value
    return {name: value / len(records) for name, value in totals.items()}


def _grouped(records: Sequence[dict[str, Any]], key: str) -> dict[str, dict[str, float]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        groups[rec[key]].append(rec)
    return {name: {**_mean_metrics(recs), "n_tasks": len(recs)} for name, recs in sorted(groups.items())}


def run_result(
    body: dict[str, Any], *, variant: str, model: str, backend: str, config: dict[str, Any]
) -> dict[str, Any]:
    """Wrap an `evaluate` body in the run-result JSON agreed between areas (metrics also top-level)."""
    return {
        "kind": "arena",
        "variant": variant,
        "model": model,
        "backend": backend,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {**config, "execution": body["execution"]},
        "k": body["k"],
        "n_tasks": body["n_tasks"],
        **body["metrics"],
        "metrics": body["metrics"],
        "groups": body["groups"],
        "tasks": body["tasks"],
    }


def write_result(result: dict[str, Any], path: str | Path) -> Path:
    """Write the run-result JSON (creating parent folders)."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _is_python(text: str) -> bool:
    import ast

    if not text.strip():
        return False
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True


def drop_partial_line(path: Path) -> None:
    """Cut a last line that an interruption left without its newline, so appends start on a clean line.

    Rows are written whole and newline-terminated, so an unterminated tail is always a partial row; its
    work is simply redone.
    """
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])
