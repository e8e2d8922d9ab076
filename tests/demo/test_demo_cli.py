"""`recode demo` wiring: options reach the pipeline and the before/after table is printed."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from recode.cli import demo as demo_cli
from recode.demo import pipeline


def _fake_report(pass_before: float, pass_after: float, split: str = "heldout") -> dict:
    side = {"pass@1": 0.0, "exact_match": 0.0, "copied_legacy": 0.0, "by_kind": {}}
    before = {**side, "pass@1": pass_before, "by_kind": {"rename": {"pass@1": pass_before}}}
    after = {**side, "pass@1": pass_after, "by_kind": {"rename": {"pass@1": pass_after}}}
    return {
        "before": before,
        "after": after,
        "seconds": {"total": 12.0},
        "cpu_seconds": 20.0,
        "config": {"evaluate_on": split},
    }


def test_demo_command_runs_the_pipeline_and_prints_the_table(monkeypatch, tmp_path) -> None:
    seen = {}

    def fake_run_demo(out, cfg, console=None):
        seen.update(out=out, cfg=cfg)
        return _fake_report(0.1, 0.85, cfg.evaluate_on)

    monkeypatch.setattr(pipeline, "run_demo", fake_run_demo)
    app = typer.Typer()
    demo_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps typer from flattening the app
    result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(tmp_path), "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert seen["out"] == tmp_path and seen["cfg"].seed == 7
    assert seen["cfg"].rl_steps < 10  # --quick chose the quick preset
    assert "rename" in result.output and "+0.75" in result.output
    assert seen["cfg"].evaluate_on == "heldout" and "Held-out" in result.output
    result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(tmp_path), "--validation"])
    assert result.exit_code == 0, result.output
    assert seen["cfg"].evaluate_on == "validation" and "Validation updates" in result.output
