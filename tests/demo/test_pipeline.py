"""The whole demo pipeline on the `--quick` preset: every stage runs, every file appears, rewards flow.

Learning is not asserted (a handful of steps on a 30k-parameter model learns nothing reliable); the
full demo's figures are measured by `recode demo` itself and quoted in docs, never asserted in tests.
"""

from __future__ import annotations

import json

import pytest

from recode.demo.config import DemoConfig
from recode.demo.pipeline import KIND_PLOT, REPORT_FILE, REWARD_PLOT, run_demo
from recode.demo.synthetic import KINDS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    cfg = DemoConfig.quick(seed=1)
    return out, cfg, run_demo(out, cfg)


def test_report_has_before_after_and_matches_the_file(demo_run) -> None:
    out, cfg, report = demo_run
    assert json.loads((out / REPORT_FILE).read_text()) == report
    for side in ("before", "after"):
        metrics = report[side]
        assert 0.0 <= metrics["pass@1"] <= 1.0
        assert set(metrics["by_kind"]) == set(KINDS)
        assert sum(group["n"] for group in metrics["by_kind"].values()) == cfg.n_heldout
    assert report["gain"]["pass@1"] == pytest.approx(report["after"]["pass@1"] - report["before"]["pass@1"])
    assert {"data", "sft", "eval_before", "rl", "eval_after", "total"} <= set(report["seconds"])
    assert report["config"]["n_heldout"] == cfg.n_heldout


def test_rl_computed_format_and_es_star_rewards_every_step(demo_run) -> None:
    out, cfg, report = demo_run
    logged = [json.loads(line) for line in (out / "rl" / "log_history.jsonl").read_text().splitlines()]
    steps = [row for row in logged if "reward" in row]
    assert len(steps) == cfg.rl_steps == report["rl_rewards"]["logged_steps"]
    for row in steps:
        assert -1.0 <= row["rewards/format/mean"] <= 1.0
        assert "rewards/es_star/mean" in row


def test_files_data_and_models_are_written(demo_run) -> None:
    out, cfg, _ = demo_run
    for plot in (REWARD_PLOT, KIND_PLOT):
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((out / "data" / "train.jsonl").read_text().splitlines()) == cfg.n_train
    assert len((out / "data" / "heldout.jsonl").read_text().splitlines()) == cfg.n_heldout
    for stage in ("sft", "rl"):
        assert (out / stage / "final" / "config.json").is_file()
        assert (out / stage / "final" / "tokenizer.json").is_file()
    outcomes = json.loads((out / "heldout_outcomes.json").read_text())
    assert len(outcomes["after"]["tasks"]) == cfg.n_heldout
