"""Compare run-result JSONs: metric tables with deltas (the paper's Δ columns) and paired bootstraps.

Why paired over tasks: two models scored on the same tasks differ task by task far less than their
overall scores vary, so resampling *task ids* and recomputing the mean difference gives a much tighter,
honest interval than comparing two independent means. The resampling is seeded, so a report is
reproducible. Only tasks present in both runs are paired.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recode.errors import RecodeError

GROUP_KEYS = ("package", "update_type")
GROUP_P_NOTE = (
    "p: paired bootstrap within the group; with many groups expect some small p by chance "
    "(no multiple-comparison correction)."
)


@dataclass(frozen=True)
class Run:
    """One loaded run-result JSON and the label it is shown under."""

    label: str
    path: Path
    data: dict[str, Any]

    @property
    def metrics(self) -> dict[str, float]:
        return self.data.get("metrics", {})

    def task_metric(self, metric: str, key: str | None = None, group: str | None = None) -> dict[str, float]:
        """`task_id -> value` of a per-task metric (tasks lacking it are left out), optionally only the
        tasks whose `key` (package, update_type) is `group`."""
        return {
            t["task_id"]: float(t["metrics"][metric])
            for t in self.data.get("tasks", [])
            if metric in t.get("metrics", {}) and (key is None or t.get(key) == group)
        }


@dataclass(frozen=True)
class Bootstrap:
    """Paired bootstrap of `run - baseline` on one metric over the tasks both runs scored."""

    metric: str
    run: str
    n_tasks: int
    delta: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclass
class Comparison:
    """Everything `recode compare` shows: runs, metric rows, per-group rows and bootstraps."""

    runs: list[Run]
    metrics: list[str]
    groups: dict[str, list[str]] = field(default_factory=dict)
    group_metric: str = "pass@1"
    bootstraps: list[Bootstrap] = field(default_factory=list)
    group_bootstraps: dict[tuple[str, str, str], Bootstrap] = field(default_factory=dict)
    """(group key, group, run label) -> paired bootstrap of `group_metric` over that group's tasks."""
    confidence: float = 0.95
    resamples: int = 10_000
    seed: int = 0

    def value(self, run: Run, metric: str) -> float | None:
        return run.metrics.get(metric)

    def group_value(self, run: Run, key: str, group: str) -> float | None:
        return run.data.get("groups", {}).get(key, {}).get(group, {}).get(self.group_metric)

    def group_p(self, run: Run, key: str, group: str) -> str:
        """Bootstrap p of `run` vs the baseline within one group, formatted ('–' without paired tasks)."""
        found = self.group_bootstraps.get((key, group, run.label))
        return "–" if found is None else f"{found.p_value:.3g}"


