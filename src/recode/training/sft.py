"""`run_sft`: the supervised baseline of the paper's tables, TRL's SFTTrainer with the same DoRA adapter.

Each migration pair becomes prompt (the exact RL prompt, pre-fill included) -> completion (an empty
reasoning block closed, then the migrated code in the answer format the rewards parse). The loss covers
the completion only, so SFT and RL differ in the learning signal, not in what the model reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import datasets
from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainerCallback
from trl import SFTConfig as TRLSFTConfig
from trl import SFTTrainer

from recode.errors import RecodeError
from recode.training.common import (
    LOG_FILE,
    JsonlLogCallback,
    TrainResult,
    finish,
    load_model_and_tokenizer,
    load_rows,
    peft_config,
    render_prompt,
    require_both,
    resume_checkpoint,
    set_torch_threads,
    trainer_arguments,
)
from recode.training.config import SFTConfig, accumulation_steps, expand_path, world_size
from recode.training.plan import require_packages

ANSWER_TEMPLATE = "\n</think>\n<answer>\n```python\n{code}\n```\n</answer>"
"""What follows the pre-fill `...<think>` in an SFT target: no reasoning, then the fenced answer."""


def sft_completion(code: str) -> str:
    """The SFT target text for one migrated program."""
    return ANSWER_TEMPLATE.format(code=code.strip("\n"))


def run_sft(
    cfg: SFTConfig,
    *,
    model: PreTrainedModel | None = None,
    tokenizer: PreTrainedTokenizerBase | None = None,
    train_dataset: Any = None,
    callbacks: Sequence[TrainerCallback] = (),
    resume: bool = False,
) -> TrainResult:
    """Fine-tune on prompt -> `new_code` pairs; objects passed in replace what `cfg` would load."""
    require_packages(cfg)
    output_dir = Path(expand_path(cfg.logging.output_dir))
    set_torch_threads(cfg.optim.torch_threads)
    rows = load_rows(cfg.data, train_dataset)
    if any(not row.get("target") for row in rows):
        raise RecodeError(
            "SFT needs a `target` (migrated code) in every row", hint="check the data's new_code"
        )
    if model is None or tokenizer is None:
        require_both(model, tokenizer)
        model, tokenizer = load_model_and_tokenizer(
            cfg.model, rows, output_dir, cfg.sft.max_length, cfg.optim.seed
        )
    pairs = [
        {"prompt": render_prompt(tokenizer, row["prompt"]), "completion": sft_completion(row["target"])}
        for row in rows
    ]
    return train_on_pairs(cfg, model, tokenizer, pairs, callbacks=callbacks, resume=resume)


def train_on_pairs(
    cfg: SFTConfig,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: Sequence[dict[str, str]],
    *,
    callbacks: Sequence[TrainerCallback] = (),
    resume: bool = False,
) -> TrainResult:
    """TRL's SFTTrainer on rendered `{"prompt", "completion"}` text pairs, saved under the recipe's folder.

    Why apart from `run_sft`: what the completions teach is the caller's choice (the baseline teaches
    `new_code`; the demo's warm start teaches the legacy code back), the training is the same.
    """
    output_dir = Path(expand_path(cfg.logging.output_dir))
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "config.yaml").write_text(cfg.to_yaml(), encoding="utf-8")
    trainer = SFTTrainer(
        model=model,
        args=sft_args(cfg, output_dir),
        train_dataset=datasets.Dataset.from_list(list(pairs)),
        processing_class=tokenizer,
        peft_config=peft_config(cfg.peft),
        callbacks=[JsonlLogCallback(output_dir / LOG_FILE), *callbacks],
    )
    train_output = trainer.train(resume_from_checkpoint=resume_checkpoint(output_dir, resume))
    return finish(trainer, output_dir, train_output, cfg.peft.enabled)


def sft_args(cfg: SFTConfig, output_dir: Path) -> TRLSFTConfig:
    """Map the recipe onto TRL's SFTConfig (completion-only loss on prompt/completion pairs)."""
    optim, log = cfg.optim, cfg.logging
    accumulation = accumulation_steps(
        optim.batch_prompts, optim.per_device_batch_size, world_size(), "batch_prompts"
    )
    return TRLSFTConfig(
        **trainer_arguments(optim, log, output_dir, accumulation),
        max_length=cfg.sft.max_length,
        completion_only_loss=True,
        num_train_epochs=cfg.sft.epochs,
        max_steps=-1 if optim.max_steps is None else optim.max_steps,
    )
