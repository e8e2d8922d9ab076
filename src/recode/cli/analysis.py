"""`recode compare`, `recode ablate`, `recode report`: turn runs into the paper's comparisons.

Why top-level commands: they work across areas (any `recode eval` results, any training output), and
each answers one question a user asks after training: "did it get better, and is that real?"
(`compare`), "which reward made the difference?" (`ablate`), "show me" (`report`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from recode.cli.common import console

MAX_COLUMN_LABEL = 14
"""Longest run label shown as a column header; longer ones become A, B, C… with a legend."""


def register(root_app: typer.Typer) -> None:
    """Add `compare`, `ablate` and `report` to the root `recode` app."""
    root_app.command("compare")(compare)
    root_app.command("ablate")(ablate)
    root_app.command("report")(report)


def compare(
    runs: list[Path] = typer.Argument(
        ..., help="Results JSONs from `recode eval ...`; the first is the baseline."
    ),
    metric: list[str] | None = typer.Option(None, "--metric", help="Only these metrics (repeatable)."),
    group_metric: str | None = typer.Option(
        None, help="Metric shown per package / update type (default: first)."
    ),
    resamples: int = typer.Option(10_000, help="Bootstrap resamples."),
    seed: int = typer.Option(0, help="Bootstrap seed (same seed, same intervals)."),
    confidence: float = typer.Option(0.95, help="Confidence level of the intervals."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Also write the tables as Markdown to this file."
    ),
) -> None:
    """Tables of each metric with Δ vs the first run, per package and update type, and paired bootstraps.

    Example: `recode compare runs/eval/arena-base.json runs/eval/arena-recode.json --out compare.md`.
    The bootstrap pairs tasks by `task_id` (only tasks both runs scored) and resamples them with
    replacement; p is two-sided.
    """
    from recode.evaluation.compare import (
        GROUP_P_NOTE,
        compare_runs,
        delta_pct,
        load_runs,
        pct,
        signed_points,
        to_markdown,
    )

    loaded = load_runs(runs)
    result = compare_runs(
        loaded,
        metrics=metric,
        group_metric=group_metric,
        resamples=resamples,
        seed=seed,
        confidence=confidence,
    )
    labels = _column_labels(loaded)
    kinds = sorted({str(r.data.get("kind")) for r in loaded})
    if len(kinds) > 1:
        console.print(
            f"[yellow]note:[/] comparing different kinds ({', '.join(kinds)}); only shared task ids pair"
        )

    table = _table("metrics (%)", "metric", labels)
    for name in result.metrics:
        values = [result.value(r, name) for r in loaded]
        table.add_row(
            name, *(pct(v) for v in values), *(_colored(delta_pct(v, values[0])) for v in values[1:])
        )
    console.print(table)
    for key, groups in result.groups.items():
        table = _table(f"{result.group_metric} by {key} (%)", key, labels)
        for label in labels[1:]:
            table.add_column(f"p {escape(label)}", justify="right")
        for group in groups:
            values = [result.group_value(r, key, group) for r in loaded]
            table.add_row(
                group,
                *(pct(v) for v in values),
                *(_colored(delta_pct(v, values[0])) for v in values[1:]),
                *(result.group_p(r, key, group) for r in loaded[1:]),
            )
        console.print(table)
        console.print(f"[dim]{GROUP_P_NOTE}[/]")
    if result.bootstraps:
        level = round(100 * confidence)
        table = Table(title=f"paired bootstrap vs {escape(labels[0])} ({resamples} resamples, seed {seed})")
        for column in ("run", "metric", "tasks", "Δ (pts)", f"{level}% CI", "p"):
            table.add_column(column, justify="left" if column in ("run", "metric") else "right")
        short = {run.label: label for run, label in zip(loaded, labels, strict=True)}
        for b in result.bootstraps:
            table.add_row(
                escape(short[b.run]),
                b.metric,
                str(b.n_tasks),
                _colored(signed_points(b.delta)),
                f"[{signed_points(b.ci_low)}, {signed_points(b.ci_high)}]",
                f"{b.p_value:.3g}",
            )
        console.print(table)
    else:
        console.print("[yellow]no shared per-task metrics: bootstrap skipped[/]")
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(to_markdown(result), encoding="utf-8")
        console.print(f"markdown: {escape(str(out))}")


def ablate(
    config: Path = typer.Option(
        ..., "--config", "-c", help="Ablation YAML, e.g. configs/ablation_tiny-cpu.yaml."
    ),
    override: list[str] | None = typer.Argument(
        None, help="Dotted overrides applied to every variant: a.b=value."
    ),
    only: list[str] | None = typer.Option(None, "--only", help="Run only these variants (repeatable)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Output folder (default: the config's output_dir)."
    ),
) -> None:
    """Train one run per reward variant (same seed and data), evaluate each, and tabulate.

    The paper's Table 2: format only, +EM, +ES, +EM*, +ES* (and +exec), differing only in the reward list.
    Per variant it also logs the share of all-tie groups (every completion of a prompt got the same reward,
    so GRPO learns nothing from it), the paper's argument for continuous rewards.

    Plumbing check on a CPU (about 90 s): `recode ablate -c configs/ablation_tiny-cpu.yaml`.

    Two arms, shorter: `recode ablate -c configs/ablation_tiny-cpu.yaml --only format --only es_star
    optim.max_steps=2`.

    The paper's scale: `recode ablate -c configs/ablation_qwen2.5-coder-7b.yaml`.

    Writes `OUT/<variant>/` (training output, `log_history.jsonl`, `eval.json`), `OUT/base/eval.json` and
    `OUT/ablation.json` (rewritten after every arm); then `recode report OUT` plots it.
    """
    from recode.experiments.ablation import AblationConfig, run_ablation

    cfg = AblationConfig.from_yaml(config, list(override or []))
    summary = run_ablation(
        cfg, only=only, out_dir=out, log=lambda m: console.print(f"[bold]ablate:[/] {escape(m)}")
    )
    metrics = list(dict.fromkeys(m for v in summary["variants"] for m in v["metrics"]))
    table = Table(title=f"reward ablation ({escape(summary['evaluation'])})")
    for column in ("variant", "rewards", *metrics, "all-tie groups", "train s"):
        table.add_column(column, justify="left" if column in ("variant", "rewards") else "right")
    for v in summary["variants"]:
        table.add_row(
            v["name"],
            " + ".join(v["rewards"]),
            *(f"{100 * v['metrics'][m]:.1f}" for m in metrics),
            "–" if v["zero_std_fraction"] is None else f"{100 * v['zero_std_fraction']:.0f}%",
            f"{v['train_seconds']:.0f}",
        )
    console.print(table)
    console.print(f"summary: {escape(summary['path'])}; plots: recode report {escape(summary['output_dir'])}")


def report(
    runs: list[Path] = typer.Argument(..., help="Training output folders, results JSONs, ablation folders."),
    out: Path = typer.Option(Path("report"), "--out", "-o", help="Folder for report.md and the PNGs."),
    title: str = typer.Option("recode report", help="Heading of the Markdown file."),
) -> None:
    """Markdown + PNG plots: ablation table, reward/accuracy curves, all-tie groups, pass@k bars by group.

    Give training output folders, `recode eval` results JSONs and `recode ablate` folders, in any mix;
    folders are searched recursively. The first result of each kind (arena, humaneval, ...) is the
    baseline of its Δ columns; in an ablation, the untrained model is.

    Example: `recode report runs/eval/arena-base.json runs/eval/arena-grpo.json runs/grpo-7b --out report/`.
    """
    from recode.experiments.report import build_report

    result = build_report(runs, out, title=title)
    console.print(f"report: {escape(str(result.markdown))} with {len(result.figures)} figure(s)")
    for figure in result.figures:
        console.print(f"  {escape(str(figure))}")


def _column_labels(runs: list[Any]) -> list[str]:
    """Column names for the terminal tables: run labels, or A, B, C… with a printed legend when any
    label is too long for a column (truncated names like `arena-standard-o…` cannot be told apart)."""
    labels = [r.label for r in runs]
    if max(len(label) for label in labels) <= MAX_COLUMN_LABEL:
        return labels
    letters = [chr(ord("A") + i) if i < 26 else f"R{i + 1}" for i in range(len(runs))]
    for letter, run in zip(letters, runs, strict=True):
        data = run.data
        about = ", ".join(
            f"{key} {escape(str(data[key]))}"
            for key in ("kind", "variant", "model", "backend")
            if data.get(key)
        )
        role = " (baseline)" if letter == "A" else ""
        console.print(f"[bold]{letter}[/]{role} = {escape(str(run.path))}: {about}", highlight=False)
    return letters


def _table(title: str, first: str, labels: list[str]) -> Table:
    table = Table(title=title)
    table.add_column(first)
    for label in labels:
        table.add_column(escape(label), justify="right")
    for label in labels[1:]:
        table.add_column(f"Δ {escape(label)}", justify="right")
    return table


def _colored(text: str) -> str:
    if text.startswith("+") and text.strip("+0.") != "":
        return f"[green]{text}[/]"
    if text.startswith("-") and text.strip("-0.") != "":
        return f"[red]{text}[/]"
    return text
