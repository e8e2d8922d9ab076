"""DAPO's overlong reward shaping (Yu et al. 2025, Eq. 13), as a TRL reward function.

Why a reward function and not a loss term: TRL sums weighted reward functions before computing group
advantages, which is exactly where DAPO adds the length penalty; it also gets its own logged curve.
Why ours when TRL ships `trl.rewards.get_soft_overlong_punishment`: dynamic sampling must tell a length
penalty apart from the task rewards (a group that ties on correctness carries no signal about
correctness even if lengths differ), so the function carries a marker the sampler reads; the formula is
cross-checked against TRL's in the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

SHAPING_ATTR = "recode_is_shaping"
"""Reward functions with this attribute set are ignored when dynamic sampling looks for tied groups."""


def overlong_penalty(length: int, max_len: int, buffer_len: int) -> float:
    """R_length(y) of DAPO Eq. 13.

    0 while |y| <= L_max - L_cache; then a linear ramp ((L_max - L_cache) - |y|) / L_cache down to -1
    at |y| = L_max; -1 beyond L_max.
    """
    soft_start = max_len - buffer_len
    if length <= soft_start:
        return 0.0
    if length <= max_len:
        return (soft_start - length) / buffer_len
    return -1.0


def make_overlong_reward(max_len: int, buffer_len: int) -> Callable[..., list[float]]:
    """A TRL reward function applying `overlong_penalty` to each completion's token count."""
    if not 0 < buffer_len < max_len:
        raise ValueError(f"need 0 < buffer_len ({buffer_len}) < max_len ({max_len})")

    def overlong(
        completions: Sequence[Any], completion_ids: Sequence[Sequence[int]], **kwargs: Any
    ) -> list[float]:
        return [overlong_penalty(len(ids), max_len, buffer_len) for ids in completion_ids]

    overlong.__name__ = "overlong"
    setattr(overlong, SHAPING_ATTR, True)
    return overlong
