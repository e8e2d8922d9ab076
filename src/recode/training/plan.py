"""`--dry-run`: the resolved plan of a run (model, data, steps, batch layout, memory) without weights.

Why: a 7B recipe that fails at step 0 on a mistyped path or an indivisible batch wastes a GPU queue slot;
the plan checks everything that can be checked on a laptop and says what one optimizer step contains.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from recode.data.loaders import is_local_source, missing_file
from recode.errors import RecodeError
from recode.training.config import (
    REPORTERS,
    ModelSection,
    PeftSection,
    SFTConfig,
    TrainConfig,
    accumulation_steps,
    expand_path,
    world_size,
)

BYTES_PER_PARAM = {"bfloat16": 2, "float16": 2, "float32": 4, "auto": 2}
MISSING = "MISSING"
TRAINABLE_BYTES = 16
"""fp32 adapter weight + gradient + two Adam moments per trainable parameter."""


def describe_plan(cfg: TrainConfig | SFTConfig) -> dict[str, Any]:
    """Everything the run will do, as a flat mapping for printing; raises RecodeError on bad layouts."""
    processes = world_size()
    optim = cfg.optim
    plan: dict[str, Any] = {
        "kind": "rl" if isinstance(cfg, TrainConfig) else "sft",
        "model": cfg.model.name_or_path if cfg.model.init == "pretrained" else f"tiny Qwen2 {cfg.model.tiny}",
        "data": cfg.data.source,
        "data_rows": count_rows(cfg.data.source, cfg.data.max_examples),
        "processes": processes,
        "max_steps": optim.max_steps,
        "optimizer": (
            f"lr {optim.learning_rate:g}, {optim.warmup_steps} warm-up steps then {optim.lr_scheduler}, "
            f"{'bf16' if optim.bf16 else 'fp32'}"
        ),
        "output_dir": cfg.logging.output_dir,
        "checkpoints": f"every {cfg.logging.save_steps} steps (--resume continues from the newest)",
    }
    if isinstance(cfg, TrainConfig):
        algo, gen = cfg.algorithm, cfg.generation
        sequences = optim.batch_prompts * gen.num_generations
        sampling, overlong = algo.dynamic_sampling, algo.overlong
        plan["algorithm"] = (
            f"{algo.name}: loss={algo.loss_type} beta={algo.beta} clip=[{1 - algo.epsilon:g}, "
            f"{1 + (algo.epsilon_high or algo.epsilon):g}] dynamic_sampling="
            f"{f'<= {sampling.max_rounds} rounds' if sampling.enabled else 'off'} overlong_shaping="
            f"{f'last {overlong.buffer_len} tokens' if overlong.enabled else 'off'}"
        )
        plan["rewards"] = ", ".join(f"{r.name} x{r.weight:g}" for r in cfg.rewards)
        plan["step"] = (
            f"{optim.batch_prompts} prompts x {gen.num_generations} generations = {sequences} sequences"
        )
        plan["lengths"] = f"prompt <= {cfg.data.max_prompt_length}, completion <= {gen.max_completion_length}"
        plan["rollouts"] = f"vllm ({gen.vllm_mode})" if gen.use_vllm else "transformers generate"
    else:
        sequences = optim.batch_prompts
        plan["step"] = f"{sequences} pairs, max_length {cfg.sft.max_length}"
        plan["epochs"] = cfg.sft.epochs if optim.max_steps is None else None
    plan["gradient_accumulation"] = accumulation_steps(
        sequences, optim.per_device_batch_size, processes, "sequences per step"
    )
    plan["peft"] = describe_peft(cfg.peft)
    plan.update(memory_estimate(cfg.model, cfg.peft))
    return plan


def missing_packages(cfg: TrainConfig | SFTConfig) -> list[tuple[str, str]]:
    """(problem, hint) for each package the config or the launcher needs that is not installed.

    Why before training: transformers only notices a missing logger, and TRL a missing vLLM, after the
    weights have loaded, which for a 7B model is minutes into the run.
    """
    needs = [
        (f"logging.report_to has {name}", REPORTERS[name], REPORTERS[name]) for name in cfg.logging.report_to
    ]
    if isinstance(cfg, TrainConfig) and cfg.generation.use_vllm:
        needs.append(("generation.use_vllm is on", "vllm", "'recode[gpu]'"))
    if os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true":
        needs.append(("accelerate launched DeepSpeed", "deepspeed", "'recode[gpu]'"))
    return [
        (f"{what} but {module} is not installed", f"pip install {pip}")
        for what, module, pip in needs
        if importlib.util.find_spec(module) is None
    ]


def require_packages(cfg: TrainConfig | SFTConfig) -> None:
    """Stop before any weights load when `missing_packages` finds something."""
    missing = missing_packages(cfg)
    if missing:
        problem, hint = missing[0]
        raise RecodeError(problem, hint=hint)


def describe_peft(spec: PeftSection) -> str:
    """The adapter layout in one line (method, rank, scaling, dropout, target projections)."""
    if not spec.enabled:
        return "full fine-tuning"
    targets = ",".join(spec.target_modules)
    return f"{spec.method} r={spec.r} alpha={spec.alpha} dropout={spec.dropout} on {targets}"


def count_rows(source: str, limit: int | None) -> int | str:
    """Rows in a local JSONL file (cheap to count); other sources are reported, not loaded."""
    if not is_local_source(source):
        return "hub dataset (not loaded in a dry run)"
    try:
        path = Path(expand_path(source))
    except RecodeError as exc:
        return f"{MISSING}: {exc.message}"
    if not path.exists():
        return f"{MISSING}: {missing_file(path).message} (a real run would stop here)"
    if path.suffix != ".jsonl":
        return f"{path.suffix or 'folder'} source (not counted)"
    with path.open(encoding="utf-8") as fh:
        rows = sum(1 for line in fh if line.strip())
    return min(rows, limit) if limit else rows


def model_dims(spec: ModelSection) -> dict[str, int] | None:
    """Layer sizes from the tiny spec or the model's `config.json`; None when that is not on disk."""
    if spec.init == "tiny":
        t = spec.tiny
        return {
            "hidden": t.hidden_size,
            "layers": t.num_layers,
            "inter": t.intermediate_size,
            "kv": t.hidden_size,
            "vocab": t.vocab_size,
            "tied": 1,
        }
    path = _config_json(spec.name_or_path)
    if path is None:
        return None
    conf = json.loads(path.read_text(encoding="utf-8"))
    head_dim = conf["hidden_size"] // conf["num_attention_heads"]
    kv = head_dim * conf.get("num_key_value_heads", conf["num_attention_heads"])
    return {
        "hidden": conf["hidden_size"],
        "layers": conf["num_hidden_layers"],
        "inter": conf["intermediate_size"],
        "kv": kv,
        "vocab": conf["vocab_size"],
        "tied": int(conf.get("tie_word_embeddings", False)),
    }


