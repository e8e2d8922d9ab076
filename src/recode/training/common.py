"""What the RL and SFT entry points share: the result type, model/tokenizer/PEFT/data loading, and the
callbacks that write `log_history.jsonl` for `recode report`.

Why shared: GRPO, DAPO and SFT runs of one recipe must see the same base model, the same prompts and
the same adapter layout, or their rows in a comparison table are not comparable.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)
from transformers.trainer_utils import get_last_checkpoint

from recode.data.convert import trl_rows
from recode.data.loaders import is_local_source, load_migration
from recode.data.prompts import render_messages
from recode.errors import RecodeError
from recode.training.config import (
    DataSection,
    LoggingSection,
    ModelSection,
    OptimSection,
    PeftSection,
    expand_path,
)
from recode.training.tiny import build_tiny

LOG_FILE = "log_history.jsonl"
BASE_MODEL_DIR = "base-model"
FINAL_DIR = "final"


@dataclass
class TrainResult:
    """What a finished run hands back; `final_adapter_dir` holds the adapter (or full model without PEFT)."""

    output_dir: Path
    log_history: list[dict[str, Any]] = field(default_factory=list)
    final_adapter_dir: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


def load_rows(data: DataSection, train_dataset: Any = None) -> list[dict[str, Any]]:
    """TRL rows (`prompt` messages ending in the pre-fill, `target`, extra columns) from the config's
    source or from `train_dataset` (TRL rows already, or migration examples to convert)."""
    if train_dataset is None:
        rows = trl_rows(load_migration(_source(data.source), data.split))
    else:
        raw = [dict(r) for r in train_dataset]
        rows = raw if raw and "prompt" in raw[0] else trl_rows(load_migration(raw))
    if data.max_examples is not None:
        rows = rows[: data.max_examples]
    if not rows:
        raise RecodeError("the training data has no rows", hint="check data.source")
    return rows


def _source(value: str) -> str:
    """A local path (with `~`/`${VAR}` expanded) or a hub id, untouched."""
    return expand_path(value) if is_local_source(value) else value


def training_texts(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Every prompt message and target, the corpus a tiny tokenizer is fitted to."""
    texts = []
    for row in rows:
        prompt = row["prompt"]
        texts += [m["content"] for m in prompt] if isinstance(prompt, list) else [str(prompt)]
        texts.append(str(row.get("target") or ""))
    return texts


def require_both(model: Any, tokenizer: Any) -> None:
    """A model without its tokenizer (or the reverse) would be paired with the config's other half."""
    if (model is None) != (tokenizer is None):
        raise RecodeError("pass both `model` and `tokenizer`, or neither (then the config's model loads)")


