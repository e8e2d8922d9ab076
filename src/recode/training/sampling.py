"""DAPO dynamic sampling, the tensor-level pieces (Yu et al. 2025, Sec. 3.2, Eq. 11's constraint).

A GRPO group whose rewards all tie has zero advantage for every member, so it adds nothing to the policy
gradient but still dilutes the batch. DAPO keeps only groups with 0 < #correct < G and generates more
prompts until the batch is full. Here a "tie" is a group reward std <= eps (with continuous rewards
such as ES* an exact `std == 0` test almost never fires). The trainer (`recode.training.trainer`) drives
the rounds; these functions decide which groups go and stitch the surviving rows back into one batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

LEFT_PADDED = frozenset({"prompt_ids", "prompt_mask"})
"""Batch keys whose padding sits on the left (TRL left-pads prompts, right-pads completions)."""


def tied_groups(rewards: torch.Tensor, num_generations: int, eps: float) -> torch.Tensor:
    """Boolean per group: True where the group's rewards have (NaN-ignoring) std <= eps.

    `rewards` is one value per completion, groups consecutive (TRL's RepeatSampler order). A group with
    fewer than two scorable members also counts as tied: it cannot produce an advantage.
    """
    if rewards.numel() % num_generations:
        raise ValueError(f"{rewards.numel()} rewards do not split into groups of {num_generations}")
    grouped = rewards.view(-1, num_generations).double()
    valid = ~torch.isnan(grouped)
    count = valid.sum(dim=1)
    filled = torch.where(valid, grouped, torch.zeros_like(grouped))
    mean = filled.sum(dim=1) / count.clamp(min=1)
    sq = torch.where(valid, (grouped - mean[:, None]) ** 2, torch.zeros_like(grouped)).sum(dim=1)
    std = torch.sqrt(sq / (count - 1).clamp(min=1))
    return (count < 2) | (std <= eps)


def group_std(rewards: torch.Tensor, num_generations: int) -> float:
    """Mean over groups of the within-group reward std (the spread GRPO's advantages come from)."""
    return rewards.view(-1, num_generations).double().std(dim=1).mean().item()


def task_rewards(
    rewards_per_func: torch.Tensor, weights: torch.Tensor, task_columns: torch.Tensor
) -> torch.Tensor:
    """Weighted sum over the task rewards only (shaping columns excluded); all-NaN rows stay NaN."""
    cols = rewards_per_func[:, task_columns.to(rewards_per_func.device)]
    total = (cols * weights[task_columns].to(cols.device)).nansum(dim=1)
    total[torch.isnan(cols).all(dim=1)] = torch.nan
    return total


def select_rows(batch: dict[str, Any], index: torch.Tensor) -> dict[str, Any]:
    """Rows `index` of every per-row entry; scalars (e.g. `num_items_in_batch`) are passed through."""
    out: dict[str, Any] = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor) and value.ndim > 0:
            out[key] = value[index.to(value.device)]
        elif isinstance(value, list):
            out[key] = [value[i] for i in index.tolist()]
        else:
            out[key] = value
    return out


def concat_batches(batches: Sequence[dict[str, Any]], pad_values: dict[str, float]) -> dict[str, Any]:
    """Stack row-subsets of several generation rounds into one batch.

    Rounds differ in prompt and completion widths, so 2-D entries are re-padded to the widest round on
    the side TRL pads them (`LEFT_PADDED` keys on the left); `pad_values` gives the fill per key (0 if
    absent). Scalars keep the first round's value: callers recompute batch-level counts afterwards.
    """
    if not batches:
        raise ValueError("nothing to concatenate")
    out: dict[str, Any] = {}
    for key, first in batches[0].items():
        values = [b[key] for b in batches]
        if isinstance(first, torch.Tensor) and first.ndim >= 2:
            width = max(v.shape[1] for v in values)
            fill = pad_values.get(key, 0)
            padded = [_pad_width(v, width, fill, left=key in LEFT_PADDED) for v in values]
            out[key] = torch.cat(padded, dim=0)
        elif isinstance(first, torch.Tensor) and first.ndim == 1:
            out[key] = torch.cat(values, dim=0)
        elif isinstance(first, list):
            out[key] = [item for v in values for item in v]
        else:
            out[key] = first
    return out


def _pad_width(tensor: torch.Tensor, width: int, fill: float, *, left: bool) -> torch.Tensor:
    """`tensor` widened to `width` columns with `fill`, on the left or the right."""
    missing = width - tensor.shape[1]
    if missing == 0:
        return tensor
    shape = (tensor.shape[0], missing, *tensor.shape[2:])
    pad = torch.full(shape, fill, dtype=tensor.dtype, device=tensor.device)
    return torch.cat([pad, tensor] if left else [tensor, pad], dim=1)
