"""HumanEval+ / MBPP+ evaluation with EvalPlus's verdicts, executed in recode's sandbox.

Stages, with data between them (as in EvalPlus): *references* (run each canonical solution once on the
base and plus inputs, keep its outputs and runtimes; cached per data file), *samples* (completions from a
backend, a samples file, or the canonical solutions for `--oracle`), *verdicts* (each solution run on all
inputs in the sandbox), *scores* (pass@k over base tests and over base + plus tests).

Time limits follow EvalPlus: each input may take `max(floor, factor x reference runtime)` (1 s, 4x by
default), and a whole phase at most `min(60 s, sum of its limits) + 1 s`; both are configurable, because
a slower machine otherwise turns correct solutions into time-outs. For the same reason the reference is
timed again inside every checking program (it runs there anyway, to produce the expected output) and the
larger of the cached and the fresh runtime sets the limit (`TimeLimits.retime`, on by default): on a
machine busier than when the cache was made (2 cores shared by many jobs, say) a correct MBPP+ solution
otherwise times out. Outputs are compared exactly, or with
`atol` for float results (see `recode.evaluation._plus_child`). A solution passes HumanEval+ when it
passes both the base and the plus inputs; `pass@k` is that score, `base_pass@k` the original benchmark's.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import re
import secrets
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recode.errors import RecodeError
from recode.evaluation.evalplus_data import PlusDataset, PlusTask, release_name
from recode.evaluation.passk import pass_at_k

CHILD_SOURCE = (Path(__file__).with_name("_plus_child.py")).read_text(encoding="utf-8")
CACHE_ENV = "RECODE_CACHE_DIR"
REFERENCE_TIMEOUT_S = 300.0
CHUNK = 32
"""Programs built and run per sandbox call (bounds memory: a program embeds its inputs and outputs)."""

INSTRUCTION = {
    "humaneval": (
        "Complete the Python function below. Reply with the complete function, including any imports and "
        "helpers it needs, in a single ```python code block.\n\n```python\n{prompt}\n```"
    ),
    "mbpp": (
        "Solve the task below in Python. The assertion shows the function's name and how it is called. "
        "Reply with the complete function, including any imports it needs, in a single ```python code "
        "block.\n\n```python\n{prompt}\n```"
    ),
}


@dataclass(frozen=True)
class TimeLimits:
    """EvalPlus's time rule: per input `max(floor_s, factor * reference runtime)`, per phase a cap."""

    factor: float = 4.0
    floor_s: float = 1.0
    phase_cap_s: float = 60.0
    retime: bool = True
    """Also time the reference inside each checking program and use the larger runtime (load-robust)."""

    def per_input(self, reference_times: Sequence[float]) -> list[float]:
        """The time each input may take, derived from how long the reference solution took on it."""
        return [max(self.floor_s, self.factor * t) for t in reference_times]


@dataclass(frozen=True)
class Reference:
    """How long the canonical solution took on each base and plus input (seconds), measured in the sandbox.

    Expected *outputs* are not stored: the program recomputes them with the reference solution, because
    a few are enormous (see `recode.evaluation._plus_child`).
    """

    base_times: tuple[float, ...]
    plus_times: tuple[float, ...]


@dataclass(frozen=True)
class Verdict:
    """Outcome of one solution: status of the base and plus phases and a human-readable detail."""

    base: str
    plus: str | None
    detail: str = ""
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        """Passed every phase that was run (base + plus, or base alone with `base_only`)."""
        return self.base == "pass" and self.plus in ("pass", None)

    @property
    def base_passed(self) -> bool:
        """Passed the original benchmark's inputs: what `base_pass@k` (plain HumanEval/MBPP) counts."""
        return self.base == "pass"


@dataclass
class PlusEvalConfig:
    """Everything that changes a HumanEval+/MBPP+ verdict or score, recorded in the results JSON."""

    k: list[int] = field(default_factory=lambda: [1])
    base_only: bool = False
    time_limits: TimeLimits = field(default_factory=TimeLimits)
    memory_mb: int = 4096
    workers: int | None = None
    cache_dir: Path | None = None
    use_cache: bool = True


# --------------------------------------------------------------------------------------------- programs


