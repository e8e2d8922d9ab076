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
import math
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
"""TRL logs each reward function's batch mean as `rewards/<name>/mean`, each on its reward's own scale."""
ACCURACY_KEY = re.compile(r"accuracy|pass@|(?:^|/)exec/passed$|^eval_.*(?:reward|em|es)")
"""Accuracy-like logs: the exec reward's share of completions passing their tests (`exec/passed`),
and any accuracy / pass@k / eval metric a trainer adds."""
MAX_GROUPS = 20
"""Groups per package / update-type chart; more (e.g. the distractor variant's combined groups) show the
largest by task count."""
MAX_OVERALL_METRICS = 8
"""Metrics shown in a kind's overall bar chart (arena results carry a dozen; the first ones lead)."""


@dataclass
class Inputs:
    """What was found: training logs and results by a display label, and ablation summaries.

    `sources` maps each label to the file it came from, so ablation members can be renamed after
    their variant once every file has been read.
    """

    logs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    ablations: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    """(folder of `ablation.json`, its content) per ablation found."""
    sources: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """Paths `recode report` wrote: the Markdown file and its figures."""

    markdown: Path
    figures: tuple[Path, ...]


def collect(paths: Sequence[str | Path]) -> Inputs:
    """Find logs, results and ablations under each path; a clear error if nothing usable is there.

    Order matters (the first result is the baseline of every Δ): paths keep the order given, files inside
    a folder come in name order, and a file reached twice (given, and inside a given folder) counts once.
    Logs and results that belong to an ablation are then named after their variant (`base`, `format`,
    `es_star`, ...) and put in the ablation's order, so its untrained model is the Δ baseline.
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
    for folder, ablation in found.ablations:
        _name_ablation_members(found, folder, ablation)
    return found


def _label(root: Path, file: Path) -> str:
    if root.is_file():
        return file.stem
    rel = file.parent.relative_to(root)
    prefix = root.name if str(rel) == "." else f"{root.name}/{rel}"
    return prefix if file.name == "log_history.jsonl" else f"{prefix}/{file.stem}"


def _add(found: Inputs, file: Path, label: str) -> None:
    if file.name == "log_history.jsonl":
        rows = _read_log(file)
        if rows:
            found.logs[label] = rows
            found.sources[label] = file.resolve()
    elif file.suffix == ".json":
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return
        if isinstance(data, dict) and data.get("kind") == "ablation":
            found.ablations.append((file.resolve().parent, data))
        elif isinstance(data, dict) and "kind" in data and isinstance(data.get("metrics"), dict):
            found.results[label] = data
            found.sources[label] = file.resolve()


def _read_log(file: Path) -> list[dict[str, Any]]:
    """The rows of a `log_history.jsonl`; a damaged line is a clear error naming the file and line."""
    rows = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            raise RecodeError(
                f"{file}:{number}: not a JSON object", hint="a training log has one JSON object per line"
            ) from None
    return rows


def _name_ablation_members(found: Inputs, folder: Path, ablation: dict[str, Any]) -> None:
    """Rename an ablation's logs and eval results after their variant, in the ablation's order.

    Members are found relative to the folder holding `ablation.json` (`base/eval.json`,
    `<variant>/log_history.jsonl`, `<variant>/eval.json`), so a moved or copied ablation still works.
    """
    members = {folder / "base" / "eval.json": "base"}
    for variant in ablation.get("variants", []):
        name = variant["name"]
        members[folder / name / "log_history.jsonl"] = name
        members[folder / name / "eval.json"] = name
    order = list(dict.fromkeys(members.values()))
    for kind in ("logs", "results"):
        entries: dict[str, Any] = getattr(found, kind)
        named = {
            members[found.sources[label]]: value
            for label, value in entries.items()
            if found.sources.get(label) in members
        }
        clash = set(named) & {label for label in entries if found.sources.get(label) not in members}
        if clash:
            continue  # a variant name is also another run's label: keep the folder-based labels
        others = {label: value for label, value in entries.items() if found.sources.get(label) not in members}
        ordered = {name: named[name] for name in order if name in named}
        setattr(found, kind, {**ordered, **others})


def build_report(paths: Sequence[str | Path], out: str | Path, *, title: str = "recode report") -> Report:
    """Write `out/report.md` and its PNGs (ablation, reward and accuracy curves, pass@k bars)."""
    found = collect(paths)
    out = Path(out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# {title}", "", "Sources: " + ", ".join(f"`{p}`" for p in paths), ""]
    figures: list[Path] = []
    for number, (_, ablation) in enumerate(found.ablations, start=1):
        lines += _ablation_section(ablation)
        figure = _ablation_bars(ablation, out / ("ablation.png" if number == 1 else f"ablation-{number}.png"))
        if figure:
            figures.append(figure)
            lines += [f"![reward ablation]({figure.name})", ""]
    if found.logs:
        lines += ["## Training", ""]
        for name, keys, title_text, ylabel in (
            ("reward_curves.png", REWARD_KEYS, "Total reward per step", "mean total reward"),
            ("zero_std_groups.png", ZERO_STD_KEYS, "All-tie groups (zero advantage)", "share of groups"),
        ):
            figure = _curves(found.logs, keys, title_text, ylabel, out / name)
            if figure:
                figures.append(figure)
                lines += [f"![{title_text}]({figure.name})", ""]
        figure = _component_curves(found.logs, out / "accuracy_curves.png")
        if figure:
            figures.append(figure)
            lines += ["![Mean of each reward and accuracies per step](accuracy_curves.png)", ""]
        lines += _training_table(found.logs)
    if found.results:
        lines += ["## Evaluation", "", *_results_table(found.results), ""]
        for figure in _pass_bars(found.results, out):
            figures.append(figure)
            lines += [f"![{figure.stem}]({figure.name})", ""]
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


def _short_key(key: str) -> str:
    """`train/rewards/es_star/mean` -> `es_star`: the panel title of a per-reward curve."""
    key = key.removeprefix("train/")
    return key.removeprefix("rewards/").removesuffix("/mean")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # headless: reports are built on servers and in CI
    import matplotlib.pyplot as plt

    return plt


def _merged(series: dict[str, tuple[list[float], list[float]]]) -> list[tuple[str, list[float], list[float]]]:
    """Runs whose curves are identical drawn once, labelled with every run's name.

    Why: ablation arms often coincide (early in training, or on a model that earns no reward), and
    lines drawn on top of each other otherwise hide all but the last one.
    """
    groups: dict[tuple[tuple[float, ...], tuple[float, ...]], list[str]] = {}
    for label, (xs, ys) in series.items():
        groups.setdefault((tuple(xs), tuple(ys)), []).append(label)
    merged = []
    for (xs, ys), labels in groups.items():
        name = labels[0] if len(labels) == 1 else f"{', '.join(labels)} (identical)"
        merged.append((name, list(xs), list(ys)))
    return merged


def _plot_lines(ax: Any, series: dict[str, tuple[list[float], list[float]]]) -> None:
    markers = "osD^vP*X"
    for i, (name, xs, ys) in enumerate(_merged(series)):
        ax.plot(xs, ys, marker=markers[i % len(markers)] if len(xs) < 40 else None, markersize=4, label=name)
    ax.set_xlabel("training step")
    ax.xaxis.get_major_locator().set_params(integer=True)  # steps are whole numbers, never 1.5
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def _curves(
    logs: dict[str, list[dict[str, Any]]], keys: Sequence[str], title: str, ylabel: str, path: Path
) -> Path | None:
    """One line per run of the first of `keys` (aliases) each run logged; None when no run has it."""
    series = {}
    for label, rows in logs.items():
        key = next((k for k in keys if _series(rows, k)[0]), None)
        if key is not None:
            series[label] = _series(rows, key)
    if not series:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    _plot_lines(ax, series)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    if keys is ZERO_STD_KEYS:
        ax.set_ylim(-0.05, 1.05)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _component_curves(logs: dict[str, list[dict[str, Any]]], path: Path) -> Path | None:
    """Small multiples: one panel per reward mean or accuracy metric, one line per run.

    Why panels: rewards live on different scales (format in [-1, 1], EM* down to -2), and one axis
    with every (run, reward) pair is unreadable past three runs.
    """
    panels: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    for label, rows in logs.items():
        for key in _accuracy_keys(rows):
            panels.setdefault(_short_key(key), {})[label] = _series(rows, key)
    if not panels:
        return None
    plt = _pyplot()
    cols = min(3, len(panels))
    rows_n = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(4.2 * cols, 3.3 * rows_n), squeeze=False)
    for ax, (name, series) in zip(axes.flat, panels.items(), strict=False):
        _plot_lines(ax, series)
        ax.set_title(name, fontsize=10)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle("Mean of each reward per step, and accuracies (exec/passed: share passing the tests)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _training_table(logs: dict[str, list[dict[str, Any]]]) -> list[str]:
    rows = []
    for label, history in logs.items():
        rewards = next((_series(history, k)[1] for k in REWARD_KEYS if _series(history, k)[1]), [])
        zero = next((_series(history, k)[1] for k in ZERO_STD_KEYS if _series(history, k)[1]), [])
        steps = [row["step"] for row in history if isinstance(row.get("step"), (int, float))]
        rows.append(
            [
                label,
                _num(max(steps) if steps else None),
                _num(rewards[0] if rewards else None),
                _num(rewards[-1] if rewards else None),
                _num(sum(zero) / len(zero) if zero else None),
            ]
        )
    return [*_md(["run", "steps", "first reward", "last reward", "mean all-tie fraction"], rows), ""]


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
    """Bar charts per result kind, a bar per run: every metric overall, then the headline metric
    (pass@1 where there is one) per package and per update type."""
    figures = []
    kinds = dict.fromkeys(r.get("kind", "run") for r in results.values())
    for kind in kinds:
        runs = {label: r for label, r in results.items() if r.get("kind", "run") == kind}
        metrics = list(dict.fromkeys(m for r in runs.values() for m in r["metrics"]))[:MAX_OVERALL_METRICS]
        values = {label: [_overall(r, m) for m in metrics] for label, r in runs.items()}
        figures.append(_bars(metrics, values, f"{kind}: all metrics", out / f"{kind}_overall.png"))
        metric = _headline(runs)
        for key in ("package", "update_type"):
            sizes = _group_sizes(runs, key)
            if not sizes:
                continue
            groups = sorted(sorted(sizes, key=lambda g: -sizes[g])[:MAX_GROUPS])
            values = {label: [_in_group(r, key, g, metric) for g in groups] for label, r in runs.items()}
            shown = "" if len(groups) == len(sizes) else f" ({len(groups)} largest of {len(sizes)} groups)"
            title = f"{kind}: {metric} by {key.replace('_', ' ')}{shown}"
            names = [f"{g} (n={sizes[g]})" for g in groups]
            path = out / f"{kind}_{metric.replace('@', '_at_')}_{key}.png"
            figures.append(_bars(names, values, title, path, horizontal=True))
    return figures


def _group_sizes(runs: dict[str, dict[str, Any]], key: str) -> dict[str, int]:
    """Group -> its number of tasks (the largest any run reports), for labels and for picking groups."""
    sizes: dict[str, int] = {}
    for run in runs.values():
        for group, values in run.get("groups", {}).get(key, {}).items():
            count = values.get("n_tasks") if isinstance(values, dict) else None
            sizes[group] = max(sizes.get(group, 0), count if isinstance(count, int) else 0)
    return sizes


def _headline(runs: dict[str, dict[str, Any]]) -> str:
    first = next(iter(runs.values()))["metrics"]
    return "pass@1" if "pass@1" in first else next(iter(first), "pass@1")


def _overall(result: dict[str, Any], metric: str) -> float:
    """A run's overall `metric` (NaN when it lacks it, drawn as "n/a")."""
    return _nan(result["metrics"].get(metric))


