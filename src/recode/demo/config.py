"""Sizes and hyper-parameters of the CPU demo, and their mapping onto the project's training configs.

Why a separate config and not a YAML recipe: the demo is one command with two presets (full and
`--quick`), and every number here was chosen for one machine class (2 CPU cores, no GPU, ~10 minutes).
The RL and SFT stages still go through `recode.training`'s own `TrainConfig` / `SFTConfig`, built by
`sft_config` / `rl_config` below, so the demo exercises exactly what `recode train` and `recode sft` run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from recode.training.config import SFTConfig, TinyModelSpec, TrainConfig


@dataclass(frozen=True)
class DemoConfig:
    """Everything that decides a demo run; `seed` makes it reproducible end to end."""

    seed: int = 0
    n_train: int = 1000  # train updates (one task each); the warm start and RL both use them
    n_heldout: int = 100  # held-out updates: evaluation only, no rule shared with train
    evaluate_on: Literal["heldout", "validation"] = "heldout"
    """`validation`: score on `n_heldout` tasks carved out of the train updates (`DemoData.validation`)
    and never touch the held-out split: the mode for choosing the numbers below."""
    vocab_size: int = 1024  # BPE merges fitted to the generated corpus (+ prompt phrases as tokens)
    model: TinyModelSpec = field(
        default_factory=lambda: TinyModelSpec(
            hidden_size=256, num_layers=2, num_heads=4, intermediate_size=512, vocab_size=1024
        )
    )
    """Two layers are enough to copy a name from the note (an induction head); width is what made the
    copy precise (validation, warm start forced to reason: 0.32 of tasks right at width 128, 0.50 at
    256). Four layers at width 128 (on 4000 tasks) trained worse in the same steps."""
    # Stage 1, SFT warm start: learns the answer format and to copy the legacy code.
    sft_steps: int = 400
    sft_batch: int = 32
    sft_learning_rate: float = 2e-3  # a from-scratch 1.5M-parameter model tolerates (and needs) a high rate
    apply_fraction: float = 0.3
    """Share of warm-start targets that reason about the note and apply it instead of copying the legacy
    code (see `recode.demo.warmstart`): a minority prior to follow docs that sampling finds and RL
    amplifies; greedy decoding after the warm start mostly still copies. At 0.2 the warm start saw too
    few applying rows to learn to copy literals and module names from a note (validation: 0.50 of
    tasks right when forced to reason, 0.85 at 0.35)."""
    # Stage 2, RL (GRPO through recode.training.run_rl) with format + ES* rewards.
    rl_steps: int = 150
    """Validation pass@1 after RL at this width: 0.89 (150 steps), 0.91 (200 steps, ~100 s more; the
    whole demo then took 586 s, too close to its 600 s budget), 0.81 (300 SFT + 180 RL steps)."""
    rl_prompts: int = 8  # prompts per optimizer step
    num_generations: int = 8  # the GRPO group size
    rl_learning_rate: float = 5e-4
    temperature: float = 1.0
    max_completion_length: int = 72  # the longest target answer is ~50 tokens
    rewards: tuple[str, ...] = ("format", "es_star")
    torch_threads: int = 1
    """Matmuls this small do not split across cores; a second thread only spins against the other jobs
    on a shared 2-core machine (measured: SFT steps ~5x faster with 1 thread than with 2)."""

    @classmethod
    def quick(cls, seed: int = 0) -> DemoConfig:
        """A few steps of every stage on a few tasks: checks the pipeline, does not learn much."""
        return cls(
            seed=seed,
            n_train=28,
            n_heldout=14,
            vocab_size=600,
            model=TinyModelSpec(
                hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, vocab_size=600
            ),
            sft_steps=4,
            sft_batch=8,
            rl_steps=2,
            rl_prompts=2,
            num_generations=4,
            max_completion_length=48,
        )

    def with_seed(self, seed: int) -> DemoConfig:
        """The same run with another seed (data, weights and sampling all follow it)."""
        return replace(self, seed=seed)


def _common(cfg: DemoConfig, output_dir: Path, batch: int, learning_rate: float, steps: int) -> dict:
    """Sections both stages share: CPU, fp32, no adapter (the model is tiny and trained from scratch)."""
    return {
        "model": {"init": "tiny", "tiny": cfg.model.model_dump(), "dtype": "float32"},
        "peft": {"enabled": False},
        "optim": {
            "learning_rate": learning_rate,
            "lr_scheduler": "constant_with_warmup",
            "warmup_steps": min(30, steps // 10),
            "max_steps": steps,
            "batch_prompts": batch,
            "per_device_batch_size": batch,
            "bf16": False,  # bf16 is slower than fp32 on CPU
            "gradient_checkpointing": False,  # activations of a tiny model fit; recomputing costs time
            "use_cpu": True,
            "torch_threads": cfg.torch_threads,
            "seed": cfg.seed,
        },
        "logging": {
            "output_dir": str(output_dir),
            "logging_steps": 1 if steps < 50 else 5,
            "save_steps": steps + 1,  # no intermediate checkpoints: the final model is saved anyway
            "report_to": [],
            "progress": False,  # the demo draws its own rich progress bar
        },
    }


def sft_config(cfg: DemoConfig, output_dir: Path) -> SFTConfig:
    """The warm-start stage as a `recode sft` config."""
    data = _common(cfg, output_dir, cfg.sft_batch, cfg.sft_learning_rate, cfg.sft_steps)
    data["sft"] = {"max_length": 512, "epochs": 1.0}
    return SFTConfig.from_dict(data, origin="demo SFT stage")


def rl_config(cfg: DemoConfig, output_dir: Path) -> TrainConfig:
    """The RL stage as a `recode train` config: GRPO without KL (no reference model to run on CPU)."""
    data = _common(cfg, output_dir, cfg.rl_prompts * cfg.num_generations, cfg.rl_learning_rate, cfg.rl_steps)
    data["optim"]["batch_prompts"] = cfg.rl_prompts
    data["algorithm"] = {"name": "grpo", "beta": 0.0}
    data["rewards"] = [{"name": name} for name in cfg.rewards]
    data["generation"] = {
        "num_generations": cfg.num_generations,
        "max_completion_length": cfg.max_completion_length,
        "temperature": cfg.temperature,
    }
    data["data"] = {"max_prompt_length": 256}
    return TrainConfig.from_dict(data, origin="demo RL stage")
