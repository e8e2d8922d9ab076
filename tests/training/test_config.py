"""Recipes load and validate; overrides and algorithm presets behave as documented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recode.errors import RecodeError
from recode.training.config import SFTConfig, TrainConfig, accumulation_steps, apply_overrides, expand_path

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
RL_RECIPES = sorted(p for p in CONFIGS.glob("*.yaml") if p.name.startswith(("grpo_", "dapo_")))
SFT_RECIPES = sorted(CONFIGS.glob("sft_*.yaml"))


def test_every_recipe_is_there() -> None:
    names = {p.name for p in RL_RECIPES + SFT_RECIPES}
    for method in ("grpo", "dapo", "sft"):
        assert f"{method}_qwen2.5-coder-7b.yaml" in names
        assert f"{method}_tiny-cpu.yaml" in names


@pytest.mark.parametrize("path", RL_RECIPES, ids=lambda p: p.name)
def test_rl_recipes_validate(path: Path) -> None:
    cfg = TrainConfig.from_yaml(path)
    assert cfg.algorithm.name == path.name.split("_")[0]
    assert cfg.peft.method == "dora"


@pytest.mark.parametrize("path", SFT_RECIPES, ids=lambda p: p.name)
def test_sft_recipes_validate(path: Path) -> None:
    assert SFTConfig.from_yaml(path).peft.enabled


def test_7b_recipes_carry_the_paper_settings() -> None:
    grpo = TrainConfig.from_yaml(CONFIGS / "grpo_qwen2.5-coder-7b.yaml")
    dapo = TrainConfig.from_yaml(CONFIGS / "dapo_qwen2.5-coder-7b.yaml")
    for cfg in (grpo, dapo):
        o, g, p = cfg.optim, cfg.generation, cfg.peft
        assert (o.learning_rate, o.warmup_steps, o.lr_scheduler, o.max_steps) == (5e-5, 150, "cosine", 5000)
        assert (o.batch_prompts, g.num_generations, o.bf16) == (8, 8, True)
        assert (cfg.data.max_prompt_length, g.max_completion_length) == (2048, 1024)
        assert (p.r, p.alpha, p.dropout) == (64, 64, 0.01)
        assert {"q_proj", "v_proj", "gate_proj", "down_proj"} <= set(p.target_modules)
    assert (grpo.algorithm.beta, grpo.algorithm.loss_type) == (0.001, "grpo")
    a = dapo.algorithm
    assert (a.epsilon, a.epsilon_high, a.beta, a.loss_type) == (0.2, 0.28, 0.0, "dapo")
    assert a.dynamic_sampling.enabled and a.dynamic_sampling.max_rounds == 10 and a.overlong.enabled


def test_overrides_are_typed_and_dotted() -> None:
    cfg = TrainConfig.from_yaml(
        CONFIGS / "grpo_tiny-cpu.yaml",
        ["optim.learning_rate=1e-5", "peft.method=lora", "rewards.1.weight=0.5", "logging.report_to=[]"],
    )
    assert cfg.optim.learning_rate == 1e-5
    assert cfg.peft.method == "lora"
    assert cfg.rewards[1].weight == 0.5
    assert cfg.logging.report_to == []


def test_dapo_preset_fills_unset_fields_but_explicit_values_win() -> None:
    cfg = TrainConfig.from_dict({"algorithm": {"name": "dapo", "epsilon_high": 0.3}})
    a = cfg.algorithm
    assert (a.beta, a.loss_type, a.epsilon_high) == (0.0, "dapo", 0.3)
    assert a.dynamic_sampling.enabled and a.overlong.enabled
    grpo = TrainConfig.from_dict({}).algorithm
    assert (grpo.beta, grpo.loss_type, grpo.dynamic_sampling.enabled) == (0.001, "grpo", False)


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("optim.lerning_rate=1", "did you mean 'learning_rate'"),
        ("optimm.learning_rate=1", "did you mean 'optim'"),
        ("zzz=1", "known: model, data"),
        ("logging.report_to=[tensorbord]", "unknown logger"),
        ("optim.learning_rate=-1", "optim.learning_rate"),
        ("algorithm.name=ppo", "algorithm.name"),
        ("algorithm.name=dapo", "buffer_len"),  # the preset turns shaping on; 256 > 48 tokens
        ("no_equals_sign", "key=value"),
        ("optim.learning_rate.x=1", "optim.learning_rate"),
    ],
)
def test_bad_config_names_the_field(override: str, fragment: str) -> None:
    with pytest.raises(RecodeError) as info:
        TrainConfig.from_yaml(CONFIGS / "grpo_tiny-cpu.yaml", [override])
    assert fragment in str(info.value)


def test_override_does_not_touch_the_input() -> None:
    data = {"optim": {"learning_rate": 1.0}}
    apply_overrides(data, ["optim.learning_rate=2"])
    assert data == {"optim": {"learning_rate": 1.0}}


def test_missing_file_and_unset_variable_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RecodeError, match="no such config"):
        TrainConfig.from_yaml(tmp_path / "nope.yaml")
    monkeypatch.delenv("RECODE_TEST_UNSET", raising=False)
    with pytest.raises(RecodeError, match="not set"):
        expand_path("${RECODE_TEST_UNSET}/x.jsonl")


def test_batch_layout_must_divide() -> None:
    assert accumulation_steps(64, 4, 2, "x") == 8
    with pytest.raises(RecodeError, match="multiple"):
        accumulation_steps(64, 3, 1, "x")


def test_resolved_config_round_trips(tmp_path: Path) -> None:
    cfg = TrainConfig.from_yaml(CONFIGS / "dapo_qwen2.5-coder-7b.yaml", ["optim.seed=7"])
    path = tmp_path / "resolved.yaml"
    path.write_text(cfg.to_yaml())
    assert TrainConfig.from_yaml(path) == cfg


@pytest.mark.parametrize("stage", [2, 3])
def test_accelerate_deepspeed_configs_load(stage: int) -> None:
    from accelerate.commands.config.config_args import ClusterConfig

    cfg = ClusterConfig.from_yaml_file(str(CONFIGS / "accelerate" / f"zero{stage}.yaml"))
    assert cfg.distributed_type == "DEEPSPEED" and cfg.deepspeed_config["zero_stage"] == stage
    assert cfg.mixed_precision == "bf16"


def test_reward_names_are_checked_when_the_config_is_read() -> None:
    with pytest.raises(RecodeError, match="es_starr"):
        TrainConfig.from_dict({"rewards": [{"name": "es_starr"}]})
    assert TrainConfig.from_dict({"rewards": [{"name": "pkg.mod:fn"}]}).rewards[0].name == "pkg.mod:fn"


def test_reward_options_reach_the_registry() -> None:
    from recode.rewards import REWARDS, ExecReward
    from recode.training.common import resolve_reward

    cfg = TrainConfig.from_dict({"rewards": [{"name": "exec", "options": {"timeout_s": 3, "preload": []}}]})
    spec = cfg.rewards[0]
    reward = resolve_reward(spec.name, spec.options)
    assert isinstance(reward, ExecReward) and reward is not REWARDS["exec"]
    assert reward.limits.timeout_s == 3 and reward.__name__ == "exec"
    assert resolve_reward("exec", {}) is REWARDS["exec"]


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ({"name": "exec", "options": {"timeot_s": 3}}, "timeot_s"),
        ({"name": "es_star", "options": {"x": 1}}, "takes no options"),
        ({"name": "pkg.mod:fn", "options": {"x": 1}}, "registry rewards only"),
    ],
)
def test_bad_reward_options_fail_when_read(spec: dict, fragment: str) -> None:
    with pytest.raises(RecodeError, match=fragment):
        TrainConfig.from_dict({"rewards": [spec]})


def _leaves(node: object, prefix: str = "") -> list[tuple[str, object]]:
    """Every dotted path to a scalar or list value in a dumped config (list items by index)."""
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _leaves(value, f"{prefix}{key}.")]
    if isinstance(node, list) and node and all(isinstance(item, dict) for item in node):
        return [leaf for i, item in enumerate(node) for leaf in _leaves(item, f"{prefix}{i}.")]
    return [(prefix.rstrip("."), node)]


@pytest.mark.parametrize(
    "kind, recipe", [(TrainConfig, "dapo_qwen2.5-coder-7b.yaml"), (SFTConfig, "sft_tiny-cpu.yaml")]
)
def test_every_field_can_be_overridden(kind: type, recipe: str) -> None:
    """Each leaf set on the command line to a changed value (or its own, when no change is valid) lands."""
    base = kind.from_yaml(CONFIGS / recipe)
    leaves = _leaves(base.model_dump(mode="json"))
    assert len(leaves) > 40
    changed = 0
    for path, value in leaves:
        candidates = [_another(value), value]
        for candidate in candidates:
            try:
                cfg = kind.from_yaml(CONFIGS / recipe, [f"{path}={json.dumps(candidate)}"])
            except RecodeError:
                continue
            assert _leaves(cfg.model_dump(mode="json")) == [
                (p, candidate if p == path else v) for p, v in leaves
            ], path
            changed += candidate != value
            break
        else:
            pytest.fail(f"{path} cannot be set from the command line")
    assert changed > len(leaves) // 2


def _another(value: object) -> object:
    """A different value of the same type, for the override test."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1 if value >= 1 else value / 2
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return value[:-1]
    return value
