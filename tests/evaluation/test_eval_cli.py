"""`recode eval arena` from the command line: oracle, samples files, clear one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recode.cli import app
from recode.data.schemas import ArenaRecord

runner = CliRunner()


@pytest.fixture
def arena_file(tmp_path: Path, records: list[ArenaRecord]) -> Path:
    path = tmp_path / "arena.jsonl"
    path.write_text("\n".join(json.dumps(r.to_dict()) for r in records) + "\n", encoding="utf-8")
    return path


@pytest.mark.usefixtures("extraction")
def test_oracle_and_samples_runs_write_the_run_result(tmp_path: Path, arena_file: Path) -> None:
    out = tmp_path / "oracle.json"
    result = runner.invoke(app, ["eval", "arena", "--oracle", "--data", str(arena_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    oracle = json.loads(out.read_text())
    assert (oracle["pass@1"], oracle["n_tasks"], oracle["backend"]) == (1.0, 3, "oracle")
    assert "pass@1_without_update" in result.output and "by update type" in result.output
    assert oracle["config"]["prompt_style"] == "with_doc"

    again = runner.invoke(app, ["eval", "arena", "--oracle", "--data", str(arena_file), "--out", str(out)])
    assert "reused 6 cached verdict set(s)" in again.output.replace("\n", "")
    assert json.loads(out.read_text())["tasks"] == oracle["tasks"]
    fresh = ["eval", "arena", "--oracle", "--data", str(arena_file), "--out", str(out), "--fresh", "--no-doc"]
    rerun = runner.invoke(app, fresh)
    assert rerun.exit_code == 0 and "reused" not in rerun.output
    assert json.loads(out.read_text())["config"]["prompt_style"] == "no_doc"

    ids = [t["task_id"] for t in oracle["tasks"]]
    samples = tmp_path / "samples.jsonl"
    rows = [{"prog_syn_id": ids[0], "completion": "```python\nx = 1\n```"} for _ in range(2)]
    samples.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "samples.json"
    args = ["eval", "arena", "--samples", str(samples), "--data", str(arena_file), "--out", str(out)]
    result = runner.invoke(app, [*args, "--isolate-tests"])
    assert result.exit_code == 0, result.output
    scored = json.loads(out.read_text())
    assert (scored["n_tasks"], scored["k"], scored["pass@1"]) == (1, [1], 0.0)
    assert "2 of 3 tasks have no samples" in result.output


def test_exactly_one_candidate_source(arena_file: Path) -> None:
    result = runner.invoke(app, ["eval", "arena", "--data", str(arena_file)])
    assert result.exit_code == 1
    assert "exactly one of --oracle, --samples FILE or --model M" in result.output


def test_bad_samples_line_is_reported_with_file_and_line(tmp_path: Path, arena_file: Path) -> None:
    samples = tmp_path / "bad.jsonl"
    samples.write_text('{"prog_syn_id": "nope", "completion": "x"}\n', encoding="utf-8")
    result = runner.invoke(app, ["eval", "arena", "--samples", str(samples), "--data", str(arena_file)])
    assert result.exit_code == 1
    assert f"{samples}:1: unknown prog_syn_id 'nope'" in result.output.replace("\n", "")


def test_k_above_n_is_refused(tmp_path: Path, arena_file: Path) -> None:
    args = ["eval", "arena", "--oracle", "--data", str(arena_file), "--k", "1,5"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "pass@5 needs at least 5 samples" in result.output


@pytest.mark.usefixtures("extraction")
def test_model_run_generates_caches_and_resumes(
    tmp_path: Path, arena_file: Path, tiny_model_dir: Path
) -> None:
    out = tmp_path / "tiny.json"
    args = ["eval", "arena", "--model", str(tiny_model_dir), "--data", str(arena_file), "--out", str(out)]
    args += ["--n", "2", "--max-new-tokens", "8"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    scored = json.loads(out.read_text())
    assert (scored["backend"], scored["k"], scored["n_tasks"]) == ("hf", [1], 3)
    assert scored["config"]["generation"]["n"] == 2
    cache = out.with_suffix(".samples.jsonl")
    assert len(cache.read_text().splitlines()) == 6
    assert runner.invoke(app, args).exit_code == 0
    assert len(cache.read_text().splitlines()) == 6  # resumed entirely from the cache


def test_unwritable_out_fails_before_running(tmp_path: Path, arena_file: Path) -> None:
    result = runner.invoke(
        app, ["eval", "arena", "--oracle", "--data", str(arena_file), "--out", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "cannot write --out" in result.output and "executing" not in result.output
