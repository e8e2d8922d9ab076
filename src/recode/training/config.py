"""Typed training configs: what a recipe YAML may say, with defaults, validation and dotted overrides.

Why pydantic with `extra="forbid"`: a misspelt key in a 5,000-step recipe (`lerning_rate`) must fail
before any weights load, naming the key, not silently train with the default. Why per-algorithm presets:
`algorithm.name=dapo` on the command line should give DAPO (clip-higher, token-level loss, no KL,
dynamic sampling, overlong shaping), not GRPO with a new label; anything set explicitly still wins.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal, Self, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from recode.errors import RecodeError

DEFAULT_TARGET_MODULES: tuple[str, ...] = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
)
"""Attention and MLP projections of Qwen2/Llama-style models: where ReCode puts its DoRA adapters."""

ALGORITHM_PRESETS: dict[str, dict[str, Any]] = {
    # ReCode's GRPO: small KL to the base model, per-sequence loss averaging (TRL's "grpo").
    "grpo": {"beta": 0.001, "epsilon": 0.2, "epsilon_high": None, "loss_type": "grpo"},
    # DAPO (Yu et al. 2025): clip-higher 0.2/0.28, token-level aggregation, no KL, dynamic sampling, Eq. 13.
    "dapo": {
        "beta": 0.0,
        "epsilon": 0.2,
        "epsilon_high": 0.28,
        "loss_type": "dapo",
        "dynamic_sampling": {"enabled": True},
        "overlong": {"enabled": True},
    },
}


REPORTERS: dict[str, str] = {
    "tensorboard": "tensorboard",
    "wandb": "wandb",
    "mlflow": "mlflow",
    "trackio": "trackio",
    "comet_ml": "comet_ml",
    "clearml": "clearml",
    "neptune": "neptune",
    "swanlab": "swanlab",
    "dvclive": "dvclive",
}
"""`logging.report_to` values (transformers' names) and the module each needs, checked before weights load."""


class _Section(BaseModel):
    """Every section rejects unknown keys and re-validates on assignment (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class TinyModelSpec(_Section):
    """A randomly initialised Qwen2 built from these sizes (CPU smoke runs, tests); no download."""

    hidden_size: int = Field(64, gt=0)
    num_layers: int = Field(2, gt=0)
    num_heads: int = Field(4, gt=0)
    intermediate_size: int = Field(128, gt=0)
    vocab_size: int = Field(512, ge=300, description="BPE vocabulary trained on the training texts")


class ModelSection(_Section):
    """The base model: hub id or folder (`init: pretrained`), or a tiny Qwen2 built offline (`init: tiny`)."""

    name_or_path: str = "Qwen/Qwen2.5-Coder-7B-Instruct"
    init: Literal["pretrained", "tiny"] = "pretrained"
    tiny: TinyModelSpec = Field(default_factory=TinyModelSpec)
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "bfloat16"
    attn_implementation: str | None = None
    approx_params_b: float | None = Field(
        None, gt=0, description="parameter count in billions, for `--dry-run` memory estimates"
    )


class DataSection(_Section):
    """Migration pairs (local JSONL/JSON/Parquet, saved dataset or hub id) and the prompt-length limit."""

    source: str = "zjunlp/ReCode-Train-Data"  # ReCode's published pairs; hub ids load through `datasets`
    split: str = "train"
    max_examples: int | None = Field(None, gt=0)
    max_prompt_length: int = Field(2048, gt=0, description="prompts longer than this are dropped, counted")


class PeftSection(_Section):
    """The adapter: DoRA r=64, alpha=64, dropout 0.01 on attention + MLP projections, as in ReCode."""

    enabled: bool = True
    method: Literal["dora", "lora"] = "dora"
    r: int = Field(64, gt=0)
    alpha: int = Field(64, gt=0)
    dropout: float = Field(0.01, ge=0.0, lt=1.0)
    target_modules: list[str] = list(DEFAULT_TARGET_MODULES)


class OptimSection(_Section):
    """Optimizer, schedule, batch layout (`batch_prompts` is global) and devices."""

    learning_rate: float = Field(5e-5, gt=0)
    lr_scheduler: str = "cosine"
    warmup_steps: int = Field(150, ge=0)
    max_steps: int | None = Field(5000, gt=0, description="None: train for `sft.epochs` (SFT only)")
    batch_prompts: int = Field(8, gt=0, description="prompts per optimizer step, all processes together")
    per_device_batch_size: int = Field(8, gt=0, description="sequences per forward pass on one device")
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    bf16: bool = True
    gradient_checkpointing: bool = True
    use_cpu: bool = False
    torch_threads: int | None = Field(
        None, gt=0, description="CPU threads for torch (None: its default); 1 is fastest for tiny models"
    )
    seed: int = 42


class LoggingSection(_Section):
    """Output folder, loggers, checkpoint cadence, completion tables and the progress bar."""

    output_dir: str = "runs/recode"
    logging_steps: int = Field(1, gt=0)
    save_steps: int = Field(100, gt=0)
    save_total_limit: int | None = Field(3, gt=0)
    report_to: list[str] = ["tensorboard"]
    log_completions: bool = False
    run_name: str | None = None
    progress: bool = True

    @field_validator("report_to")
    @classmethod
    def _known_reporters(cls, names: list[str]) -> list[str]:
        """transformers would reject an unknown name only after the model has loaded."""
        unknown = [name for name in names if name not in REPORTERS]
        if unknown:
            raise ValueError(f"unknown logger(s) {unknown}; choose from {', '.join(REPORTERS)}")
        return names


class RewardSpec(_Section):
    """A reward by registry name (`format`, `em`, `es`, `em_star`, `es_star`, `exec`) or `module:function`.

    `options` configure a registry reward that has any (`exec`: sandbox limits, scores, preload; see
    `recode.rewards.ExecReward.from_options`); they go to `recode.rewards.get_reward(name, options)`.
    """

    name: str
    weight: float = 1.0
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> Self:
        """Registry names and their options are checked when the config is read (a typo must not wait
        for step 1); `module:function` rewards are imported only when training starts."""
        if ":" in self.name:
            if self.options:
                raise ValueError(f"options apply to registry rewards only, not {self.name!r}")
            return self
        from recode.rewards import get_reward

        try:
            get_reward(self.name, self.options or None)
        except RecodeError as exc:
            raise ValueError(f"{exc.message} ({exc.hint})" if exc.hint else exc.message) from None
        return self


class DynamicSamplingSection(_Section):
    """DAPO dynamic sampling (ours): drop tied groups, refill, at most `max_rounds` rounds."""

    enabled: bool = False
    max_rounds: int = Field(10, gt=0, description="generation rounds per batch, the first one included")
    std_eps: float = Field(1e-6, ge=0, description="a group whose reward std is <= this counts as a tie")
    on_exhausted: Literal["pad", "error"] = "pad"


class OverlongSection(_Section):
    """DAPO overlong reward shaping (ours, Eq. 13), added as one more weighted reward."""

    enabled: bool = False
    buffer_len: int = Field(256, gt=0, description="L_cache of DAPO Eq. 13: tokens of soft penalty")
    weight: float = 1.0


class AlgorithmSection(_Section):
    """GRPO or DAPO: TRL's loss options plus our two DAPO extensions."""

    name: Literal["grpo", "dapo"] = "grpo"
    beta: float = Field(0.001, ge=0)
    epsilon: float = Field(0.2, gt=0)
    epsilon_high: float | None = Field(None, gt=0)
    loss_type: Literal["grpo", "dapo", "bnpo", "dr_grpo"] = "grpo"
    scale_rewards: Literal["group", "batch", "none"] = "group"
    num_iterations: int = Field(1, gt=0)
    mask_truncated_completions: bool = False
    dynamic_sampling: DynamicSamplingSection = Field(default_factory=DynamicSamplingSection)
    overlong: OverlongSection = Field(default_factory=OverlongSection)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        """Fill the chosen algorithm's preset under whatever the user set explicitly."""
        if not isinstance(data, dict):
            return data
        preset = ALGORITHM_PRESETS.get(str(data.get("name", "grpo")), {})
        return _deep_merge(preset, data)


class GenerationSection(_Section):
    """Rollouts: group size, sampling, lengths, and TRL's vLLM options."""

    num_generations: int = Field(8, gt=1, description="completions per prompt (the group)")
    max_completion_length: int = Field(1024, gt=0)
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"
    vllm_gpu_memory_utilization: float = Field(0.3, gt=0, le=1)
    vllm_server_base_url: str | None = Field(
        None, description="server mode: e.g. http://host:8000 (None: TRL's default, localhost:8000)"
    )
    vllm_importance_sampling_correction: bool = Field(
        True, description="TRL's correction for vLLM/trainer log-prob mismatch (verl's DAPO recipe has none)"
    )


class _Config(_Section):
    """Loading, overriding and saving, shared by the RL and SFT configs."""

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Self:
        """Load a recipe, apply `a.b=value` overrides (values parsed as YAML), validate."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise RecodeError(f"{path}: no such config file", hint="see configs/ for recipes") from None
        except yaml.YAMLError as exc:
            raise RecodeError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(data, dict):
            raise RecodeError(f"{path}: a config must be a mapping of sections")
        return cls.from_dict(data, overrides, origin=str(path))

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], overrides: list[str] | tuple[str, ...] = (), origin: str = ""
    ) -> Self:
        """Validate a plain dict (plus overrides); errors name every bad field."""
        data = apply_overrides(data, overrides)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(_describe_error(cls, err) for err in exc.errors())
            where = f"{origin}: " if origin else ""
            raise RecodeError(
                f"{where}invalid config: {problems}", hint="fix the YAML or the key=value override"
            ) from None

    def to_yaml(self) -> str:
        """The fully resolved config, saved next to each run so it can be reproduced exactly."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


class TrainConfig(_Config):
    """An RL run (GRPO or DAPO on TRL's GRPOTrainer)."""

    model: ModelSection = Field(default_factory=ModelSection)
    data: DataSection = Field(default_factory=DataSection)
    algorithm: AlgorithmSection = Field(default_factory=AlgorithmSection)
    rewards: list[RewardSpec] = [RewardSpec(name="format"), RewardSpec(name="es_star")]
    peft: PeftSection = Field(default_factory=PeftSection)
    generation: GenerationSection = Field(default_factory=GenerationSection)
    optim: OptimSection = Field(default_factory=OptimSection)
    logging: LoggingSection = Field(default_factory=LoggingSection)

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Cross-field rules a single field's type cannot express."""
        if not self.rewards:
            raise ValueError("at least one reward is needed")
        if self.optim.max_steps is None:
            raise ValueError("optim.max_steps is required for RL runs")
        if self.algorithm.overlong.enabled and (
            self.algorithm.overlong.buffer_len >= self.generation.max_completion_length
        ):
            raise ValueError("algorithm.overlong.buffer_len must be below generation.max_completion_length")
        return self


class SFTTrainConfig(_Section):
    """SFT-only settings: sequence length and epochs (used when `optim.max_steps` is null)."""

    max_length: int = Field(3072, gt=0, description="prompt + answer tokens; longer pairs are truncated")
    epochs: float = Field(3.0, gt=0)


class SFTConfig(_Config):
    """The supervised baseline (TRL's SFTTrainer on prompt -> migrated-code pairs)."""

    model: ModelSection = Field(default_factory=ModelSection)
    data: DataSection = Field(default_factory=DataSection)
    peft: PeftSection = Field(default_factory=PeftSection)
    optim: OptimSection = OptimSection(
        max_steps=None, warmup_steps=30, batch_prompts=8, per_device_batch_size=4
    )
    sft: SFTTrainConfig = Field(default_factory=SFTTrainConfig)
    logging: LoggingSection = LoggingSection(output_dir="runs/recode-sft")


def _describe_error(model: type[BaseModel], err: Any) -> str:
    """One pydantic error as `a.b: what`; an unknown key gets the closest known one, or the list."""
    loc = tuple(err["loc"])
    where = ".".join(str(p) for p in loc) or "<root>"
    if err["type"] != "extra_forbidden":
        return f"{where}: {err['msg'].removeprefix('Value error, ')}"
    known = _fields_at(model, loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    suggestion = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
    return f"{where}: unknown key ({suggestion})"


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the section at `loc` (list indices skipped), [] if `loc` leads nowhere."""
    node: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = node.model_fields.get(part)
        if field is None:
            return []
        node = _section_type(field.annotation)
        if node is None:
            return []
    return list(node.model_fields)


def _section_type(annotation: Any) -> type[BaseModel] | None:
    """The config section a field holds, directly or as list items (`rewards: list[RewardSpec]`)."""
    if get_origin(annotation) is list:
        annotation = get_args(annotation)[0]
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """A copy of `data` with each `a.b.c=value` set; list items are addressed by index (`rewards.0`)."""
    out = _deep_merge({}, data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise RecodeError(f"override {item!r} is not key=value", hint="e.g. optim.learning_rate=1e-5")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        _set_path(out, key.strip().split("."), value, item)
    return out


def _set_path(node: Any, parts: list[str], value: Any, item: str) -> None:
    """Set `value` at `parts` inside `node`, creating missing mappings; `item` is quoted in errors."""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise RecodeError(f"override {item!r}: {part!r} is not an index of a {len(node)}-item list")
            index: Any = int(part)
        elif isinstance(node, dict):
            index = part
            if not last and not isinstance(node.get(part), (dict, list)):
                if parts[i + 1].isdigit():
                    raise RecodeError(f"override {item!r}: the config file sets no list {part!r} to index")
                node[part] = {}
        else:
            raise RecodeError(f"override {item!r}: {'.'.join(parts[:i])} is not a section")
        if last:
            node[index] = value
        else:
            node = node[index]


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`top` over `base`, recursively for nested mappings; neither input is modified."""
    out = {k: (_deep_merge({}, v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        elif isinstance(value, dict):
            out[key] = _deep_merge({}, value)
        else:
            out[key] = value
    return out


def expand_path(value: str) -> str:
    """Expand `~` and `${VAR}` in a config path; an unset variable is a clear error, not a literal `$`."""
    expanded = os.path.expanduser(os.path.expandvars(value))
    if "$" in expanded:
        raise RecodeError(
            f"{value!r} names an environment variable that is not set",
            hint="export it (e.g. RECODE_DATA_DIR=/path/to/data) or override the path on the command line",
        )
    return expanded


def world_size() -> int:
    """Processes in this launch (accelerate/torchrun set WORLD_SIZE; a plain `python` run is 1)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def accumulation_steps(total_sequences: int, per_device: int, processes: int, what: str) -> int:
    """Gradient-accumulation steps so that one optimizer step sees `total_sequences` sequences."""
    per_pass = per_device * processes
    if total_sequences % per_pass:
        raise RecodeError(
            f"{what} = {total_sequences} is not a multiple of per_device_batch_size x processes = {per_pass}",
            hint="change optim.batch_prompts or optim.per_device_batch_size",
        )
    return total_sequences // per_pass
