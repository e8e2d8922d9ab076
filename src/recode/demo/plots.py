"""The demo's two PNG figures: the RL reward curve, and held-out pass@1 before/after RL by update kind.

Why these two: the reward curve shows the trainer saw a learning signal (and when it saturated); the
per-kind bars show *which* update kinds the model learned to apply, and that the gain holds on updates
it never trained on. matplotlib's Agg backend renders without a display (CI, SSH sessions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REWARD_KEY = "reward"
"""TRL's logged total (weighted) reward per logging step; components are `rewards/<name>/mean`."""


def reward_curve(log_history: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Plot the total reward and each reward component over RL steps; returns `path`."""
    plt = _pyplot()
    rows = [row for row in log_history if REWARD_KEY in row and "step" in row]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    steps = [row["step"] for row in rows]
    ax.plot(steps, [row[REWARD_KEY] for row in rows], label="total (weighted)", linewidth=2)
    components = sorted({key for row in rows for key in row if _is_component(key)})
    for key in components:
        ax.plot(steps, [row.get(key, float("nan")) for row in rows], label=key.split("/")[1], alpha=0.8)
    ax.set(xlabel="RL step", ylabel="mean reward", title="GRPO on train updates: reward per step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def _is_component(key: str) -> bool:
    return key.startswith("rewards/") and key.endswith("/mean")


def pass_by_kind(before: Mapping[str, Mapping[str, float]], after: Mapping[str, Mapping[str, float]],
                 path: Path) -> Path:  # fmt: skip
    """Grouped bars of held-out pass@1 per update kind, before and after RL; returns `path`."""
    plt = _pyplot()
    kinds = sorted(set(before) | set(after))
    xs = range(len(kinds))
    width = 0.4
    fig, ax = plt.subplots(figsize=(7.2, 3.8))
    ax.bar([x - width / 2 for x in xs], [before.get(k, {}).get("pass@1", 0.0) for k in kinds], width,
           label="before RL (SFT warm start)")  # fmt: skip
    ax.bar([x + width / 2 for x in xs], [after.get(k, {}).get("pass@1", 0.0) for k in kinds], width,
           label="after RL")  # fmt: skip
    ax.set_xticks(list(xs), [k.replace("_", "\n") for k in kinds], fontsize=8)
    ax.set(ylim=(0, 1.05), ylabel="held-out pass@1", title="Held-out updates: pass@1 by update kind")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def _pyplot() -> Any:
    """pyplot on the Agg backend, imported only when a figure is drawn (it costs ~0.5 s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path
