"""CodeUpdateArena evaluation: candidates in, pass@k / pass@k without update / UPass@k out.

Why these three numbers: pass@k alone rewards a model that solves the task *without* the update (the
tests then do not measure knowledge editing). Every program runs twice, with the update enacted and
without it; UPass@k counts samples that pass with it and fail without it, i.e. that really used it.
Stages are separate (EvalPlus style): candidates (oracle, a samples file, or a model through a
backend, with a resumable generation cache) -> sandbox verdicts per test -> per-task and grouped metrics
-> the run-result JSON that `recode compare` and `recode report` read.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recode.errors import RecodeError
from recode.evaluation.execution import ExecConfig, Key, Outcome, VerdictCache, execute
from recode.evaluation.passk import check_ks, pass_at_k
from recode.evaluation.tasks import ArenaTask

__all__ = [
    "Candidate",
    "ExecConfig",
    "evaluate",
    "oracle_candidates",
    "read_samples",
    "run_result",
    "write_result",
]

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
    `sandbox` (a `recode.sandbox.Sandbox`, or anything with its thread-safe `run`) is used instead of
    starting one. Returns the run-result JSON body (without model/backend metadata).
    """
    selected = [t for t in tasks if candidates.get(t.task_id)]
    if not selected:
        raise RecodeError("no task has a candidate to evaluate", hint="check the ids in the samples file")
    check_ks(ks, (len(candidates[t.task_id]) for t in selected))
    start = time.perf_counter()
    cache = VerdictCache(Path(verdict_cache) if verdict_cache is not None else None)
    samples = [
        (t, i, c.code) for t in selected for i, c in enumerate(candidates[t.task_id]) if c.code is not None
    ]
    verdicts, isolation = execute(samples, config, sandbox=sandbox, progress=progress, cache=cache)
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


def _task_record(
    task: ArenaTask, cands: Sequence[Candidate], verdicts: Mapping[Key, Outcome], ks: Sequence[int]
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
    task: ArenaTask, index: int, cand: Candidate, verdicts: Mapping[Key, Outcome]
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
    """Write the run-result JSON (creating parent folders) atomically: a crash mid-write leaves the
    previous file intact, never a truncated one."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)
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
