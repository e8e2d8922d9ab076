"""`recode report`: turn training logs, evaluation results and ablations into Markdown with PNG plots.

Why a report and not a notebook: the questions after a run are always the same (did the reward go up,
did all-tie groups starve the gradient, did pass@k move, and where), so one command answers them the
same way for every run, headless (matplotlib's Agg backend), into files that can be committed or shared.

Inputs found under each RUN_DIR (searched recursively; a file may also be given directly):
`log_history.jsonl` (one JSON object per logging step, from `recode.training`), run-result JSONs
(`recode eval …`, recognised by their `kind` and `metrics`), and `ablation.json` (`recode ablate`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recode.errors import RecodeError
from recode.evaluation.compare import delta_pct, pct

REWARD_KEYS = ("reward", "train/reward")
ZERO_STD_KEYS = ("frac_reward_zero_std", "train/frac_reward_zero_std")
COMPONENT_KEY = re.compile(r"^(?:train/)?rewards/[^/]+/mean$")
"""TRL logs each reward function's batch mean as `rewards/<name>/mean`; EM and exec means are accuracies."""
ACCURACY_KEY = re.compile(r"accuracy|pass@|^eval_.*(?:reward|em|es)")


@dataclass
class Inputs:
    """What was found: training logs and results by a display label, and ablation summaries."""

    logs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    ablations: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    """Paths `recode report` wrote: the Markdown file and its figures."""

    markdown: Path
    figures: tuple[Path, ...]


def collect(paths: Sequence[str | Path]) -> Inputs:
    """Find logs, results and ablations under each path; a clear error if nothing usable is there.

    Order matters (the first result is the baseline of every Δ): paths keep the order given, files inside
    a folder come in name order, and a file reached twice (given, and inside a given folder) counts once.
    """
    found = Inputs()
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise RecodeError(
                f"{path}: no such file or folder", hint="pass training output folders or results JSONs"
            )
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                _add(found, file, _label(path, file))
    if not (found.logs or found.results or found.ablations):
        raise RecodeError(
            f"nothing to report in {', '.join(str(p) for p in paths)}",
            hint="expected log_history.jsonl (training), results JSON (eval) or ablation.json (ablate)",
        )
    return found


def _label(root: Path, file: Path) -> str:
    if root.is_file():
        return file.stem
    rel = file.parent.relative_to(root)
    prefix = root.name if str(rel) == "." else f"{root.name}/{rel}"
    return prefix if file.name == "log_history.jsonl" else f"{prefix}/{file.stem}"


def _add(found: Inputs, file: Path, label: str) -> None:
    if file.name == "log_history.jsonl":
        rows = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
        if rows:
            found.logs[label] = rows
    elif file.suffix == ".json":
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return
        if isinstance(data, dict) and data.get("kind") == "ablation":
            found.ablations.append(data)
        elif isinstance(data, dict) and "kind" in data and isinstance(data.get("metrics"), dict):
            found.results[label] = data