def load_run(path: str | Path, label: str | None = None) -> Run:
    """Read and sanity-check a run-result JSON (a clear error names the file and what is missing)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise RecodeError(
            f"{path}: no such file", hint="pass results JSON files written by `recode eval ...`"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RecodeError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise RecodeError(
            f"{path}: not a run-result JSON (no 'metrics' object)",
            hint="pass files written by `recode eval arena|humaneval|mbpp`",
        )
    return Run(label or path.stem, path, data)


def load_runs(paths: Sequence[str | Path]) -> list[Run]:
    """Load several runs, labelled by file name (with the parent folder where names would collide)."""
    paths = [Path(p).expanduser() for p in paths]
    stems = [p.stem for p in paths]
    labels = [f"{p.parent.name}/{p.stem}" if stems.count(p.stem) > 1 else p.stem for p in paths]
    return [load_run(p, label) for p, label in zip(paths, labels, strict=True)]


def paired_bootstrap(
    baseline: Sequence[float],
    other: Sequence[float],
    *,
    resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float, float, float]:
    """`(mean delta, CI low, CI high, two-sided p)` of `other - baseline`, paired by position.

    The p-value is the bootstrap estimate of how often the resampled mean delta falls on the other side
    of zero (doubled for two sides, with +1 smoothing so it is never exactly 0).
    """
    a, b = np.asarray(baseline, dtype=float), np.asarray(other, dtype=float)
    if a.shape != b.shape or a.size == 0:
        raise RecodeError("paired bootstrap needs two equally long, non-empty lists of per-task values")
    diffs = b - a
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, diffs.size, size=(resamples, diffs.size))].mean(axis=1)
    alpha = (1.0 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    below = (np.count_nonzero(means <= 0) + 1) / (resamples + 1)
    above = (np.count_nonzero(means >= 0) + 1) / (resamples + 1)
    return float(diffs.mean()), float(low), float(high), float(min(1.0, 2 * min(below, above)))


def compare_runs(
    runs: Sequence[Run],
    *,
    metrics: Sequence[str] | None = None,
    group_metric: str | None = None,
    resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Comparison:
    """Build the comparison of `runs[1:]` against `runs[0]` (the baseline)."""
    if len(runs) < 2:
        raise RecodeError(
            "compare needs at least two results files", hint="recode compare BEFORE.json AFTER.json"
        )
    names = list(metrics) if metrics else _union(list(r.metrics) for r in runs)
    comparison = Comparison(
        list(runs),
        names,
        group_metric=group_metric or names[0],
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )
    for key in GROUP_KEYS:
        found = _union(list(r.data.get("groups", {}).get(key, {})) for r in runs)
        if found:
            comparison.groups[key] = sorted(found)
    base = runs[0]
    options = {"resamples": resamples, "seed": seed, "confidence": confidence}
    for run in runs[1:]:
        for metric in names:
            found = _bootstrap(base, run, metric, None, None, options)
            if found is not None:
                comparison.bootstraps.append(found)
        for key, groups in comparison.groups.items():
            for group in groups:
                found = _bootstrap(base, run, comparison.group_metric, key, group, options)
                if found is not None:
                    comparison.group_bootstraps[(key, group, run.label)] = found
    return comparison


def _bootstrap(
    base: Run, run: Run, metric: str, key: str | None, group: str | None, options: dict[str, Any]
) -> Bootstrap | None:
    """Paired bootstrap of one metric over the tasks (of one group) both runs scored; None if none."""
    a, b = base.task_metric(metric, key, group), run.task_metric(metric, key, group)
    shared = [tid for tid in a if tid in b]
    if not shared:
        return None
    delta, low, high, p = paired_bootstrap([a[t] for t in shared], [b[t] for t in shared], **options)
    return Bootstrap(metric, run.label, len(shared), delta, low, high, p)


def _union(lists: Any) -> list[str]:
    seen: dict[str, None] = {}
    for items in lists:
        seen.update(dict.fromkeys(i for i in items if i != "n_tasks"))
    return list(seen)


def pct(value: float | None) -> str:
    """A [0, 1] metric as a percentage with one decimal, '–' when absent."""
    return "–" if value is None else f"{100 * value:.1f}"


def delta_pct(value: float | None, base: float | None) -> str:
    """Signed difference in percentage points ('–' when either side is absent)."""
    return "–" if value is None or base is None else signed_points(value - base)


def signed_points(delta: float) -> str:
    """A difference of fractions in signed percentage points; rounding to 0 shows `+0.0`, never `-0.0`."""
    points = round(100 * delta, 1)
    return f"{points + 0.0:+.1f}"


def to_markdown(comparison: Comparison) -> str:
    """The comparison as Markdown tables (metrics, per group, bootstrap), for `--out` and reports."""
    runs = comparison.runs
    lines = [
        "# Comparison",
        "",
        f"Baseline: **{runs[0].label}** ({runs[0].path}). Values in %, Δ in points.",
        "",
    ]
    header = ["metric", *(r.label for r in runs), *(f"Δ {r.label}" for r in runs[1:])]
    lines += _md_table(
        header,
        [
            [
                m,
                *(pct(comparison.value(r, m)) for r in runs),
                *(delta_pct(comparison.value(r, m), comparison.value(runs[0], m)) for r in runs[1:]),
            ]
            for m in comparison.metrics
        ],
    )
    for key, groups in comparison.groups.items():
        lines += ["", f"## {comparison.group_metric} by {key}", "", GROUP_P_NOTE, ""]
        header = [key, *(r.label for r in runs), *(f"Δ {r.label}" for r in runs[1:])]
        header += [f"p {r.label}" for r in runs[1:]]
        lines += _md_table(
            header,
            [
                [
                    g,
                    *(pct(comparison.group_value(r, key, g)) for r in runs),
                    *(
                        delta_pct(comparison.group_value(r, key, g), comparison.group_value(runs[0], key, g))
                        for r in runs[1:]
                    ),
                    *(comparison.group_p(r, key, g) for r in runs[1:]),
                ]
                for g in groups
            ],
        )
    if comparison.bootstraps:
        level = round(100 * comparison.confidence)
        lines += [
            "",
            f"## Paired bootstrap over tasks ({comparison.resamples} resamples, seed {comparison.seed})",
            "",
        ]
        lines += _md_table(
            ["run", "metric", "tasks", "Δ", f"{level}% CI", "p"],
            [
                [
                    b.run,
                    b.metric,
                    str(b.n_tasks),
                    signed_points(b.delta),
                    f"[{signed_points(b.ci_low)}, {signed_points(b.ci_high)}]",
                    f"{b.p_value:.3g}",
                ]
                for b in comparison.bootstraps
            ],
        )
    return "\n".join(lines) + "\n"


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return out + ["| " + " | ".join(row) + " |" for row in rows]
