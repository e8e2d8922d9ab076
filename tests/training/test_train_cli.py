"""`recode train/sft --dry-run` validate and print the plan without loading any weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from recode.cli import train as train_cli
from recode.cli.common import GuardedGroup

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer(cls=GuardedGroup)

    @root.callback()
    def _root() -> None:
        """Stand-in for the `recode` root app."""

    train_cli.register(root)
    return root


def test_dry_run_of_the_7b_dapo_recipe(app: typer.Typer) -> None:
    result = CliRunner().invoke(
        app,
        ["train", "--config", str(CONFIGS / "dapo_qwen2.5-coder-7b.yaml"), "--dry-run"],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    for fragment in ("Qwen/Qwen2.5-Coder-7B-Instruct", "dapo", "64 sequences", "weights_gb", "config OK"):
        assert fragment in result.output
    assert "hub dataset (not loaded in a dry run)" in result.output  # the recipe's default: nothing fetched


def test_dry_run_flags_a_missing_local_dataset(app: typer.Typer, tmp_path: Path) -> None:
    missing = tmp_path / "train.jsonl"
    args = ["train", "--config", str(CONFIGS / "dapo_qwen2.5-coder-7b.yaml"), "--dry-run"]
    result = CliRunner().invoke(app, [*args, f"data.source={missing}"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "MISSING" in result.output  # flagged in the plan, not hidden


def test_dry_run_counts_local_rows_and_applies_overrides(app: typer.Typer) -> None:
    args = [
        "sft",
        "--config",
        str(CONFIGS / "sft_tiny-cpu.yaml"),
        "--dry-run",
        f"data.source={CONFIGS}/data/tiny-migration.jsonl",
    ]
    result = CliRunner().invoke(app, [*args, "data.max_examples=5"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "data_rows" in result.output and " 5 " in result.output


def test_bad_override_is_one_line_error(app: typer.Typer) -> None:
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--config",
            str(CONFIGS / "grpo_tiny-cpu.yaml"),
            "--dry-run",
            "optim.per_device_batch_size=3",
        ],
    )
    assert result.exit_code == 1
    assert "not a multiple" in result.output and "Traceback" not in result.output


def test_unknown_key_suggests_the_right_one(app: typer.Typer) -> None:
    result = CliRunner().invoke(
        app, ["train", "--config", str(CONFIGS / "grpo_tiny-cpu.yaml"), "--dry-run", "optim.lerning_rate=1"]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "did you mean 'learning_rate'" in result.output


def test_missing_dataset_stops_a_real_run_in_one_line(app: typer.Typer, tmp_path: Path) -> None:
    args = ["--config", str(CONFIGS / "sft_tiny-cpu.yaml"), f"data.source={tmp_path}/absent.jsonl"]
    result = CliRunner().invoke(app, ["sft", *args, f"logging.output_dir={tmp_path}/out"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "absent.jsonl" in result.output and "no such file" in result.output
    assert not (tmp_path / "out").exists()


def test_dry_run_flags_a_relative_path_missing_from_the_current_folder(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tiny recipe run from outside the repository: its relative data path must be flagged, not taken
    for a hub id."""
    monkeypatch.chdir(tmp_path)
    args = ["train", "--config", str(CONFIGS / "grpo_tiny-cpu.yaml"), "--dry-run"]
    result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "MISSING" in result.output and "hub dataset" not in result.output
