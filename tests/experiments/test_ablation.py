"""`recode ablate` bookkeeping: variants differ only in rewards, all-tie fractions, summary, report.

Training and evaluation are replaced by fakes here (they have their own tests); what is checked is what
the runner itself promises: same YAML + overrides for every arm, one folder per arm, the all-tie
fraction read from the logs, and a summary `recode report` can render.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from recode.errors import RecodeError
from recode.experiments.ablation import (
    DEFAULT_VARIANTS,
    OUTPUT_KEY,
    REWARDS_KEY,
    TRAINER_LOG,
    AblationConfig,
    HeldoutEval,
    run_ablation,
    zero_std_fraction,
)
from recode.experiments.report import build_report


def _config(tmp_path: Path, **extra: Any) -> Path:
    (tmp_path / "train.yaml").write_text("seed: 3\n")
    (tmp_path / "held.jsonl").write_text("{}\n")
    body = {
        "train_config": "train.yaml",
        "overrides": ["optim.max_steps=2"],
        "output_dir": str(tmp_path / "out"),
        "evaluation": {
            "kind": "heldout",
            "data": str(tmp_path / "held.jsonl"),
            "metrics": ["exact_match", "edit_similarity"],
        },
        **extra,
    }
    path = tmp_path / "ablation.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


class FakeTrainer:
    """Records each call; logs an all-tie fraction that falls as the reward list gets richer."""

    def __init__(self) -> None:
        self.calls: list[tuple[Path, list[str]]] = []

    def __call__(self, train_config: Path, overrides: list[str]) -> SimpleNamespace:
        self.calls.append((train_config, overrides))
        print({"loss": 0.0, "reward": -1.0})  # what transformers prints for every logged step
        warnings.warn("`is_gradient_checkpointing` is deprecated", FutureWarning, stacklevel=1)
        settings = dict(o.split("=", 1) for o in overrides)
        out = Path(settings[OUTPUT_KEY])
        adapter = out / "adapter"
        adapter.mkdir(parents=True)
        (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "tiny-base"}))
        rewards = [spec["name"] for spec in json.loads(settings[REWARDS_KEY])]
        tie = 1.0 / len(rewards)
        history = [{"step": s, "reward": 0.1 * s, "frac_reward_zero_std": tie} for s in (1, 2)]
        (out / "log_history.jsonl").write_text("\n".join(json.dumps(r) for r in history) + "\n")
        return SimpleNamespace(output_dir=out, log_history=history, final_adapter_dir=adapter, metrics={})


def _fake_eval(spec: HeldoutEval, model: str, out: Path) -> dict[str, Any]:
    value = 0.1 if model == "tiny-base" else 0.5
    result = {"kind": "heldout", "model": model, "metrics": {m: value for m in spec.metrics}, "tasks": []}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result))
    return result


def test_variants_share_everything_but_their_rewards(tmp_path: Path) -> None:
    cfg = AblationConfig.from_yaml(_config(tmp_path), ["generation.max_new_tokens=16"])
    assert cfg.train_config == tmp_path / "train.yaml"  # resolved next to the ablation YAML
    assert [v.name for v in cfg.variants] == [v.name for v in DEFAULT_VARIANTS]
    trainer = FakeTrainer()
    summary = run_ablation(cfg, only=["format", "es_star"], train_fn=trainer, eval_fn=_fake_eval)

    (first_cfg, first), (second_cfg, second) = trainer.calls
    assert first_cfg == second_cfg == tmp_path / "train.yaml"
    shared = ["optim.max_steps=2", "generation.max_new_tokens=16"]
    assert first[:2] == second[:2] == shared
    assert len(first) == len(second) == len(shared) + 2  # + the rewards and the output folder
    assert first[2] == f'{REWARDS_KEY}=[{{"name": "format", "weight": 1.0}}]'
    assert '"name": "es_star"' in second[2] and second[3].endswith("es_star")

    fmt, es_star = summary["variants"]
    assert fmt["zero_std_fraction"] == 1.0 and es_star["zero_std_fraction"] == 0.5
    assert fmt["metrics"] == {"exact_match": 0.5, "edit_similarity": 0.5} and fmt["steps"] == 2.0
    assert summary["base"] == {"model": "tiny-base", "metrics": {"exact_match": 0.1, "edit_similarity": 0.1}}
    on_disk = json.loads((tmp_path / "out" / "ablation.json").read_text())
    assert on_disk["variants"] == summary["variants"] and on_disk["kind"] == "ablation"
    assert (tmp_path / "out" / "es_star" / "eval.json").is_file()

    report = build_report([tmp_path / "out"], tmp_path / "report")
    text = report.markdown.read_text()
    assert "| base (untrained) | – | 10.0 | 10.0 | – | – |" in text
    assert "| es_star | format + es_star | 50.0 | 50.0 | 50.0 |" in text
    assert {"ablation.png", "reward_curves.png", "zero_std_groups.png"} <= {p.name for p in report.figures}
    # members are named after their variant, the untrained model first (the Δ baseline)
    assert "| metric | base | format | es_star | Δ format | Δ es_star |" in text
    assert "| exact_match | 10.0 | 50.0 | 50.0 | +40.0 | +40.0 |" in text
    assert "| format | 2 | 0.1 | 0.2 | 1 |" in text and "| es_star | 2 | 0.1 | 0.2 | 0.5 |" in text


def test_trainer_prints_go_to_each_variants_log_not_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = AblationConfig.from_yaml(_config(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_ablation(cfg, only=["format"], train_fn=FakeTrainer(), eval_fn=_fake_eval)
    assert "'loss'" not in capsys.readouterr().out and not caught
    log = (tmp_path / "out" / "format" / TRAINER_LOG).read_text()
    assert "'reward': -1.0" in log


def test_zero_std_fraction_averages_logged_steps() -> None:
    rows = [{"frac_reward_zero_std": 0.5}, {"loss": 1.0}, {"train/frac_reward_zero_std": 0.25}]
    assert zero_std_fraction(rows) == pytest.approx(0.375)
    assert zero_std_fraction([{"loss": 1.0}]) is None


def test_bad_configs_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(RecodeError, match="no such ablation config"):
        AblationConfig.from_yaml(tmp_path / "missing.yaml")
    twice = [{"name": "a", "rewards": ["format"]}, {"name": "a", "rewards": ["em"]}]
    with pytest.raises(RecodeError, match="unique"):
        AblationConfig.from_yaml(_config(tmp_path, variants=twice))
    weights = [{"name": "a", "rewards": ["format", "em"], "weights": [1.0]}]
    with pytest.raises(RecodeError, match=r"variants\.0\.weights"):
        AblationConfig.from_yaml(_config(tmp_path, variants=weights))
    cfg = AblationConfig.from_yaml(_config(tmp_path))
    with pytest.raises(RecodeError, match="unknown variant"):
        run_ablation(cfg, only=["nope"], train_fn=FakeTrainer(), eval_fn=_fake_eval)
    (tmp_path / "held.jsonl").unlink()
    trainer = FakeTrainer()
    with pytest.raises(RecodeError, match=r"held\.jsonl: no such file"):
        run_ablation(cfg, train_fn=trainer, eval_fn=_fake_eval)
    assert trainer.calls == []  # nothing was trained before the missing file was noticed


@pytest.mark.slow
def test_ablate_trains_evaluates_and_reports_on_the_tiny_config(tmp_path: Path) -> None:
    """`recode ablate` end to end on configs/ablation_tiny-cpu.yaml, shrunk to 1 step of 2 tiny groups."""
    pytest.importorskip("trl")
    from typer.testing import CliRunner

    from recode.cli import app

    repo = Path(__file__).resolve().parents[2]
    shrink = [
        "optim.max_steps=1",
        "optim.batch_prompts=2",
        "optim.per_device_batch_size=4",
        "generation.num_generations=2",
        "generation.max_completion_length=8",
        "data.max_examples=2",
        "model.tiny.vocab_size=300",
        "logging.progress=false",
    ]
    out = tmp_path / "ablation"
    args = ["ablate", "-c", str(repo / "configs" / "ablation_tiny-cpu.yaml"), "--out", str(out)]
    args += ["--only", "format", "--only", "es_star", *shrink]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "ablation.json").read_text())
    assert [v["name"] for v in summary["variants"]] == ["format", "es_star"]
    for variant in summary["variants"]:
        assert 0.0 <= variant["zero_std_fraction"] <= 1.0
        assert set(variant["metrics"]) == {"exact_match", "edit_similarity", "well_formed"}
        assert (Path(variant["output_dir"]) / "log_history.jsonl").is_file()
    assert summary["base"] is not None and set(summary["base"]["metrics"]) == {
        "exact_match",
        "edit_similarity",
        "well_formed",
    }
    report = CliRunner().invoke(app, ["report", str(out), "--out", str(tmp_path / "report")])
    assert report.exit_code == 0, report.output
    text = (tmp_path / "report" / "report.md").read_text()
    assert "## Reward ablation" in text and "| es_star | format + es_star |" in text
    assert len(list((tmp_path / "report").glob("*.png"))) >= 2