def _config_json(name_or_path: str) -> Path | None:
    """`config.json` in a local model folder, else in the Hugging Face cache (never downloaded)."""
    local = Path(name_or_path).expanduser() / "config.json"
    if local.is_file():
        return local
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(name_or_path, "config.json")
    except ValueError:  # not a valid hub id either (huggingface_hub's validation errors are ValueErrors)
        return None
    return Path(cached) if isinstance(cached, str) else None


def adapter_params(dims: dict[str, int], spec: PeftSection) -> int:
    """LoRA A/B (+ DoRA's magnitude vector) parameters for the projections named in `spec`."""
    h, i, kv = dims["hidden"], dims["inter"], dims["kv"]
    shapes = {"q_proj": (h, h), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (h, h)}
    shapes |= {"gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}
    per_layer = 0
    for name in spec.target_modules:
        if name in shapes:
            fan_in, fan_out = shapes[name]
            per_layer += spec.r * (fan_in + fan_out) + (fan_out if spec.method == "dora" else 0)
    return per_layer * dims["layers"]


def memory_estimate(model: ModelSection, peft: PeftSection) -> dict[str, Any]:
    """Weights + trainable state per GPU, before activations, KV cache and vLLM's share."""
    dims = model_dims(model)
    billions = model.approx_params_b or (base_params(dims) / 1e9 if dims else None)
    if billions is None:
        return {"memory": "unknown: set model.approx_params_b for an estimate"}
    out: dict[str, Any] = {"weights_gb": round(billions * BYTES_PER_PARAM[model.dtype], 2)}
    if not peft.enabled:
        out["trainable_state_gb"] = round(billions * TRAINABLE_BYTES, 1)
    elif dims is None:
        out["adapter"] = "size unknown: the model's config.json is neither local nor in the HF cache"
    else:
        trainable = adapter_params(dims, peft)
        out["adapter_params_m"] = round(trainable / 1e6, 2)
        out["trainable_state_gb"] = round(trainable * TRAINABLE_BYTES / 1e9, 2)
    out["memory_note"] = "per GPU before activations/KV cache (ZeRO-3 divides weights by the GPU count)"
    return out


def base_params(dims: dict[str, int]) -> int:
    """Projection and embedding parameters (norms and biases are negligible at this precision)."""
    h, i, kv = dims["hidden"], dims["inter"], dims["kv"]
    per_layer = 2 * h * h + 2 * h * kv + 3 * h * i
    return per_layer * dims["layers"] + dims["vocab"] * h * (1 if dims["tied"] else 2)