def child_program(job: dict[str, Any], nonce: str) -> str:
    """Source of one sandbox program: the child harness followed by a call with the pickled job."""
    payload = base64.b64encode(pickle.dumps(job)).decode("ascii")
    return f"{CHILD_SOURCE}\n_main({payload!r}, {nonce!r})\n"


def parse_reports(stdout: str, nonce: str) -> dict[str, dict[str, Any]]:
    """Phase reports (`{"base": {...}, "plus": {...}}`) printed by the child after the nonce sentinel."""
    reports = {}
    for line in stdout.splitlines():
        if line.startswith(nonce):
            report = json.loads(line[len(nonce) :])
            reports[report["phase"]] = report
    return reports


def _sandbox(cfg: PlusEvalConfig, timeout_s: float) -> Any:
    """A sandbox without preloaded libraries: these tasks need only the standard library."""
    from recode.sandbox import Sandbox, SandboxLimits

    return Sandbox(
        SandboxLimits(timeout_s=timeout_s, memory_mb=cfg.memory_mb), preload=(), workers=cfg.workers
    )


# ------------------------------------------------------------------------------------------- references


def cache_path(dataset: PlusDataset, cache_dir: Path | None = None) -> Path:
    """Reference cache file: one per data file content and Python version (outputs may differ by version)."""
    root = cache_dir or Path(os.environ.get(CACHE_ENV, "~/.cache/recode")).expanduser()
    version = f"py{sys.version_info.major}{sys.version_info.minor}"
    return root / "evalplus" / f"{dataset.name}-{dataset.sha256[:16]}-{version}.json"


def _load_cache(path: Path) -> dict[str, Reference]:
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {
            tid: Reference(tuple(ref["base_times"]), tuple(ref["plus_times"])) for tid, ref in raw.items()
        }
    except (json.JSONDecodeError, TypeError, KeyError):
        return {}  # a damaged cache is recomputed, not fatal


def _save_cache(path: Path, refs: dict[str, Reference]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({tid: asdict(ref) for tid, ref in refs.items()}), encoding="utf-8")
    tmp.replace(path)


def _job(dataset: str, task: PlusTask, mode: str, code: str, phases: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "mode": mode,
        "dataset": dataset,
        "code": code,
        "reference": task.reference_program,
        "entry_point": task.entry_point,
        "atol": task.atol,
        "phases": phases,
    }


def _truth_job(dataset: str, task: PlusTask) -> dict[str, Any]:
    phases = [{"name": "base", "inputs": task.base_input}, {"name": "plus", "inputs": task.plus_input}]
    return _job(dataset, task, "truth", "", phases)


def compute_references(
    dataset: PlusDataset, cfg: PlusEvalConfig | None = None, *, progress: bool = True
) -> dict[str, Reference]:
    """Reference runtimes (which set the time limits) for every task of `dataset`, cached per data file.

    Raises RecodeError naming the tasks whose canonical solution fails to run, since without its outputs
    a task cannot be scored.
    """
    cfg = cfg or PlusEvalConfig()
    path = cache_path(dataset, cfg.cache_dir)
    cached = _load_cache(path) if cfg.use_cache else {}
    missing = [t for t in dataset.tasks if t.task_id not in cached]
    if missing:
        cached.update(_run_references(dataset.name, missing, cfg, progress))
        if cfg.use_cache:
            _save_cache(path, cached)
    return {t.task_id: cached[t.task_id] for t in dataset.tasks}


def _run_references(
    name: str, tasks: Sequence[PlusTask], cfg: PlusEvalConfig, progress: bool
) -> dict[str, Reference]:
    from recode.evaluation.backends import progress_bar

    nonces = [secrets.token_hex(16) for _ in tasks]
    results = []
    with (
        _sandbox(cfg, REFERENCE_TIMEOUT_S) as sandbox,
        progress_bar(progress, len(tasks), "reference outputs") as advance,
    ):
        for start in range(0, len(tasks), CHUNK):
            chunk = zip(tasks[start : start + CHUNK], nonces[start : start + CHUNK], strict=True)
            results += sandbox.run_many(
                [child_program(_truth_job(name, t), n) for t, n in chunk], progress=False
            )
            advance(len(results) - start)
    refs, failures = {}, []
    for task, nonce, result in zip(tasks, nonces, results, strict=True):
        reports = parse_reports(result.stdout, nonce)
        base, plus = reports.get("base", {}), reports.get("plus", {})
        if base.get("status") != "pass" or plus.get("status") != "pass":
            failures.append(f"{task.task_id} ({_failure_text(result, reports)})")
            continue
        refs[task.task_id] = Reference(tuple(base["times"]), tuple(plus["times"]))
    if failures:
        raise RecodeError(
            f"the canonical solution of {len(failures)} task(s) failed to run: {'; '.join(failures[:5])}",
            hint="check the data file (is it an EvalPlus release?) and the sandbox (`recode sandbox run`)",
        )
    return refs