def _in_group(result: dict[str, Any], key: str, group: str, metric: str) -> float:
    """A run's `metric` within one package / update type (NaN when it has no such group)."""
    return _nan(result.get("groups", {}).get(key, {}).get(group, {}).get(metric))


def _bars(
    categories: list[str], values: dict[str, list[float]], title: str, path: Path, *, horizontal: bool = False
) -> Path:
    """Grouped bars in % (a group per category, a bar per series), each bar labelled with its value.

    `horizontal` suits many categories with long names (update types): they stay readable, one per row.
    """
    plt = _pyplot()
    series = max(1, len(values))
    if horizontal:
        size = (9.0, min(30.0, 1.4 + len(categories) * (0.2 * series + 0.2)))
    else:
        size = (min(14.0, max(5.5, 0.32 * len(categories) * series + 3)), 4.2)
    fig, ax = plt.subplots(figsize=size)
    _draw_bars(ax, categories, values, horizontal=horizontal)
    _title(ax, title, len(values))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _title(ax: Any, text: str, series: int, **options: Any) -> None:
    """A title that clears the legend `_draw_bars` puts above the axes (one row per 3 series)."""
    rows = -(-series // 3) if series > 1 else 0
    ax.set_title(text, pad=6 + 12 * rows, **options)


def _draw_bars(
    ax: Any, categories: list[str], values: dict[str, list[float]], *, horizontal: bool = False
) -> None:
    """Why labels on bars: a 0% bar is invisible, and a missing value must not look like a 0."""
    width = 0.8 / max(1, len(values))
    small = not horizontal and len(categories) * len(values) > 24
    positions = range(len(categories))
    for i, (label, ys) in enumerate(values.items()):
        offset = (i - (len(values) - 1) / 2) * width
        at = [p + offset for p in positions]
        sizes = [0.0 if math.isnan(y) else 100 * y for y in ys]
        draw = ax.barh if horizontal else ax.bar
        bars = draw(at, sizes, width, label=label)
        texts = ["n/a" if math.isnan(y) else f"{100 * y:.0f}" if small else f"{100 * y:.1f}" for y in ys]
        ax.bar_label(bars, texts, fontsize=6 if small else 7, padding=1)
    if horizontal:
        ax.set_yticks(positions, categories, fontsize=8)
        ax.invert_yaxis()  # first category at the top, as in the tables
        ax.set_xlabel("%")
        ax.set_xlim(0, 112)
        ax.set_xticks(range(0, 101, 20))
        ax.grid(axis="x", alpha=0.3)
    else:
        rotate = len(categories) > 4 or max(len(c) for c in categories) > 14
        ax.set_xticks(positions, categories, rotation=30 if rotate else 0, ha="right" if rotate else "center")
        ax.set_ylabel("%")
        ax.set_ylim(0, 110)
        ax.set_yticks(range(0, 101, 20))
        ax.grid(axis="y", alpha=0.3)
    if len(values) > 1:  # above the axes, where it can never hide a bar
        ax.legend(
            fontsize=7, ncols=min(3, len(values)), loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False
        )


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
    """Left: each variant's evaluation metrics (the untrained model first, when scored); right: its
    share of all-tie groups, the paper's argument for continuous rewards (a separate panel: it is a
    training statistic, not a score)."""
    variants = list(ablation.get("variants", []))
    if not variants:
        return None
    base = ablation.get("base")
    scored = ([{"name": "base", "metrics": base.get("metrics", {})}] if base else []) + variants
    metrics = list(dict.fromkeys(m for v in scored for m in v.get("metrics", {})))
    plt = _pyplot()
    fig, (left, right) = plt.subplots(
        1,
        2,
        figsize=(min(15.0, 3.5 + 0.3 * len(scored) * max(1, len(metrics)) + 3.5), 4.4),
        gridspec_kw={"width_ratios": [max(2.0, 0.3 * len(scored) * max(1, len(metrics))), 3.0]},
    )
    if metrics:
        names = [v["name"] for v in scored]
        values = {m: [float(v.get("metrics", {}).get(m, float("nan"))) for v in scored] for m in metrics}
        _draw_bars(left, names, values)
        setting = str(ablation.get("evaluation", "")).split(",")[0]
        _title(left, f"evaluation (%): {setting}", len(metrics), fontsize=9)
    else:
        left.set_visible(False)
    ties = {"all-tie groups": [_nan(v.get("zero_std_fraction")) for v in variants]}
    _draw_bars(right, [v["name"] for v in variants], ties)
    right.set_title("all-tie groups (zero advantage), mean over steps", fontsize=9)
    fig.suptitle("Reward ablation")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _nan(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else float("nan")


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def _md(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return out + ["| " + " | ".join(row) + " |" for row in rows]
