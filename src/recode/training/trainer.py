"""TRL's GRPOTrainer plus DAPO dynamic sampling, at the one hook TRL offers for it.

Everything about the loss (clip-higher, token-level aggregation, KL, advantages) is TRL's. Ours is only
`_generate_and_score_completions`: generate a round, drop groups whose task rewards tie, generate more
rounds from fresh prompts until every process has a full batch or `max_rounds` is reached, then stitch
the kept rows into one batch and recompute the token count the "dapo" loss divides by. TRL calls this
hook once per generation batch and then shuffles and splits the result into micro-batches.
"""

from __future__ import annotations

import random
from typing import Any

import torch
from trl import GRPOTrainer

from recode.errors import RecodeError
from recode.training.config import DynamicSamplingSection
from recode.training.sampling import concat_batches, group_std, select_rows, task_rewards, tied_groups
from recode.training.shaping import SHAPING_ATTR


class ReCodeGRPOTrainer(GRPOTrainer):
    """GRPOTrainer with optional DAPO dynamic sampling (all TRL options otherwise unchanged)."""

    def __init__(
        self, *args: Any, dynamic_sampling: DynamicSamplingSection | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.dynamic_sampling = dynamic_sampling or DynamicSamplingSection()
        self._last_rewards: torch.Tensor | None = None
        shaping = [bool(getattr(f, SHAPING_ATTR, False)) for f in self.reward_funcs]
        if all(shaping) and self.dynamic_sampling.enabled:
            raise RecodeError("dynamic sampling needs at least one task reward besides overlong shaping")
        self._task_columns = torch.tensor([not s for s in shaping])

    def _calculate_rewards(
        self, inputs: Any, prompts: Any, completions: Any, completion_ids_list: Any
    ) -> Any:
        """Keep the gathered (all-process) rewards for the tie test, and log the mean within-group std.

        Why the extra metric: TRL's `reward_std` is the spread over the whole batch, which stays high
        even when every group is internally tied; GRPO's signal is the spread *inside* groups.
        """
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._last_rewards = rewards
        mode = "train" if self.model.training else "eval"
        size = self.num_generations if mode == "train" else self.num_generations_eval
        total = (rewards * self.reward_weights.to(rewards.device)).nansum(dim=1)
        if size > 1 and total.numel() % size == 0:
            self._metrics[mode]["reward_group_std"].append(group_std(total, size))
        return rewards

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        """TRL's step when dynamic sampling is off (or in eval); else rounds of it, tied groups dropped."""
        ds = self.dynamic_sampling
        if not ds.enabled or not self.model.training:
            return super()._generate_and_score_completions(inputs)
        local_rows = len(inputs)
        n_proc, rank = self.accelerator.num_processes, self.accelerator.process_index
        kept: list[dict[str, Any]] = []
        tied_rows: list[dict[str, Any]] = []
        kept_per_proc = torch.zeros(n_proc, dtype=torch.long)
        dropped = rounds = 0
        for rounds in range(1, ds.max_rounds + 1):
            batch = super()._generate_and_score_completions(
                inputs if rounds == 1 else self._refill(local_rows, rounds)
            )
            tied = self._tied(batch)
            dropped += int(tied.sum())
            keep = (~tied).repeat_interleave(self.num_generations).view(n_proc, local_rows).cpu()
            kept_per_proc += keep.sum(dim=1)
            kept.append(select_rows(batch, keep[rank].nonzero().squeeze(1)))
            tied_rows.append(select_rows(batch, (~keep[rank]).nonzero().squeeze(1)))
            if int(kept_per_proc.min()) >= local_rows:
                break
        exhausted = int(kept_per_proc.min()) < local_rows
        if exhausted and ds.on_exhausted == "error":
            raise RecodeError(
                f"dynamic sampling found too few groups with differing rewards after {rounds} rounds",
                hint="raise algorithm.dynamic_sampling.max_rounds, or set on_exhausted=pad",
            )
        merged = concat_batches(kept + tied_rows, self._pad_values())
        out = select_rows(merged, torch.arange(local_rows))
        out["num_items_in_batch"] = self._count_loss_tokens(out)
        metrics = self._metrics["train"]
        metrics["dynamic_sampling/dropped_groups"].append(float(dropped))
        metrics["dynamic_sampling/rounds"].append(float(rounds))
        metrics["dynamic_sampling/exhausted"].append(float(exhausted))
        return out

    def _tied(self, batch: dict[str, Any]) -> torch.Tensor:
        """Per global group: do its task rewards (shaping excluded, as in verl's `metric=score`) tie?"""
        if self._last_rewards is None:
            raise RuntimeError("rewards were not computed for this round")
        rewards = task_rewards(self._last_rewards, self.reward_weights, self._task_columns)
        return tied_groups(rewards, self.num_generations, self.dynamic_sampling.std_eps).cpu()

    def _refill(self, local_rows: int, round_index: int) -> list[dict[str, Any]]:
        """Fresh prompts for another round, each repeated once per generation, as TRL's sampler lays them.

        Every process draws the same global list (seeded by run seed, step and round) and takes its own
        slice, so groups stay whole across processes and a resumed run draws the same prompts.
        """
        dataset = self.train_dataset
        n_groups = local_rows * self.accelerator.num_processes // self.num_generations
        seed = self.args.seed * 1_000_003 + self.state.global_step * 101 + round_index
        rng = random.Random(seed)
        size = len(dataset)
        picks = (
            rng.sample(range(size), n_groups) if n_groups <= size else rng.choices(range(size), k=n_groups)
        )
        rows = [index for index in picks for _ in range(self.num_generations)]
        start = self.accelerator.process_index * local_rows
        return [dict(dataset[index]) for index in rows[start : start + local_rows]]

    def _pad_values(self) -> dict[str, float]:
        """Fills for re-padding rounds: the pad token for ids, 1 for `tool_mask` (as TRL pads it), else 0."""
        pad_id = float(self._tokenizer.pad_token_id)
        return {"prompt_ids": pad_id, "completion_ids": pad_id, "tool_mask": 1.0}

    def _count_loss_tokens(self, batch: dict[str, Any]) -> torch.Tensor:
        """Tokens the loss averages over, all processes together (TRL's "dapo" normaliser)."""
        mask = batch["completion_mask"]
        if batch.get("tool_mask") is not None:
            mask = mask * batch["tool_mask"]
        return self.accelerator.gather(mask.sum()).sum()
