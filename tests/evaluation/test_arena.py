"""Arena scoring end to end through the sandbox, samples files, and the run-result JSON."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from recode.data.schemas import ArenaRecord
from recode.errors import RecodeError
from recode.evaluation.arena import (
    Candidate,
    ExecConfig,
    evaluate,
    oracle_candidates,
    read_samples,
    run_result,
)
from recode.evaluation.tasks import standard_tasks

OLD_API_HYPOT = "import math\n\ndef scaled_distance(x, y, s):\n    return math.hypot(x, y) * s\n"


def _fenced(code: str) -> str:
    return f"reasoning</think>\n<answer>\n```python\n{code}```\n</answer>"


def test_oracle_passes_with_the_update_and_fails_without(records: list[ArenaRecord], sandbox: Any) -> None:
    tasks = standard_tasks(records)
    body = evaluate(tasks, oracle_candidates(tasks), sandbox=sandbox, progress=False)
    assert body["metrics"]["pass@1"] == 1.0
    assert body["metrics"]["pass@1_without_update"] == 0.0
    assert body["metrics"]["upass@1"] == 1.0
    assert body["metrics"]["test_accuracy"] == 1.0
    assert body["groups"]["update_type"]["modify-function-name"]["n_tasks"] == 1
    assert {t["c"] for t in body["tasks"]} == {1}


@pytest.mark.usefixtures("extraction")
def test_scores_several_samples_per_task(records: list[ArenaRecord], sandbox: Any) -> None:
    task = standard_tasks(records)[0]
    samples = [
        Candidate.from_completion(_fenced(task.reference)),  # uses the update
        Candidate.from_completion(_fenced(OLD_API_HYPOT)),  # passes with and without: not an UPass
        Candidate.from_completion("no code here, sorry"),
        Candidate.from_completion(_fenced("import sys\nsys.exit(0)\n")),  # exits before any test
        Candidate.from_completion(
            _fenced(task.reference.replace("return", "import os; os._exit(0); return"))
        ),
    ]
    body = evaluate([task], {task.task_id: samples}, ks=(1, 5), sandbox=sandbox, progress=False)
    (record,) = body["tasks"]
    assert (record["n"], record["c"], record["c_without"], record["c_upass"]) == (5, 2, 1, 1)
    assert record["metrics"]["pass@1"] == pytest.approx(0.4)
    assert record["metrics"]["pass@5"] == 1.0
    assert record["metrics"]["upass@1"] == pytest.approx(0.2)
    statuses = [s["status"] for s in record["samples"]]
    assert statuses[:3] == ["ok", "ok", "no_code"]
    assert statuses[3] == statuses[4] == "early_exit"
    assert record["samples"][2]["tests"] == [False, False]


def test_k_above_the_sample_count_fails_before_running(records: list[ArenaRecord]) -> None:
    tasks = standard_tasks(records)
    with pytest.raises(RecodeError, match="pass@5 needs at least 5"):
        evaluate(tasks, oracle_candidates(tasks), ks=(1, 5), sandbox=object(), progress=False)


def test_run_result_follows_the_contract(records: list[ArenaRecord], sandbox: Any) -> None:
    tasks = standard_tasks(records)[:1]
    body = evaluate(tasks, oracle_candidates(tasks), sandbox=sandbox, progress=False)
    result = run_result(body, variant="standard", model="oracle", backend="oracle", config={"seed": 0})
    assert result["kind"] == "arena" and result["k"] == [1] and result["n_tasks"] == 1
    assert result["pass@1"] == result["metrics"]["pass@1"] == 1.0
    task = result["tasks"][0]
    assert {
        "task_id",
        "n",
        "c",
        "c_without",
        "c_upass",
        "metrics",
        "package",
        "update_type",
        "samples",
    } <= set(task)
    assert {"completion", "passed", "status", "detail"} <= set(task["samples"][0])
    json.dumps(result)


class CountingSandbox:
    """Wraps a sandbox and counts the programs it was asked to run (called from several threads)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.programs, self.workers = inner, 0, inner.workers
        self._lock = threading.Lock()

    def run(self, source: str, limits: Any = None) -> Any:
        with self._lock:
            self.programs += 1
        return self.inner.run(source, limits)


