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


def test_dry_run_of_the_7b_dapo_recipe(app: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECODE_DATA_DIR", str(CONFIGS))  # any folder: the dry run only counts rows
    result = CliRunner().invoke(
        app,
        ["train", "--config", str(CONFIGS / "dapo_qwen2.5-coder-7b.yaml"), "--dry-run"],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    for fragment in ("Qwen/Qwen2.5-Coder-7B-Instruct", "dapo", "64 sequences", "weights_gb", "config OK"):
        assert fragment in result.output
    assert "MISSING" in result.output  # no migration/train.jsonl under configs/: flagged, not hidden


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
