"""`recode eval humaneval|mbpp` from the command line: oracle, samples files, subsets, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recode.cli import app
from recode.evaluation.evalplus_data import arena_sample_ids, load_plus

sandbox = pytest.importorskip("recode.sandbox")

runner = CliRunner()


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))


def test_oracle_on_a_few_tasks_writes_a_run_result(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "he.json"
    result = runner.invoke(app, ["eval", "humaneval", "--oracle", "--limit", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "every canonical solution passed" in result.output
    data = json.loads(out.read_text())
    assert data["kind"] == "humaneval" and data["backend"] == "oracle" and data["config"]["tasks"] == 3
    assert data["config"]["data_release"] == "HumanEval+ v0.1.10"
    assert data["metrics"] == {"pass@1": 1.0, "base_pass@1": 1.0}
    assert [t["task_id"] for t in data["tasks"]] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]


def test_samples_file_is_scored_per_sample(shared_data: Path, tmp_path: Path) -> None:
    task = load_plus("mbpp").tasks[0]
    right = f"```python\n{task.prompt}{task.canonical_solution}\n```"
    wrong = f"```python\ndef {task.entry_point}(*args):\n    return []\n```"
    samples = tmp_path / "samples.jsonl"
    samples.write_text(
        "".join(json.dumps({"task_id": task.task_id, "completion": c}) + "\n" for c in (right, wrong))
    )
    out = tmp_path / "mbpp.json"
    result = runner.invoke(app, ["eval", "mbpp", "--samples", str(samples), "--k", "1,2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    (record,) = data["tasks"]
    assert (record["n"], record["c"]) == (2, 1)
    assert data["metrics"]["pass@1"] == pytest.approx(0.5) and data["metrics"]["pass@2"] == 1.0
    assert [s["passed"] for s in record["samples"]] == [True, False]
    assert "WrongAnswer" in record["samples"][1]["detail"]


def test_arena_sample_subset_selects_codeupdatearena_ids(shared_data: Path, tmp_path: Path) -> None:
    ids = arena_sample_ids()
    assert len(ids) == len(set(ids)) > 0
    out = tmp_path / "spec.json"
    args = ["eval", "humaneval", "--oracle", "--subset", "arena-sample", "--limit", "2", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    chosen = [t["task_id"] for t in json.loads(out.read_text())["tasks"]]
    assert len(chosen) == 2 and set(chosen) <= set(ids)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "humaneval"], "exactly one of --model, --samples or --oracle"),
        (["eval", "mbpp", "--oracle", "--subset", "arena-sample"], "HumanEval sample"),
        (["eval", "humaneval", "--oracle", "--tasks", "HumanEval/9999"], "not in"),
        (["eval", "humaneval", "--oracle", "--k", "5"], "pass@5 needs at least 5 samples"),
        (["eval", "humaneval", "--oracle", "--data", "/nonexistent.jsonl.gz"], "no such file"),
    ],
)
def test_user_errors_are_one_line(shared_data: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_model_run_samples_n_per_task_and_keeps_them(
    shared_data: Path, tmp_path: Path, tiny_model_dir: Path
) -> None:
    """A model through the same backends as the arena: n completions per task, saved beside --out."""
    out = tmp_path / "tiny.json"
    args = ["eval", "humaneval", "--model", str(tiny_model_dir), "--limit", "2", "--n", "2", "--k", "1,2"]
    result = runner.invoke(app, [*args, "--max-new-tokens", "8", "--temperature", "0.7", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["backend"] == "hf" and [t["n"] for t in data["tasks"]] == [2, 2]
    assert set(data["metrics"]) >= {"pass@1", "pass@2"}
    kept = out.with_suffix(".samples.jsonl").read_text().splitlines()
    assert len(kept) == 4 and {json.loads(line)["task_id"] for line in kept} == {"HumanEval/0", "HumanEval/1"}