def test_verdict_cache_resumes_and_never_reuses_a_changed_program(
    tmp_path: Path, records: list[ArenaRecord], sandbox: Any
) -> None:
    tasks = standard_tasks(records)
    cache = tmp_path / "run.verdicts.jsonl"
    counting = CountingSandbox(sandbox)
    isolated = ExecConfig(isolate_tests=True)  # one program per test: easy to count
    run = {"sandbox": counting, "progress": False, "verdict_cache": cache, "config": isolated}
    first = evaluate(tasks, oracle_candidates(tasks), **run)
    assert counting.programs == 2 * sum(len(t.unit_tests) for t in tasks) == 12
    with cache.open("a", encoding="utf-8") as handle:
        handle.write('{"digest": "cut sh')  # the process died mid-line
    again = evaluate(tasks, oracle_candidates(tasks), **run)
    assert counting.programs == 12 and again["tasks"] == first["tasks"]
    assert again["execution"]["reused_from_cache"] == 6 and again["execution"]["isolation"] == "cached"
    changed = {t.task_id: [Candidate("x", t.reference + "\n# edited\n")] for t in tasks[:1]}
    evaluate(tasks, changed, **run)
    assert counting.programs == 12 + 4  # the edited sample ran again, with and without the update
    stricter = ExecConfig(timeout_s=5.0, isolate_tests=True)
    evaluate(tasks[:1], changed, **{**run, "config": stricter})
    assert counting.programs == 16 + 4  # other limits, other verdicts


def test_grouped_tests_give_the_isolated_verdicts_when_a_test_hangs(
    records: list[ArenaRecord], sandbox: Any
) -> None:
    task = standard_tasks(records)[1]  # simplify(): tests 0, 1 (7/5, hangs here), 2
    hangs = task.reference.replace("    g =", "    while num == 7:\n        pass\n    g =")
    candidates = {task.task_id: [Candidate(hangs, hangs)]}
    verdicts = {}
    for isolate in (True, False):
        counting = CountingSandbox(sandbox)
        config = ExecConfig(timeout_s=1.0, isolate_tests=isolate)
        body = evaluate([task], candidates, sandbox=counting, progress=False, config=config)
        verdicts[isolate] = body["tasks"][0]["samples"][0]
        if not isolate:  # each way: one program for all tests, then test 2 (never started) alone
            assert counting.programs == 4
    assert verdicts[True]["tests"] == verdicts[False]["tests"] == [True, False, True]
    assert verdicts[True]["tests_without"] == verdicts[False]["tests_without"] == [False] * 3
    assert verdicts[False]["status"] == "timeout"


class FailingSandbox(CountingSandbox):
    """Runs `good` programs, then fails the way a sandbox that cannot start a server does."""

    def __init__(self, inner: Any, good: int) -> None:
        super().__init__(inner)
        self.workers, self.good = 1, good

    def run(self, source: str, limits: Any = None) -> Any:
        if self.programs >= self.good:
            raise RecodeError("the sandbox failed to start")
        return super().run(source, limits)


def test_a_failing_sandbox_stops_the_run_and_keeps_finished_verdicts(
    tmp_path: Path, records: list[ArenaRecord], sandbox: Any
) -> None:
    tasks = standard_tasks(records)
    cache = tmp_path / "run.verdicts.jsonl"
    with pytest.raises(RecodeError, match="failed to start"):
        evaluate(tasks, oracle_candidates(tasks), sandbox=FailingSandbox(sandbox, 2), verdict_cache=cache)
    assert len(cache.read_text().splitlines()) == 2  # the two finished units survive the crash
    body = evaluate(tasks, oracle_candidates(tasks), sandbox=sandbox, progress=False, verdict_cache=cache)
    assert body["execution"]["reused_from_cache"] == 2 and body["metrics"]["pass@1"] == 1.0


def test_killing_the_sandbox_server_never_passes(records: list[ArenaRecord]) -> None:
    """Under the subprocess tier the program's parent is the fork-server itself, so the kill lands (a
    PID namespace makes the parent unreachable, and the program then simply runs its tests)."""
    from recode.sandbox import Sandbox, SandboxLimits

    task = standard_tasks(records)[2]
    kills = task.reference + "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
    limits = SandboxLimits(timeout_s=5.0, memory_mb=512)
    with Sandbox(limits, preload=(), workers=1, isolation="subprocess") as box:
        body = evaluate([task], {task.task_id: [Candidate(kills, kills)]}, sandbox=box, progress=False)
    sample = body["tasks"][0]["samples"][0]
    assert not sample["passed"] and not sample["passed_without"] and sample["status"] == "killed"