def build_report(paths: Sequence[str | Path], out: str | Path, *, title: str = "recode report") -> Report:
    """Write `out/report.md` and its PNGs (reward curves, accuracy curves, pass@k bars, ablation)."""
    found = collect(paths)
    out = Path(out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# {title}", "", "Sources: " + ", ".join(f"`{p}`" for p in paths), ""]
    figures: list[Path] = []
    if found.logs:
        lines += ["## Training", ""]
        for name, keys, ylabel in (
            ("reward_curves.png", REWARD_KEYS, "mean reward"),
            ("accuracy_curves.png", None, "mean per reward (EM, exec = accuracy)"),
            ("zero_std_groups.png", ZERO_STD_KEYS, "fraction of all-tie groups"),
        ):
            figure = _curves(found.logs, keys, ylabel, out / name)
            if figure:
                figures.append(figure)
                lines += [f"![{ylabel}]({figure.name})", ""]
        lines += _training_table(found.logs)
    if found.results:
        lines += ["## Evaluation", "", *_results_table(found.results), ""]
        for figure in _pass_bars(found.results, out):
            figures.append(figure)
            lines += [f"![{figure.stem}]({figure.name})", ""]
    for ablation in found.ablations:
        lines += _ablation_section(ablation)
        figure = _ablation_bars(ablation, out / "ablation.png")
        if figure:
            figures.append(figure)
            lines += [f"![ablation]({figure.name})", ""]
    markdown = out / "report.md"
    markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Report(markdown, tuple(figures))


# ------------------------------------------------------------------------------------------ training


def _series(rows: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for index, row in enumerate(rows):
        value = row.get(key)
        if isinstance(value, (int, float)):
            xs.append(float(row.get("step", index + 1)))
            ys.append(float(value))
    return xs, ys


def _accuracy_keys(rows: list[dict[str, Any]]) -> list[str]:
    """Per-reward means and accuracy-like metrics: the curves that say *what* the reward rewarded."""
    keys = dict.fromkeys(k for row in rows for k in row)
    return [k for k in keys if COMPONENT_KEY.search(k) or ACCURACY_KEY.search(k)]


def _curves(
    logs: dict[str, list[dict[str, Any]]], keys: Sequence[str] | None, ylabel: str, path: Path
) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    drawn = 0
    for label, rows in logs.items():
        # fixed keys are aliases (plot the first present); accuracy keys are all plotted
        candidates = (
            [k for k in keys if _series(rows, k)[0]][:1] if keys is not None else _accuracy_keys(rows)
        )
        for key in candidates:
            xs, ys = _series(rows, key)
            ax.plot(
                xs,
                ys,
                marker="." if len(xs) < 30 else None,
                label=label if keys is not None else f"{label}: {key}",
            )
            drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _training_table(logs: dict[str, list[dict[str, Any]]]) -> list[str]:
    rows = []
    for label, history in logs.items():
        rewards = next((_series(history, k)[1] for k in REWARD_KEYS if _series(history, k)[1]), [])
        zero = next((_series(history, k)[1] for k in ZERO_STD_KEYS if _series(history, k)[1]), [])
        rows.append(
            [
                label,
                str(len(history)),
                _num(rewards[0] if rewards else None),
                _num(rewards[-1] if rewards else None),
                _num(sum(zero) / len(zero) if zero else None),
            ]
        )
    return [*_md(["run", "log steps", "first reward", "last reward", "mean all-tie fraction"], rows), ""]


# ---------------------------------------------------------------------------------------- evaluation


def _results_table(results: dict[str, dict[str, Any]]) -> list[str]:
    """One table per result kind (arena, humaneval, ...), each against the first run of that kind."""
    lines = ["Values in %, Δ in points vs the first run of the same kind.", ""]
    for kind in dict.fromkeys(r.get("kind", "run") for r in results.values()):
        runs = {label: r for label, r in results.items() if r.get("kind", "run") == kind}
        labels = list(runs)
        metrics = list(dict.fromkeys(m for r in runs.values() for m in r["metrics"]))
        base = runs[labels[0]]["metrics"]
        header = ["metric", *labels, *(f"Δ {label}" for label in labels[1:])]
        rows = [
            [
                m,
                *(pct(runs[label]["metrics"].get(m)) for label in labels),
                *(delta_pct(runs[label]["metrics"].get(m), base.get(m)) for label in labels[1:]),
            ]
            for m in metrics
        ]
        described = ", ".join(f"`{label}` ({r.get('model')})" for label, r in runs.items())
        lines += [f"### {kind}", "", f"Runs: {described}.", "", *_md(header, rows), ""]
    return lines


def _pass_bars(results: dict[str, dict[str, Any]], out: Path) -> list[Path]:
    """One bar chart per result kind: overall, then per package / update type, a bar per run."""
    figures = []
    kinds = dict.fromkeys(r.get("kind", "run") for r in results.values())
    for kind in kinds:
        runs = {label: r for label, r in results.items() if r.get("kind", "run") == kind}
        metric = _headline(runs)
        for key in (None, "package", "update_type"):
            categories = (
                ["overall"]
                if key is None
                else sorted(dict.fromkeys(g for r in runs.values() for g in r.get("groups", {}).get(key, {})))
            )
            if not categories:
                continue
            values = {
                label: [_group_metric(r, key, c, metric) for c in categories] for label, r in runs.items()
            }
            path = out / f"{kind}_{metric.replace('@', '_at_')}_{key or 'overall'}.png"
            figures.append(
                _bars(categories, values, f"{kind}: {metric}" + (f" by {key}" if key else ""), path)
            )
    return figures


def _headline(runs: dict[str, dict[str, Any]]) -> str:
    first = next(iter(runs.values()))["metrics"]
    return "pass@1" if "pass@1" in first else next(iter(first), "pass@1")


def _group_metric(result: dict[str, Any], key: str | None, group: str, metric: str) -> float:
    source = result["metrics"] if key is None else result.get("groups", {}).get(key, {}).get(group, {})
    value = source.get(metric)
    return float(value) if isinstance(value, (int, float)) else float("nan")


def _bars(categories: list[str], values: dict[str, list[float]], title: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 0.8 / max(1, len(values))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(categories) * max(1, len(values)) ** 0.5 + 2), 4))
    for i, (label, ys) in enumerate(values.items()):
        xs = [c + (i - (len(values) - 1) / 2) * width for c in range(len(categories))]
        ax.bar(xs, [100 * y for y in ys], width=width, label=label)
    ax.set_xticks(
        range(len(categories)),
        categories,
        rotation=30 if len(categories) > 4 else 0,
        ha="right" if len(categories) > 4 else "center",
    )
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------------------ ablation


