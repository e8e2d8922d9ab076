"""`recode train` (GRPO/DAPO) and `recode sft` (the supervised baseline), both from a recipe YAML.

Why top-level: training is the method itself, the step between `recode data` and `recode eval`.
Heavy imports (torch, TRL) happen inside the commands so `recode --help` stays instant.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from recode.cli.common import console, err_console

CONFIG_HELP = "Recipe YAML (see configs/, e.g. configs/grpo_tiny-cpu.yaml)."
OVERRIDES_HELP = "Fields to change, as dotted key=value (e.g. optim.learning_rate=1e-5 algorithm.name=dapo)."
DRY_HELP = (
    "Validate the config and print the resolved plan (data size, steps, memory) without loading weights."
)
RESUME_HELP = "Continue from the newest checkpoint-N in the output folder (after a crash or a kill)."


def register(root_app: typer.Typer) -> None:
    """Add `train` and `sft` to the root `recode` app."""
    root_app.command("train")(train)
    root_app.command("sft")(sft)


def train(
    config: Path = typer.Option(..., "--config", "-c", help=CONFIG_HELP),
    overrides: list[str] | None = typer.Argument(None, help=OVERRIDES_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_HELP),
    resume: bool = typer.Option(False, "--resume", help=RESUME_HELP),
) -> None:
    """RL-train a model with GRPO or DAPO (TRL + DoRA) on migration pairs, with ReCode's rule rewards.

    Example: `recode train --config configs/dapo_tiny-cpu.yaml optim.max_steps=4`. Logs go to
    OUTPUT_DIR/log_history.jsonl and tensorboard (OUTPUT_DIR/runs); the adapter to OUTPUT_DIR/final.
    """
    from recode.training.config import TrainConfig

    cfg = TrainConfig.from_yaml(config, overrides or [])
    _run(cfg, dry_run, resume, sft_run=False)


def sft(
    config: Path = typer.Option(..., "--config", "-c", help=CONFIG_HELP),
    overrides: list[str] | None = typer.Argument(None, help=OVERRIDES_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_HELP),
    resume: bool = typer.Option(False, "--resume", help=RESUME_HELP),
) -> None:
    """Supervised fine-tuning baseline (TRL SFTTrainer + DoRA) on prompt -> migrated-code pairs.

    Example: `recode sft --config configs/sft_tiny-cpu.yaml`.
    """
    from recode.training.config import SFTConfig

    cfg = SFTConfig.from_yaml(config, overrides or [])
    _run(cfg, dry_run, resume, sft_run=True)


def _run(cfg: Any, dry_run: bool, resume: bool, *, sft_run: bool) -> None:
    from recode.training.plan import describe_plan

    plan = describe_plan(cfg)
    main_process = os.environ.get("RANK", "0") == "0"  # under torchrun/accelerate: say things once
    if main_process:
        _print_plan(plan)
    if dry_run:
        if main_process:
            _print_dry_run_verdict(cfg, plan)
        return
    from recode.training import run_rl, run_sft

    result = (run_sft if sft_run else run_rl)(cfg, resume=resume)
    if main_process:
        console.print(
            f"[green]done[/green]: {result.metrics.get('global_step')} steps; adapter in "
            f"{escape(str(result.final_adapter_dir))}; logs in "
            f"{escape(str(result.output_dir))}/log_history.jsonl",
            soft_wrap=True,
        )


def _print_dry_run_verdict(cfg: Any, plan: dict[str, Any]) -> None:
    """Warn about what a real run would stop on here (data, packages) but a GPU machine may have."""
    from recode.training.plan import MISSING, missing_packages

    warnings = [f"data {plan['data_rows']}"] if str(plan["data_rows"]).startswith(MISSING) else []
    warnings += [f"{problem} ({hint})" for problem, hint in missing_packages(cfg)]
    for warning in warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    console.print("[green]config OK[/green] (dry run: nothing loaded or trained)")


def _print_plan(plan: dict[str, Any]) -> None:
    table = Table(title="training plan", show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in plan.items():
        if value is not None:
            table.add_row(key, escape(str(value)))
    console.print(table)