def _failure_text(result: Any, reports: dict[str, dict[str, Any]]) -> str:
    for report in reports.values():
        if report.get("status") not in ("pass", None):
            return f"{report['phase']}: {report.get('error')}: {report.get('message', '')}".strip()
    tail = (result.stderr or "").strip().splitlines()[-1:] or [result.status]
    return f"{result.status}: {tail[0][:200]}"


# --------------------------------------------------------------------------------------------- verdicts


def _check_job(
    dataset: str, task: PlusTask, ref: Reference, code: str, limits: TimeLimits, base_only: bool
) -> tuple[dict[str, Any], float]:
    """The child's job for one solution, and a wall-clock backstop for the whole program.

    The backstop only catches what the in-program timer cannot interrupt (a long C call holding the
    GIL): per phase, the largest candidate budget plus generous time for the reference to recompute
    the expected outputs, so it never decides a verdict a per-input limit would have decided.
    """
    phases = [("base", task.base_input, ref.base_times)]
    if not base_only:
        phases.append(("plus", task.plus_input, ref.plus_times))
    job_phases, backstop = [], 10.0
    for name, inputs, times in phases:
        job_phases.append({"name": name, "inputs": inputs, "limits": limits.per_input(times)})
        backstop += limits.phase_cap_s + 1.0 + 4.0 * sum(times)
    job = _job(dataset, task, "check", code, job_phases)
    job["time"] = {
        "factor": limits.factor,
        "floor_s": limits.floor_s,
        "cap_s": limits.phase_cap_s,
        "retime": limits.retime,
    }
    return job, backstop


def check_solutions(
    dataset: PlusDataset,
    references: dict[str, Reference],
    solutions: Sequence[tuple[str, str]],
    cfg: PlusEvalConfig | None = None,
    *,
    progress: bool = True,
) -> list[Verdict]:
    """Run each `(task_id, complete solution code)` on its task's inputs; verdicts in input order.

    Programs carry their inputs and expected outputs (up to a few MB for some tasks), so they are built
    and run in chunks rather than all at once. The sandbox's wall-clock limit is only a backstop (the
    largest phase budget of a chunk plus start-up slack); the per-input limits enforced inside each
    program decide the verdict.
    """
    from recode.evaluation.backends import progress_bar
    from recode.sandbox import SandboxLimits

    cfg = cfg or PlusEvalConfig()
    tasks = {t.task_id: t for t in dataset.tasks}
    verdicts: list[Verdict] = []
    with (
        _sandbox(cfg, REFERENCE_TIMEOUT_S) as sandbox,
        progress_bar(progress, len(solutions), f"{dataset.name}+ verdicts") as advance,
    ):
        for start in range(0, len(solutions), CHUNK):
            chunk = solutions[start : start + CHUNK]
            jobs = [
                _check_job(dataset.name, tasks[tid], references[tid], code, cfg.time_limits, cfg.base_only)
                for tid, code in chunk
            ]
            nonces = [secrets.token_hex(16) for _ in chunk]
            sources = [child_program(job, nonce) for (job, _), nonce in zip(jobs, nonces, strict=True)]
            limits = SandboxLimits(timeout_s=max(b for _, b in jobs), memory_mb=cfg.memory_mb)
            results = sandbox.run_many(sources, limits, progress=False)
            verdicts.extend(
                _verdict(r, nonce, cfg.base_only) for r, nonce in zip(results, nonces, strict=True)
            )
            advance(len(chunk))
    return verdicts


def _verdict(result: Any, nonce: str, base_only: bool) -> Verdict:
    reports = parse_reports(result.stdout, nonce)
    missing = "timeout" if result.status == "timeout" else "error"
    base = reports.get("base", {}).get("status", missing)
    plus = None if base_only else reports.get("plus", {}).get("status", missing)
    return Verdict(base, plus, _detail(reports, result, base_only), result.duration_s)


