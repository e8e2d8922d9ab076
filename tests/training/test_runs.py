"""End-to-end runs of the tiny CPU recipes through `run_rl` / `run_sft`, the 7B recipes' code path.

A random tiny Qwen2 learns nothing useful in three steps; these tests check the plumbing that a real
run depends on: the adapter moves, losses are finite, logs and checkpoints are written, a killed run
resumes, and DAPO's dynamic sampling drops the groups a reward ties on purpose.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from recode.training import SFTConfig, TrainConfig, run_rl, run_sft
from recode.training.common import LOG_FILE

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def one_thread() -> Any:
    """Tiny matmuls gain nothing from threads, and on a shared 2-core box extra threads only contend
    (measured: ~4x slower steps under load); restore the setting for whatever runs next."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class Snapshot(TrainerCallback):
    """Copies the trainable (adapter) parameters when training starts."""

    def __init__(self) -> None:
        self.before: dict[str, torch.Tensor] = {}

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        self.before = {
            _key(name): p.detach().clone() for name, p in model.named_parameters() if p.requires_grad
        }


class KillAt(TrainerCallback):
    """Simulates a crash once `step` optimizer steps (and their checkpoints) are done."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == self.step:
            raise RuntimeError("killed")


def _key(name: str) -> str:
    """Parameter name as PEFT saves it (no adapter name; magnitude vectors without `.weight`)."""
    name = name.replace(".default", "")
    return name.removesuffix(".weight") if "lora_magnitude_vector" in name else name


def _finite_losses(history: list[dict[str, Any]]) -> list[float]:
    losses = [entry["loss"] for entry in history if "loss" in entry]
    assert losses and all(math.isfinite(x) for x in losses)
    return losses


def _changed(snapshot: Snapshot, adapter_dir: Path) -> dict[str, bool]:
    saved = load_file(adapter_dir / "adapter_model.safetensors")
    assert snapshot.before and set(snapshot.before) == set(saved)
    return {name: not torch.equal(saved[name].to(b.dtype), b) for name, b in snapshot.before.items()}


def test_grpo_run_is_killed_then_resumes(tmp_path: Path, configs_dir: Path, tiny_overrides: Any) -> None:
    out = tmp_path / "grpo"
    cfg = TrainConfig.from_yaml(
        configs_dir / "grpo_tiny-cpu.yaml",
        tiny_overrides(
            out,
            "rewards=[{name: 'recode_training_test_rewards:length_reward'}]",
            "optim.max_steps=3",
            "logging.save_steps=1",
            "generation.max_completion_length=12",
            "data.max_examples=4",
        ),
    )
    snapshot = Snapshot()
    with pytest.raises(RuntimeError, match="killed"):
        run_rl(cfg, callbacks=[snapshot, KillAt(2)])
    assert (out / "checkpoint-2").is_dir() and not (out / "final").exists()

    result = run_rl(cfg, resume=True)
    assert result.metrics["global_step"] == 3
    losses = _finite_losses(result.log_history)
    assert len(losses) == 3  # steps 1-2 restored from the checkpoint, step 3 trained after the resume
    lines = [json.loads(line) for line in (out / LOG_FILE).read_text().splitlines()]
    assert [e["step"] for e in lines if "loss" in e] == [1, 2, 3]
    listed = {"rewards/length_reward/mean", "reward_group_std", "kl"}
    listed |= {"clip_ratio/region_mean", "completions/mean_length", "learning_rate", "loss"}
    assert listed <= set(lines[0]), listed - set(lines[0])

    changed = _changed(snapshot, result.final_adapter_dir)
    assert any("lora_magnitude_vector" in name for name in changed), "DoRA magnitude vectors missing"
    assert any(v for k, v in changed.items() if "lora_B" in k), "no lora_B weight moved"
    assert list(out.glob("runs/**/events.out.tfevents*")), "no tensorboard log"
    assert (out / "base-model" / "config.json").is_file() and (out / "config.yaml").is_file()


def test_7b_dapo_recipe_on_a_tiny_model_drops_groups_that_tie(
    tmp_path: Path, configs_dir: Path, tiny_overrides: Any
) -> None:
    """The 7B DAPO recipe itself (bf16, gradient checkpointing, accumulation over 2 micro-batches), with
    only the model and the sizes swapped for a tiny one."""
    out = tmp_path / "dapo"
    cfg = TrainConfig.from_yaml(
        configs_dir / "dapo_qwen2.5-coder-7b.yaml",
        tiny_overrides(
            out,
            "model.init=tiny",
            "optim.use_cpu=true",
            "optim.torch_threads=1",
            "optim.warmup_steps=0",
            "optim.max_steps=2",
            "optim.batch_prompts=2",  # x 4 generations = 8 sequences = 2 micro-batches of 4
            "generation.num_generations=4",
            "generation.max_completion_length=12",
            "algorithm.overlong.buffer_len=4",
            "algorithm.dynamic_sampling.max_rounds=2",
            "rewards=[{name: 'recode_training_test_rewards:tie_on_zorp'}]",
            "data.max_examples=4",  # rows 0-1 are zorp (reward ties), rows 2-3 are not
        ),
    )
    assert cfg.optim.bf16 and cfg.optim.gradient_checkpointing and cfg.optim.per_device_batch_size == 4
    result = run_rl(cfg)
    _finite_losses(result.log_history)
    steps = [e for e in result.log_history if "dynamic_sampling/rounds" in e]
    assert len(steps) == 2
    assert sum(e["dynamic_sampling/dropped_groups"] for e in steps) >= 1
    assert all(1 <= e["dynamic_sampling/rounds"] <= 2 for e in steps)
    assert all("rewards/overlong/mean" in e for e in steps)


def test_sft_run_trains_the_dora_adapter(tmp_path: Path, configs_dir: Path, tiny_overrides: Any) -> None:
    out = tmp_path / "sft"
    cfg = SFTConfig.from_yaml(
        configs_dir / "sft_tiny-cpu.yaml",
        tiny_overrides(out, "optim.max_steps=2", "optim.batch_prompts=2", "optim.per_device_batch_size=2"),
    )
    snapshot = Snapshot()
    result = run_sft(cfg, callbacks=[snapshot])
    _finite_losses(result.log_history)
    assert any(v for k, v in _changed(snapshot, result.final_adapter_dir).items() if "lora_B" in k)
    adapter = json.loads((result.final_adapter_dir / "adapter_config.json").read_text())
    assert adapter["use_dora"] is True and adapter["r"] == 4
    assert (out / LOG_FILE).is_file()


def test_dapo_on_two_processes(tmp_path: Path, configs_dir: Path, tiny_overrides: Any) -> None:
    """`torchrun` with 2 CPU processes (gloo): groups tie on one process and not the other, so the
    processes must agree on the number of rounds and on the refill prompts, or the collectives hang."""
    (tmp_path / "ranked_rewards.py").write_text(
        "def tie_on_zorp(completions, dependency, **kwargs):\n"
        "    return [1.0 if d == 'zorp' else len(str(c)) / 100.0 for c, d in zip(completions, dependency)]\n"
    )
    out = tmp_path / "dapo2"
    overrides = tiny_overrides(
        out,
        "optim.max_steps=2",
        "optim.per_device_batch_size=4",  # 2 prompts x 4 generations over 2 processes
        "generation.max_completion_length=12",
        "algorithm.overlong.buffer_len=4",
        "rewards=[{name: 'ranked_rewards:tie_on_zorp'}]",
        "data.max_examples=4",
    )
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "recode", "train"]
    command += ["--config", str(configs_dir / "dapo_tiny-cpu.yaml"), *overrides]
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.count("training plan") == 1  # printed by rank 0 only
    steps = [json.loads(line) for line in (out / LOG_FILE).read_text().splitlines()]
    steps = [e for e in steps if "dynamic_sampling/rounds" in e]
    assert [e["step"] for e in steps] == [1, 2]
    _finite_losses(steps)
    assert all(1 <= e["dynamic_sampling/rounds"] <= 10 for e in steps)
