"""`recode compare`: deltas, per-group rows and the seeded paired bootstrap, on synthetic results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from recode.cli.analysis import register
from recode.errors import RecodeError
from recode.evaluation.compare import compare_runs, load_runs, paired_bootstrap, to_markdown


def _result(path: Path, per_task: list[float], packages: dict[str, float]) -> Path:
    tasks = [
        {"task_id": f"t{i}", "n": 1, "c": int(v), "metrics": {"pass@1": v}, "package": "numpy"}
        for i, v in enumerate(per_task)
    ]
    data = {
        "kind": "arena",
        "variant": "standard",
        "model": path.stem,
        "backend": "samples",
        "k": [1],
        "metrics": {"pass@1": float(np.mean(per_task))},
        "groups": {"package": {p: {"pass@1": v, "n_tasks": 3} for p, v in packages.items()}},
        "tasks": tasks,
    }
    path.write_text(json.dumps(data))
    return path


def test_bootstrap_is_seeded_and_brackets_the_delta() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2, 200).astype(float)
    b = np.clip(a + (rng.random(200) < 0.3), 0, 1)  # b solves everything a does, and ~30% more
    first = paired_bootstrap(a, b, resamples=2000, seed=7)
    assert first == paired_bootstrap(a, b, resamples=2000, seed=7)
    delta, low, high, p = first
    assert delta == pytest.approx(b.mean() - a.mean())
    assert low < delta < high and low > 0
    assert p < 0.01


def test_bootstrap_of_identical_runs_is_not_significant() -> None:
    a = np.array([1.0, 0.0, 1.0, 1.0, 0.0] * 20)
    delta, low, high, p = paired_bootstrap(a, a.copy(), resamples=500)
    assert delta == 0 and low == 0 and high == 0 and p == 1.0
    with pytest.raises(RecodeError):
        paired_bootstrap([1.0], [1.0, 0.0])


def test_compare_tables_and_markdown(tmp_path: Path) -> None:
    base = _result(tmp_path / "base.json", [1, 0, 0, 1, 0, 0], {"numpy": 0.2, "math": 0.5})
    after = _result(tmp_path / "after.json", [1, 1, 0, 1, 1, 0], {"numpy": 0.6, "re": 0.4})
    comparison = compare_runs(load_runs([base, after]), resamples=1000)
    assert comparison.metrics == ["pass@1"]
    assert comparison.groups["package"] == ["math", "numpy", "re"]
    (boot,) = comparison.bootstraps
    assert boot.n_tasks == 6 and boot.delta == pytest.approx(2 / 6)
    text = to_markdown(comparison)
    assert "| pass@1 | 33.3 | 66.7 | +33.3 |" in text
    assert "| math | 50.0 | – | – | – |" in text and "| numpy | 20.0 | 60.0 | +40.0 | " in text
    within = comparison.group_bootstraps[("package", "numpy", "after")]  # every task is a numpy task here
    assert within.n_tasks == 6 and within.delta == pytest.approx(2 / 6)
    assert ("package", "math", "after") not in comparison.group_bootstraps  # no paired tasks: no p


def test_compare_cli_writes_markdown_and_rejects_bad_input(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    (tmp_path / "a").mkdir()
    base = _result(tmp_path / "a" / "run.json", [1, 0], {})
    after = _result(tmp_path / "b.json", [1, 1], {})
    out = tmp_path / "cmp.md"
    result = runner.invoke(app, ["compare", str(base), str(after), "--out", str(out), "--resamples", "200"])
    assert result.exit_code == 0, result.output
    assert "paired bootstrap" in result.output and out.read_text().startswith("# Comparison")
    (tmp_path / "junk.json").write_text("{}")
    result = runner.invoke(app, ["compare", str(base), str(tmp_path / "junk.json")])
    assert result.exit_code != 0 and isinstance(result.exception, RecodeError)