def _ablation_section(ablation: dict[str, Any]) -> list[str]:
    variants = ablation.get("variants", [])
    metrics = list(dict.fromkeys(m for v in variants for m in v.get("metrics", {})))
    header = ["variant", "rewards", *metrics, "all-tie groups", "train s"]
    base = ablation.get("base") or {}
    first = [["base (untrained)", "–", *(pct(base.get("metrics", {}).get(m)) for m in metrics), "–", "–"]]
    rows = first[: 1 if base else 0] + [
        [
            v["name"],
            " + ".join(v.get("rewards", [])),
            *(pct(v.get("metrics", {}).get(m)) for m in metrics),
            pct(v.get("zero_std_fraction")),
            _num(v.get("train_seconds")),
        ]
        for v in variants
    ]
    note = ablation.get("evaluation", "")
    return [
        "## Reward ablation",
        "",
        f"Config: `{ablation.get('config', '')}`. {note}".strip(),
        "",
        "Metrics and all-tie groups (mean share of groups whose rewards all tie: zero advantage) in %.",
        "",
        *_md(header, rows),
        "",
    ]


def _ablation_bars(ablation: dict[str, Any], path: Path) -> Path | None:
    """Each variant's metrics and all-tie share side by side (the untrained model first, when scored)."""
    variants = list(ablation.get("variants", []))
    if not variants:
        return None
    base = ablation.get("base")
    if base:
        variants.insert(0, {"name": "base", "metrics": base.get("metrics", {}), "zero_std_fraction": None})
    metrics = list(dict.fromkeys(m for v in variants for m in v.get("metrics", {})))
    values = {m: [float(v.get("metrics", {}).get(m, float("nan"))) for v in variants] for m in metrics}
    ties = [v.get("zero_std_fraction") for v in variants]
    values["all-tie groups"] = [float("nan") if t is None else float(t) for t in ties]
    return _bars([v["name"] for v in variants], values, "reward ablation", path)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def _md(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return out + ["| " + " | ".join(row) + " |" for row in rows]
