"""Shared plumbing of the reward functions: TRL's batch call, one-pair calls, and per-row columns.

Why here: every reward takes TRL's `fn(completions, target=None, **columns)` where each column is a
list aligned with `completions`; people also call rewards on one pair in a notebook or a test. Deciding
"batch or single" and aligning columns once keeps each reward a few lines of its own semantics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from recode.errors import RecodeError

Reward = float | None
"""A reward value; None means "not applicable to this row" (TRL turns it into NaN and ignores it)."""
Scores = list[Reward] | Reward
"""What a reward function returns: a list for a batch, one value for a single completion."""


def is_single(completions: Any) -> bool:
    """One completion (a string or one conversation) rather than a batch of them."""
    if isinstance(completions, (str, Mapping)):
        return True
    return isinstance(completions, Sequence) and bool(completions) and isinstance(completions[0], Mapping)


def column(values: Any, n: int, name: str, reward: str) -> list[Any]:
    """A dataset column aligned with `n` completions; a single value (or None) is repeated."""
    if values is None or isinstance(values, (str, Mapping)) or not isinstance(values, Sequence):
        return [values] * n
    if len(values) != n:
        raise RecodeError(
            f"reward {reward!r}: got {n} completions but {len(values)} values of {name!r}",
            hint="pass one value per completion (TRL repeats each dataset column per generation)",
        )
    return list(values)


def require_targets(target: Any, reward: str) -> None:
    """Correctness rewards cannot run without the ground truth: say which column is missing."""
    if target is None:
        raise RecodeError(
            f"reward {reward!r} needs the ground-truth code but got no `target`",
            hint="training rows must carry a `target` column (see `recode data convert --to trl`)",
        )


def batch_or_single(
    score: Callable[[list[Any], dict[str, list[Any]]], list[Reward]],
    completions: Any,
    columns: dict[str, Any],
    reward: str,
) -> Scores:
    """Run `score` on a batch; a single completion comes back as a single value instead of a list."""
    single = is_single(completions)
    batch = [completions] if single else list(completions)
    aligned = {key: column(value, len(batch), key, reward) for key, value in columns.items()}
    results = score(batch, aligned)
    return results[0] if single else results