def test_identical_samples_run_once(records: list[ArenaRecord], sandbox: Any) -> None:
    task = standard_tasks(records)[2]
    same = [Candidate(task.reference, task.reference)] * 3
    counting = CountingSandbox(sandbox)
    body = evaluate([task], {task.task_id: same}, sandbox=counting, progress=False)
    assert counting.programs == 2 and body["tasks"][0]["c"] == 3


class OrderRecordingSandbox(CountingSandbox):
    """Records which task each program belongs to, in the order the programs start (one worker)."""

    def __init__(self, inner: Any, task_ids: list[str]) -> None:
        super().__init__(inner)
        self.workers, self.task_ids, self.started = 1, task_ids, []

    def run(self, source: str, limits: Any = None) -> Any:
        self.started.append(next(i for i in self.task_ids if _solution_of(i) in source))
        return super().run(source, limits)


def _solution_of(task_id: str) -> str:
    return f"# solution for {task_id}"


def test_units_whose_tests_build_big_data_start_first(records: list[ArenaRecord], sandbox: Any) -> None:
    """Longest-processing-time-first: a task whose test names 10**8 elements runs before a light one."""
    from recode.evaluation.execution import estimated_elements

    light, gcd, _ = standard_tasks(records)
    big = "def test_big():\n    assert len(range(10**8)) == 10**8  # sized like a heavy test, cheap\n"
    heavy = replace(gcd, unit_tests=(*gcd.unit_tests, big))
    assert estimated_elements(heavy) >= 10**8 > estimated_elements(light)
    tasks = [light, heavy]
    marked = {t.task_id: t.reference + _solution_of(t.task_id) + "\n" for t in tasks}
    recording = OrderRecordingSandbox(sandbox, list(marked))
    body = evaluate(
        tasks, {i: [Candidate(c, c)] for i, c in marked.items()}, sandbox=recording, progress=False
    )
    assert recording.started[:2] == [heavy.task_id] * 2  # with and without the update, before `light`
    assert [t["task_id"] for t in body["tasks"]] == [light.task_id, heavy.task_id]  # input order kept
    assert [t["c"] for t in body["tasks"]] == [1, 1]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.usefixtures("extraction")
def test_samples_file_groups_rows_by_id(tmp_path: Path, records: list[ArenaRecord]) -> None:
    ids = [t.task_id for t in standard_tasks(records)]
    rows = [json.dumps({"prog_syn_id": ids[0], "completion": _fenced(f"x = {i}\n")}) for i in range(3)]
    rows.append(
        json.dumps({"prog_syn_id": ids[1], "completion": [{"role": "assistant", "content": "y = 1"}]})
    )
    samples = read_samples(_write(tmp_path / "s.jsonl", ["", *rows]), ids)
    assert [c.code for c in samples[ids[0]]] == ["x = 0\n", "x = 1\n", "x = 2\n"]
    assert samples[ids[1]][0].code == "y = 1\n"  # bare code without a fence is taken as is


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"s.jsonl:2: not valid JSON"),
        ("[1, 2]", r"s.jsonl:2: expected a JSON object"),
        ('{"completion": "x"}', r"s.jsonl:2: missing string field 'prog_syn_id'"),
        ('{"prog_syn_id": "ID"}', r"s.jsonl:2: missing field 'completion'"),
        ('{"prog_syn_id": "nope", "completion": "x"}', r"s.jsonl:2: unknown prog_syn_id 'nope'"),
    ],
)
def test_bad_samples_files_name_file_and_line(
    tmp_path: Path, records: list[ArenaRecord], line: str, message: str
) -> None:
    ids = [t.task_id for t in standard_tasks(records)]
    good = json.dumps({"prog_syn_id": ids[0], "completion": "x = 1"})
    path = _write(tmp_path / "s.jsonl", [good, line.replace("ID", ids[0])])
    with pytest.raises(RecodeError, match=message):
        read_samples(path, ids)


def test_missing_or_empty_samples_file(tmp_path: Path) -> None:
    with pytest.raises(RecodeError, match="no such samples file"):
        read_samples(tmp_path / "absent.jsonl")
    with pytest.raises(RecodeError, match="no samples in the file"):
        read_samples(_write(tmp_path / "empty.jsonl", [""]))
