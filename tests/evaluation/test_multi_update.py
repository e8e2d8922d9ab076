"""Multi-update variants: deterministic from a seed, only coexisting updates combined, oracle passes."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from recode.data.loaders import load_arena
from recode.data.schemas import ArenaRecord
from recode.errors import RecodeError
from recode.evaluation.arena import Candidate, evaluate, oracle_candidates
from recode.evaluation.multi_update import (
    COMPOSITE_SEPARATOR,
    composite_task,
    composite_tasks,
    distractor_tasks,
    variant_tasks,
)
from recode.evaluation.programs import new_function_name


def _user_prompt(task: Any) -> str:
    return task.messages[-2]["content"]


def test_distractors_are_seeded_and_never_the_tasks_own_function(records: list[ArenaRecord]) -> None:
    first = distractor_tasks(records, seed=1)
    again = distractor_tasks(records, seed=1)
    assert [(t.task_id, t.extra, t.messages) for t in first] == [
        (t.task_id, t.extra, t.messages) for t in again
    ]
    for task in first:
        own = task.updates[0]
        assert 1 <= len(task.updates) - 1 <= 3
        assert all(u.function_path != own.function_path for u in task.updates[1:])
        prompt = _user_prompt(task)
        assert all(f"`{u.function_path}`" in prompt for u in task.updates)
        assert task.messages[-1]["role"] == "assistant"


def test_distractor_order_in_the_prompt_depends_on_the_seed(records: list[ArenaRecord]) -> None:
    def order(seed: int) -> list[list[int]]:
        return [
            sorted(
                range(len(t.updates)), key=lambda i, t=t: _user_prompt(t).index(t.updates[i].function_path)
            )
            for t in distractor_tasks(records, seed=seed)
        ]

    assert len({str(order(seed)) for seed in range(8)}) > 1


def test_composite_pairs_two_tasks_with_all_tests(records: list[ArenaRecord]) -> None:
    (task,) = composite_tasks(records[:2], seed=0)
    first, second = task.task_id.split(COMPOSITE_SEPARATOR)
    assert {first, second} == {records[0].examples[0].prog_syn_id, records[1].examples[0].prog_syn_id}
    assert len(task.unit_tests) == 2 + 3
    prompt = _user_prompt(task)
    assert "scaled_distance" in prompt and "simplify" in prompt and "Task 2." in prompt
    assert composite_tasks(records, seed=3) == composite_tasks(records, seed=3)


def test_updates_of_the_same_name_are_never_combined(records: list[ArenaRecord]) -> None:
    hypot = records[0]
    clash = replace(records[1], update=replace(records[1].update, function_path="cmath.gcd"))
    other_gcd = ArenaRecord(
        update=replace(hypot.update, function_path="other.hypot"), examples=hypot.examples
    )
    assert composite_tasks([records[1], clash], seed=0) == []
    assert composite_tasks([hypot, other_gcd], seed=0) == []


def test_unknown_variant_is_a_clear_error(records: list[ArenaRecord]) -> None:
    with pytest.raises(RecodeError, match="unknown variant 'triple'"):
        variant_tasks(records, "triple")


def test_composite_oracle_passes_and_ignoring_one_update_fails(
    records: list[ArenaRecord], sandbox: Any
) -> None:
    hypot, gcd = records[0], records[1]
    task = composite_task(hypot.update, hypot.examples[0], gcd.update, gcd.examples[0])
    ignores_rename = task.reference.replace("math.greatest_common_divisor", "math.gcd")
    ignores_nothing = task.reference
    candidates = {task.task_id: [Candidate(ignores_nothing, ignores_nothing), Candidate("", ignores_rename)]}
    body = evaluate([task], candidates, sandbox=sandbox, progress=False)
    good, bad = body["tasks"][0]["samples"]
    assert good["passed"] and not good["passed_without"]
    assert not bad["passed"]
    assert bad["tests"] == [True, True, False, False, False]  # hypot's tests pass, every gcd test fails
    assert "AttributeError" in bad["detail"]


def test_distractor_oracle_passes_with_every_update_enacted(records: list[ArenaRecord], sandbox: Any) -> None:
    tasks = distractor_tasks(records, seed=0)
    body = evaluate(tasks, oracle_candidates(tasks), sandbox=sandbox, progress=False)
    assert body["metrics"]["pass@1"] == 1.0
    assert body["metrics"]["pass@1_without_update"] == 0.0


def test_variants_on_the_real_benchmark_are_deterministic(arena_file: Path) -> None:
    records = load_arena(arena_file)
    composite = composite_tasks(records, seed=0)
    distractors = distractor_tasks(records, seed=0)
    assert len(distractors) == sum(len(r.examples) for r in records)
    assert len(composite) > 200
    assert [t.task_id for t in composite] == [t.task_id for t in composite_tasks(records, seed=0)]
    assert [t.task_id for t in composite] != [t.task_id for t in composite_tasks(records, seed=1)]
    used = [part for t in composite for part in t.extra["parts"]]
    assert len(used) == len(set(used))
    for task in composite:
        a, b = task.updates
        assert a.function_path != b.function_path and a.function_name != b.function_name


_DIGEST = """
import hashlib, json, sys
from recode.data.loaders import load_arena
from recode.evaluation.multi_update import composite_tasks, distractor_tasks
records = load_arena(sys.argv[1])
tasks = distractor_tasks(records, seed=5) + composite_tasks(records, seed=5)
rows = [(t.task_id, t.extra, t.messages, [u.update_id for u in t.updates]) for t in tasks]
print(hashlib.sha256(json.dumps(rows).encode()).hexdigest())
"""


@pytest.mark.slow
def test_variants_are_identical_across_processes_and_hash_seeds(arena_file: Path) -> None:
    """The seed alone decides the tasks: no dependence on PYTHONHASHSEED (set order) or on the process."""

    def digest(hash_seed: str) -> str:
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", _DIGEST, str(arena_file)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    assert digest("1") == digest("2")


@pytest.mark.slow
def test_real_composites_fail_when_a_rename_is_ignored(arena_file: Path, sandbox: Any) -> None:
    """On the shipped benchmark: every math-only composite with a renamed function, answered by the
    reference with the old name put back, fails on the renamed half's tests (those that only check input
    validation still pass) and passes every test of the other half; the untouched reference passes all."""
    records = load_arena(arena_file)
    tests_of = {ex.prog_syn_id: len(ex.unit_tests) for rec in records for ex in rec.examples}
    chosen = []
    for task in composite_tasks(records, seed=0):
        renames = [u for u in task.updates if u.update_type == "modify-function-name"]
        if {u.package for u in task.updates} == {"math"} and len(renames) == 1:
            new = f"math.{new_function_name(renames[0])}("
            if new in task.reference:
                chosen.append(
                    (task, renames[0], task.reference.replace(new, f"math.{renames[0].function_name}("))
                )
    assert len(chosen) >= 5
    candidates = {
        task.task_id: [Candidate("", task.reference), Candidate("", bad)] for task, _, bad in chosen
    }
    body = evaluate([task for task, _, _ in chosen], candidates, sandbox=sandbox, progress=False)
    for (task, rename, _), record in zip(chosen, body["tasks"], strict=True):
        good, bad = record["samples"]
        first = tests_of[task.extra["parts"][0]]
        renamed_half = slice(0, first) if task.updates[0] is rename else slice(first, None)
        other_half = slice(first, None) if task.updates[0] is rename else slice(0, first)
        assert good["passed"], task.task_id
        assert not bad["passed"] and not all(bad["tests"][renamed_half]), task.task_id
        assert all(bad["tests"][other_half]), task.task_id
