"""The dry-run plan: memory arithmetic checked against real PEFT models, package and launch checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from peft import get_peft_model
from transformers import Qwen2Config, Qwen2ForCausalLM

from recode.errors import RecodeError
from recode.training.common import peft_config
from recode.training.config import ModelSection, PeftSection, SFTConfig, TrainConfig
from recode.training.plan import (
    adapter_params,
    base_params,
    describe_plan,
    memory_estimate,
    missing_packages,
    model_dims,
    require_packages,
)

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture(scope="module")
def small_qwen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A grouped-query Qwen2 config (4 heads, 2 KV heads) saved as a model folder would hold it."""
    config = Qwen2Config(
        vocab_size=300,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=False,
    )
    folder = tmp_path_factory.mktemp("qwen")
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    return folder


@pytest.mark.parametrize("method", ["dora", "lora"])
def test_adapter_size_matches_peft(small_qwen: Path, method: str) -> None:
    spec = PeftSection(method=method, r=8, alpha=8)
    config = Qwen2Config.from_pretrained(small_qwen)
    model = get_peft_model(Qwen2ForCausalLM(config), peft_config(spec))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    dims = model_dims(ModelSection(name_or_path=str(small_qwen)))
    assert dims is not None and adapter_params(dims, spec) == trainable


def test_base_size_matches_the_model_up_to_norms_and_biases(small_qwen: Path) -> None:
    model = Qwen2ForCausalLM(Qwen2Config.from_pretrained(small_qwen))
    dims = model_dims(ModelSection(name_or_path=str(small_qwen)))
    assert dims is not None
    assert base_params(dims) == pytest.approx(model.num_parameters(), rel=0.02)


def test_memory_estimate_without_a_config_says_so() -> None:
    hub_only = ModelSection(name_or_path="no-such-owner/no-such-model", approx_params_b=7.6)
    out = memory_estimate(hub_only, PeftSection())
    assert out["weights_gb"] == pytest.approx(15.2) and "unknown" in out["adapter"]
    assert "unknown" in memory_estimate(ModelSection(name_or_path="no-such-owner/x"), PeftSection())["memory"]


def test_missing_packages_are_named_before_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    import recode.training.plan as plan

    absent = {"wandb", "vllm", "deepspeed"}
    monkeypatch.setattr(plan.importlib.util, "find_spec", lambda name: None if name in absent else object())
    cfg = TrainConfig.from_dict(
        {"logging": {"report_to": ["tensorboard", "wandb"]}, "generation": {"use_vllm": True}}
    )
    problems = " ".join(problem for problem, _ in missing_packages(cfg))
    assert "wandb" in problems and "vllm" in problems and "tensorboard" not in problems
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    assert any("deepspeed" in problem for problem, _ in missing_packages(SFTConfig()))
    with pytest.raises(RecodeError, match="wandb"):
        require_packages(cfg)


@pytest.mark.parametrize("stage", [2, 3])
@pytest.mark.parametrize("recipe", ["grpo", "dapo", "sft"])
def test_7b_recipes_divide_over_the_accelerate_launch(
    stage: int, recipe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each 7B recipe's batch layout splits over the process count the accelerate configs launch."""
    launch = yaml.safe_load((CONFIGS / "accelerate" / f"zero{stage}.yaml").read_text())
    monkeypatch.setenv("WORLD_SIZE", str(launch["num_processes"]))
    kind = SFTConfig if recipe == "sft" else TrainConfig
    plan = describe_plan(kind.from_yaml(CONFIGS / f"{recipe}_qwen2.5-coder-7b.yaml"))
    assert plan["processes"] == launch["num_processes"] and plan["gradient_accumulation"] >= 1


def test_vllm_and_dapo_settings_reach_trl(tmp_path: Path) -> None:
    from recode.training.rl import grpo_args

    overrides = [
        "generation.use_vllm=true",
        "generation.vllm_mode=server",
        "generation.vllm_server_base_url=http://rollouts:8000",
        "generation.vllm_importance_sampling_correction=false",
        "optim.use_cpu=true",
        "optim.bf16=false",
    ]
    cfg = TrainConfig.from_yaml(CONFIGS / "dapo_qwen2.5-coder-7b.yaml", overrides)
    args = grpo_args(cfg, tmp_path, [1.0, 1.0, 1.0])
    assert (args.use_vllm, args.vllm_mode, args.vllm_server_base_url) == (
        True,
        "server",
        "http://rollouts:8000",
    )
    assert args.vllm_importance_sampling_correction is False
    assert (args.epsilon, args.epsilon_high, args.beta, args.loss_type) == (0.2, 0.28, 0.0, "dapo")
    assert args.gradient_accumulation_steps * args.per_device_train_batch_size == 64


def test_grpo_and_sft_recipes_read_the_shared_settings_alike(tmp_path: Path) -> None:
    """The paper compares GRPO and SFT row by row: the same optim/logging values must reach both trainers."""
    from recode.training.rl import grpo_args
    from recode.training.sft import sft_args

    shared = [
        "optim.learning_rate=3e-5",
        "optim.warmup_steps=7",
        "optim.lr_scheduler=linear",
        "optim.use_cpu=true",
        "optim.bf16=false",
        "logging.save_steps=11",
        "logging.report_to=[]",
    ]
    grpo = grpo_args(TrainConfig.from_yaml(CONFIGS / "grpo_qwen2.5-coder-7b.yaml", shared), tmp_path, [1, 1])
    sft = sft_args(SFTConfig.from_yaml(CONFIGS / "sft_qwen2.5-coder-7b.yaml", shared), tmp_path)
    fields = ("learning_rate", "warmup_steps", "lr_scheduler_type", "save_steps", "bf16", "use_cpu")
    assert [getattr(grpo, f) for f in fields] == [getattr(sft, f) for f in fields]
    assert (grpo.learning_rate, grpo.warmup_steps, grpo.save_steps) == (3e-5, 7, 11)
    assert grpo.lr_scheduler_type == "linear" and grpo.report_to == sft.report_to == []