def load_model_and_tokenizer(
    spec: ModelSection, rows: list[dict[str, Any]], output_dir: Path, max_positions: int, seed: int
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The base model and tokenizer a recipe names; `init: tiny` builds (or, on resume, reuses) them."""
    if spec.init == "tiny":
        path = str(
            build_tiny(training_texts(rows), spec.tiny, output_dir / BASE_MODEL_DIR, max_positions, seed)
        )
    else:
        path = _source(spec.name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        kwargs: dict[str, Any] = {"dtype": spec.dtype if spec.dtype == "auto" else getattr(torch, spec.dtype)}
        if spec.attn_implementation:
            kwargs["attn_implementation"] = spec.attn_implementation
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except OSError as exc:
        raise RecodeError(f"cannot load model {path!r}: {exc}", hint="check model.name_or_path") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def set_torch_threads(threads: int | None) -> None:
    """Apply `optim.torch_threads`. Why a knob: a tiny model's matmuls are too small to split, and on a
    shared 2-core CPU a second thread only contends (measured ~0.3 s/step with 1 thread vs 2-4 s with 2)."""
    if threads is not None:
        torch.set_num_threads(threads)


def trainer_arguments(
    optim: OptimSection, log: LoggingSection, output_dir: Path, accumulation: int
) -> dict[str, Any]:
    """The TrainingArguments fields every recipe sets the same way, for GRPOConfig and SFTConfig alike.

    Why one place: GRPO and the SFT baseline are compared row by row in the paper's tables, so an
    optimiser, schedule or checkpoint setting must never mean one thing for one and another for the other.
    """
    return {
        "output_dir": str(output_dir),
        "per_device_train_batch_size": optim.per_device_batch_size,
        "gradient_accumulation_steps": accumulation,
        "learning_rate": optim.learning_rate,
        "lr_scheduler_type": optim.lr_scheduler,
        "warmup_steps": optim.warmup_steps,
        "weight_decay": optim.weight_decay,
        "max_grad_norm": optim.max_grad_norm,
        "bf16": optim.bf16,
        "activation_checkpointing": optim.gradient_checkpointing,
        "use_cpu": optim.use_cpu,
        "seed": optim.seed,
        "logging_steps": log.logging_steps,
        "save_strategy": "steps",
        "save_steps": log.save_steps,
        "save_total_limit": log.save_total_limit,
        "report_to": log.report_to,
        "run_name": log.run_name,
        "disable_tqdm": not log.progress,
    }


def peft_config(spec: PeftSection) -> Any:
    """DoRA (default, as in ReCode) or plain LoRA on the attention and MLP projections; None if disabled."""
    if not spec.enabled:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=spec.r,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=list(spec.target_modules),
        use_dora=spec.method == "dora",
        task_type="CAUSAL_LM",
    )


def render_prompt(tokenizer: PreTrainedTokenizerBase, prompt: Any) -> str:
    """Prompt messages to text, continuing the final assistant pre-fill.

    Why we render and TRL doesn't: TRL 1.16 always applies the chat template with
    `add_generation_prompt=True`, which closes the pre-fill turn and opens a fresh one, so the model
    would never continue "Let me solve this step by step.\\n<think>". Plain-text prompts are used as is.
    """
    return render_messages(tokenizer, prompt) if isinstance(prompt, list) else str(prompt)


def drop_long_prompts(
    rows: list[dict[str, Any]], tokenizer: PreTrainedTokenizerBase, max_tokens: int
) -> tuple[list[dict[str, Any]], int]:
    """Rows whose rendered prompt fits `max_tokens`, and how many were dropped (TRL 1.16 has no
    `max_prompt_length`; cutting a prompt would lose the system prompt or the code to migrate)."""
    kept = [
        r for r in rows if len(tokenizer(r["prompt"], add_special_tokens=False)["input_ids"]) <= max_tokens
    ]
    if not kept:
        raise RecodeError(
            f"every prompt is longer than {max_tokens} tokens", hint="raise data.max_prompt_length"
        )
    return kept, len(rows) - len(kept)


def resolve_reward(name: str, options: Mapping[str, Any] | None = None) -> Callable[..., Any]:
    """A reward by registry name (`recode.rewards.get_reward`, with its `options`) or by
    `package.module:function`."""
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise RecodeError(
                f"cannot import reward {name!r}: {exc}", hint="use module.path:function"
            ) from None
    from recode.rewards import get_reward

    return get_reward(name, options or None)


def resume_checkpoint(output_dir: Path, resume: bool) -> str | None:
    """The latest `checkpoint-N` folder when resuming (None starts fresh, with a printed note)."""
    if not resume:
        return None
    last = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
    if last is None:
        print(f"recode: no checkpoint in {output_dir}; starting from scratch")
    return last


class JsonlLogCallback(TrainerCallback):
    """Mirror the trainer's log history to `output_dir/log_history.jsonl`, one object per logging step.

    On (re)start the file is rewritten from the restored state, so a resumed run's file has no
    duplicate or orphaned lines from after the checkpoint it resumed from.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if state.is_world_process_zero:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lines = [json.dumps(entry, default=float) + "\n" for entry in state.log_history]
            self.path.write_text("".join(lines), encoding="utf-8")

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if state.is_world_process_zero and logs:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({**logs, "step": state.global_step}, default=float) + "\n")


def finish(trainer: Any, output_dir: Path, train_output: Any, peft_enabled: bool) -> TrainResult:
    """Save the final adapter (or model) and tokenizer, and collect the result."""
    final_dir = output_dir / FINAL_DIR
    trainer.save_model(str(final_dir))
    trainer.processing_class.save_pretrained(str(final_dir))
    metrics = dict(getattr(train_output, "metrics", {}) or {})
    metrics["global_step"] = trainer.state.global_step
    metrics["peft"] = peft_enabled
    return TrainResult(output_dir, list(trainer.state.log_history), final_dir, metrics)
