"""`run_rl`: a GRPO or DAPO run from a `TrainConfig`, on TRL's GRPOTrainer (+ our dynamic sampling).

The recipe is linear on purpose (cleanRL style): rows -> model/tokenizer -> prompts rendered with the
pre-fill -> rewards (+ DAPO overlong shaping) -> GRPOConfig -> train (resuming if asked) -> save.
The 7B recipes and the tiny CPU twins take exactly this path; only sizes and devices differ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import datasets
from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainerCallback
from trl import GRPOConfig

from recode.training.common import (
    LOG_FILE,
    JsonlLogCallback,
    TrainResult,
    drop_long_prompts,
    finish,
    load_model_and_tokenizer,
    load_rows,
    peft_config,
    render_prompt,
    require_both,
    resolve_reward,
    resume_checkpoint,
    set_torch_threads,
    trainer_arguments,
)
from recode.training.config import TrainConfig, accumulation_steps, expand_path, world_size
from recode.training.plan import require_packages
from recode.training.shaping import make_overlong_reward
from recode.training.trainer import ReCodeGRPOTrainer


def run_rl(
    cfg: TrainConfig,
    *,
    model: PreTrainedModel | None = None,
    tokenizer: PreTrainedTokenizerBase | None = None,
    train_dataset: Any = None,
    callbacks: Sequence[TrainerCallback] = (),
    resume: bool = False,
) -> TrainResult:
    """Train with GRPO or DAPO as `cfg` says; objects passed in replace what `cfg` would load.

    `train_dataset` may hold TRL rows (`prompt` messages or text, `target`, extra columns) or raw
    migration examples. With `resume=True` the latest `checkpoint-N` in the output folder is continued.
    """
    require_packages(cfg)
    output_dir = Path(expand_path(cfg.logging.output_dir))
    set_torch_threads(cfg.optim.torch_threads)
    rows = load_rows(cfg.data, train_dataset)
    if model is None or tokenizer is None:
        require_both(model, tokenizer)
        max_positions = cfg.data.max_prompt_length + cfg.generation.max_completion_length
        model, tokenizer = load_model_and_tokenizer(
            cfg.model, rows, output_dir, max_positions, cfg.optim.seed
        )
    rendered = [{**row, "prompt": render_prompt(tokenizer, row["prompt"])} for row in rows]
    rendered, too_long = drop_long_prompts(rendered, tokenizer, cfg.data.max_prompt_length)
    if too_long:
        print(f"recode: dropped {too_long} prompt(s) longer than data.max_prompt_length")
    reward_funcs, weights = reward_functions(cfg)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "config.yaml").write_text(cfg.to_yaml(), encoding="utf-8")
    trainer = ReCodeGRPOTrainer(
        model=model,
        reward_funcs=reward_funcs,
        args=grpo_args(cfg, output_dir, weights),
        train_dataset=datasets.Dataset.from_list(rendered),
        processing_class=tokenizer,
        peft_config=peft_config(cfg.peft),
        callbacks=[JsonlLogCallback(output_dir / LOG_FILE), *callbacks],
        dynamic_sampling=cfg.algorithm.dynamic_sampling,
    )
    train_output = trainer.train(resume_from_checkpoint=resume_checkpoint(output_dir, resume))
    result = finish(trainer, output_dir, train_output, cfg.peft.enabled)
    result.metrics["prompts_dropped_too_long"] = too_long
    return result


def reward_functions(cfg: TrainConfig) -> tuple[list[Callable[..., Any]], list[float]]:
    """The configured rewards and their weights, plus DAPO's overlong shaping when enabled."""
    funcs = [resolve_reward(spec.name, spec.options) for spec in cfg.rewards]
    weights = [spec.weight for spec in cfg.rewards]
    overlong = cfg.algorithm.overlong
    if overlong.enabled:
        funcs.append(make_overlong_reward(cfg.generation.max_completion_length, overlong.buffer_len))
        weights.append(overlong.weight)
    return funcs, weights


def grpo_args(cfg: TrainConfig, output_dir: Path, reward_weights: list[float]) -> GRPOConfig:
    """Map a recipe onto TRL's GRPOConfig (the loss, clipping and KL options are TRL's own)."""
    algo, gen, optim, log = cfg.algorithm, cfg.generation, cfg.optim, cfg.logging
    completions = optim.batch_prompts * gen.num_generations
    accumulation = accumulation_steps(
        completions, optim.per_device_batch_size, world_size(), "batch_prompts x num_generations"
    )
    extra: dict[str, Any] = {"epsilon_high": algo.epsilon_high} if algo.epsilon_high is not None else {}
    return GRPOConfig(
        **trainer_arguments(optim, log, output_dir, accumulation),
        num_generations=gen.num_generations,
        max_completion_length=gen.max_completion_length,
        temperature=gen.temperature,
        top_p=gen.top_p,
        use_vllm=gen.use_vllm,
        vllm_mode=gen.vllm_mode,
        vllm_gpu_memory_utilization=gen.vllm_gpu_memory_utilization,
        vllm_server_base_url=gen.vllm_server_base_url,
        vllm_importance_sampling_correction=gen.vllm_importance_sampling_correction,
        beta=algo.beta,
        epsilon=algo.epsilon,
        loss_type=algo.loss_type,
        scale_rewards=algo.scale_rewards,
        num_iterations=algo.num_iterations,
        mask_truncated_completions=algo.mask_truncated_completions,
        reward_weights=reward_weights,
        max_steps=optim.max_steps,
        log_completions=log.log_completions,
        **extra,
    )
