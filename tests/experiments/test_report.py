"""`recode report`: Markdown and PNGs from training logs, results JSONs and an ablation summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from recode.cli.analysis import register
from recode.errors import RecodeError
from recode.experiments.report import _merged, build_report, collect


def _write_run(root: Path) -> None:
    (root / "train").mkdir(parents=True)
    rows = [
        {"step": s, "reward": 0.1 * s, "rewards/es_star/mean": 0.05 * s, "frac_reward_zero_std": 0.5 / s}
        for s in range(1, 6)
    ]
    (root / "train" / "log_history.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    for name, value in (("before", 0.2), ("after", 0.5)):
        result = {
            "kind": "arena",
            "model": name,
            "metrics": {"pass@1": value},
            "groups": {
                "package": {"numpy": {"pass@1": value, "n_tasks": 2}, "math": {"pass@1": value / 2}},
                "update_type": {"add-argument": {"pass@1": value}},
            },
            "tasks": [],
        }
        (root / f"{name}.json").write_text(json.dumps(result))
    ablation = {
        "kind": "ablation",
        "config": "x.yaml",
        "evaluation": "held-out ES*",
        "variants": [
            {
                "name": "format",
                "rewards": ["format"],
                "metrics": {"es_star": 0.3},
                "zero_std_fraction": 0.8,
                "train_seconds": 3.0,
            },
            {
                "name": "es_star",
                "rewards": ["format", "es_star"],
                "metrics": {"es_star": 0.6},
                "zero_std_fraction": 0.1,
                "train_seconds": 3.5,
            },
        ],
    }
    (root / "ablation.json").write_text(json.dumps(ablation))


def test_report_writes_markdown_and_plots(tmp_path: Path) -> None:
    _write_run(tmp_path / "run")
    run = tmp_path / "run"
    report = build_report([run / "before.json", run], tmp_path / "out")  # the baseline first, then the rest
    names = {p.name for p in report.figures}
    assert {"reward_curves.png", "accuracy_curves.png", "zero_std_groups.png", "ablation.png"} <= names
    assert {
        "arena_overall.png",
        "arena_pass_at_1_package.png",
        "arena_pass_at_1_update_type.png",
    } <= names
    for figure in report.figures:
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size > 1000
    text = report.markdown.read_text()
    assert "| metric | before | run/after | Δ run/after |" in text  # before.json is not repeated
    assert "| pass@1 | 20.0 | 50.0 | +30.0 |" in text
    assert "| es_star | format + es_star | 60.0 | 10.0 |" in text
    assert "| run/train | 5 | 0.1 | 0.5 |" in text
    for name in names:
        assert f"]({name})" in text


def test_report_cli_and_empty_input(tmp_path: Path) -> None:
    _write_run(tmp_path / "run")
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["report", str(tmp_path / "run"), "--out", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "rep" / "report.md").is_file()
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecodeError, match="nothing to report"):
        collect([tmp_path / "empty"])


def test_identical_curves_are_drawn_once_with_every_name() -> None:
    same = ([1.0, 2.0], [-3.0, -3.0])
    merged = _merged({"em": same, "es": same, "format": ([1.0, 2.0], [-1.0, -1.0])})
    assert merged == [("em, es (identical)", [1.0, 2.0], [-3.0, -3.0]), ("format", [1.0, 2.0], [-1.0, -1.0])]


def test_a_damaged_training_log_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "log_history.jsonl").write_text('{"step": 1}\n{"step": 2, "rew\n')
    with pytest.raises(RecodeError, match=r"log_history.jsonl:2: not a JSON object"):
        collect([tmp_path])