def _detail(reports: dict[str, dict[str, Any]], result: Any, base_only: bool) -> str:
    for phase in ("base",) if base_only else ("base", "plus"):
        report = reports.get(phase)
        if report is None:
            reason = result.error_type or result.status
            return (
                f"{phase}: no result ({reason}{': ' + result.error_message if result.error_message else ''})"
            )
        if report["status"] != "pass":
            where = f" at input {report['index']}" if report.get("index") is not None else ""
            message = f": {report['message']}" if report.get("message") else ""
            return f"{phase}: {report['status']}{where} ({report['error']}{message})"
    return ""


# -------------------------------------------------------------------------------------- solutions, prompts

_IMPORT_LINE = re.compile(r"^(?:import\s+\S.*|from\s+\S+\s+import\s+.+)$")


def prompt_messages(dataset: str, task: PlusTask, style: str = "instruct") -> list[dict[str, str]]:
    """Chat messages asking for the task's function; `style="recode"` adds ReCode's prompt and prefill."""
    user = INSTRUCTION[dataset].format(prompt=task.prompt.strip())
    if style == "instruct":
        return [{"role": "user", "content": user}]
    if style == "recode":
        from recode.data.prompts import PREFILL, SYSTEM_PROMPT

        answer = (
            "\nPut your reasoning inside <think></think> tags and the code inside <answer></answer> tags."
        )
        return [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": user + answer},
            {"role": "assistant", "content": PREFILL},
        ]
    raise RecodeError(f"unknown prompt style {style!r}", hint="choose instruct or recode")


