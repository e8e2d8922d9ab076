"""Stage 1 of the demo: an SFT warm start that builds the "lazy" model RL then has to fix.

What it teaches: the answer format, and the habit the paper describes in code LLMs: skip reasoning
about the update note and copy the legacy code. For `apply_fraction` of the rows the target instead
restates the note in `<think>` (see `Update.reasoning`) and applies it. That share stands in for a
pre-trained model's weak, rarely used ability to follow docs: the model *can* apply an update after
reasoning about it, but greedy decoding mostly does not choose to, and sampling seldom does.
Without that ability a 1M-parameter model would have to discover edits by chance within a few hundred
CPU steps, which measurements showed it does not (held-out greedy pass@1 1% -> 10% in 100 steps, rename only).

Why not `recode.training.run_sft`: it builds every completion as "empty reasoning + target code", and
the applying targets need a reasoning line. The training itself is the SFT baseline's
(`recode.training.sft.train_on_pairs`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainerCallback

from recode.data.prompts import migration_messages, render_messages
from recode.data.schemas import MigrationExample
from recode.training.common import TrainResult
from recode.training.config import SFTConfig
from recode.training.sft import sft_completion, train_on_pairs


def lazy_completion(example: MigrationExample) -> str:
    """No reasoning, the legacy code copied: what the warm start teaches by default."""
    return sft_completion(example.old_code)


def applying_completion(example: MigrationExample) -> str:
    """The note restated in `<think>`, then the migrated code: the behaviour RL should make the default."""
    reasoning = str((example.extra or {}).get("reasoning", "")).strip()
    return f"\n{reasoning}{sft_completion(example.new_code)}"


def warm_start_pairs(
    examples: Sequence[MigrationExample], apply_fraction: float, seed: int
) -> list[dict[str, Any]]:
    """Prompt/completion pairs: the real ReCode prompt (update note included) and, at random with
    probability `apply_fraction`, the applying completion, else the lazy one."""
    rng = random.Random(seed)
    return [
        {
            "prompt": migration_messages(ex),
            "completion": applying_completion(ex) if rng.random() < apply_fraction else lazy_completion(ex),
        }
        for ex in examples
    ]


def run_warm_start(
    cfg: SFTConfig,
    *,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: Sequence[dict[str, Any]],
    callbacks: Sequence[TrainerCallback] = (),
) -> TrainResult:
    """Fine-tune on `pairs` with TRL's SFTTrainer (loss on completions only); saves under `output_dir`."""
    rendered = [
        {"prompt": render_messages(tokenizer, pair["prompt"]), "completion": pair["completion"]}
        for pair in pairs
    ]
    return train_on_pairs(cfg, model, tokenizer, rendered, callbacks=callbacks)