def solution_from_completion(task: PlusTask, completion: str) -> str:
    """The program to test: the extracted code block, or the prompt continued by the raw text.

    A completion that defines the entry point is taken as a whole script (the prompt's own imports are
    put in front, as models often drop `from typing import List`); one that does not is treated as the
    body that continues the prompt, as base models produce.
    """
    from recode.rewards.extract import extract_code

    code = extract_code(completion) or completion
    if re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(task.entry_point)}\s*\(", code, re.MULTILINE):
        imports = [line for line in task.prompt.splitlines() if _IMPORT_LINE.match(line)]
        return "\n".join([*imports, code]) if imports else code
    return task.prompt + completion


# ---------------------------------------------------------------------------------------------- scoring


def score_tasks(
    dataset: PlusDataset,
    samples: dict[str, list[str]],
    solutions: dict[str, list[str]],
    verdicts: dict[str, list[Verdict]],
    ks: Sequence[int],
    base_only: bool,
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Per-task records (run-result JSON shape) and the mean metrics over tasks."""
    tasks, totals = [], {}
    for task in dataset.tasks:
        if task.task_id not in verdicts:
            continue
        found = verdicts[task.task_id]
        n = len(found)
        c = sum(v.passed for v in found)
        c_base = sum(v.base_passed for v in found)
        metrics = {}
        for k in ks:
            if k <= n:
                metrics[f"pass@{k}"] = pass_at_k(n, c, k)
                if not base_only:
                    metrics[f"base_pass@{k}"] = pass_at_k(n, c_base, k)
        for name, value in metrics.items():
            totals.setdefault(name, []).append(value)
        tasks.append(
            {
                "task_id": task.task_id,
                "n": n,
                "c": c,
                "c_base": c_base,
                "metrics": metrics,
                "samples": [
                    {
                        "completion": comp,
                        "solution": sol,
                        "passed": v.passed,
                        "status": _status(v),
                        "base_status": v.base,
                        "plus_status": v.plus,
                        "detail": v.detail,
                        "duration_s": round(v.duration_s, 4),
                    }
                    for comp, sol, v in zip(
                        samples[task.task_id], solutions[task.task_id], found, strict=True
                    )
                ],
            }
        )
    return {name: sum(values) / len(values) for name, values in totals.items()}, tasks


def _status(v: Verdict) -> str:
    if v.passed:
        return "ok"
    return "timeout" if "timeout" in (v.base, v.plus) else "fail"


def evaluate_samples(
    dataset: PlusDataset,
    samples: dict[str, list[str]],
    cfg: PlusEvalConfig,
    *,
    solution_builder: Callable[[PlusTask, str], str] = solution_from_completion,
    progress: bool = True,
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """References -> verdicts -> scores for completions keyed by task id (tasks without samples skipped)."""
    subset = dataset.select([tid for tid in (t.task_id for t in dataset.tasks) if tid in samples])
    references = compute_references(subset, cfg, progress=progress)
    by_id = {t.task_id: t for t in subset.tasks}
    solutions = {tid: [solution_builder(by_id[tid], comp) for comp in samples[tid]] for tid in by_id}
    flat = [(tid, code) for tid in by_id for code in solutions[tid]]
    flat_verdicts = iter(check_solutions(subset, references, flat, cfg, progress=progress))
    verdicts = {tid: [next(flat_verdicts) for _ in solutions[tid]] for tid in by_id}
    return score_tasks(subset, samples, solutions, verdicts, cfg.k, cfg.base_only)


def generate_samples(
    dataset: PlusDataset, backend: Any, gen: Any, *, style: str = "instruct", progress: bool = True
) -> dict[str, list[str]]:
    """`gen.n` completions per task from a `recode.evaluation.backends` backend, keyed by task id."""
    prompts = [prompt_messages(dataset.name, task, style) for task in dataset.tasks]
    outputs = backend.generate(prompts, gen, progress=progress)
    return {task.task_id: list(texts) for task, texts in zip(dataset.tasks, outputs, strict=True)}


def read_samples(path: str | Path, known: set[str] | None = None) -> dict[str, list[str]]:
    """EvalPlus/HumanEval samples JSONL (`task_id` with `completion` or a complete `solution`) by task id."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise RecodeError(
            f"{path}: no such samples file", hint='each line: {"task_id": ..., "completion": ...}'
        )
    samples: dict[str, list[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            task_id, text = row["task_id"], row.get("solution", row.get("completion"))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise RecodeError(
                f"{path}:{number}: expected a JSON object with task_id and completion (or solution)"
            ) from None
        if not isinstance(text, str):
            raise RecodeError(f"{path}:{number}: 'completion' / 'solution' must be a string")
        if known is not None and task_id not in known:
            raise RecodeError(
                f"{path}:{number}: unknown task_id {task_id!r}", hint="is it the right dataset?"
            )
        samples.setdefault(task_id, []).append(text)
    if not samples:
        raise RecodeError(f"{path}: no samples in the file")
    return samples


def write_samples(path: str | Path, samples: dict[str, list[str]]) -> Path:
    """Save completions as EvalPlus-style JSONL, so scoring can be rerun without generating again."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for task_id, texts in samples.items():
            for text in texts:
                handle.write(json.dumps({"task_id": task_id, "completion": text}, ensure_ascii=False) + "\n")
    return path


def write_result(result: dict[str, Any], path: str | Path) -> Path:
    """Write a run-result JSON (parent folders created)."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def oracle_samples(dataset: PlusDataset) -> dict[str, list[str]]:
    """One 'completion' per task: its canonical solution (scored as the prompt continued by it)."""
    return {t.task_id: [t.canonical_solution] for t in dataset.tasks}


def oracle_solution(task: PlusTask, completion: str) -> str:
    """The program EvalPlus itself uses as reference: prompt + canonical solution."""
    return task.prompt + completion


def run_result(
    dataset: PlusDataset,
    metrics: dict[str, float],
    tasks: list[dict[str, Any]],
    cfg: PlusEvalConfig,
    *,
    model: str,
    backend: str,
    variant: str = "standard",
    extra_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run-result JSON every `recode eval …` writes (read by `recode compare` and `recode report`)."""
    limits = cfg.time_limits
    config = {
        "data": str(dataset.path),
        "data_sha256": dataset.sha256,
        "data_release": release_name(dataset),
        "tasks": len(tasks),
        "base_only": cfg.base_only,
        "time_factor": limits.factor,
        "time_floor_s": limits.floor_s,
        "time_retime": limits.retime,
        "phase_cap_s": limits.phase_cap_s,
        "memory_mb": cfg.memory_mb,
        **(extra_config or {}),
    }
    return {
        "kind": dataset.name,
        "variant": variant,
        "model": model,
        "backend": backend,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": config,
        "k": list(cfg.k),
        "metrics": metrics,
        "groups": {},
        "tasks": tasks,
    }
