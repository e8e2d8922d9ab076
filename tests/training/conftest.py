"""Fixtures for training tests: recipe paths, the shipped tiny data, and rewards made for testing.

Test rewards live in a module registered under a fixed name, so configs can name them the way users
name their own rewards (`module:function`), through the same resolution path as the registry names.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
TINY_DATA = CONFIGS / "data" / "tiny-migration.jsonl"
REWARD_MODULE = "recode_training_test_rewards"


def length_reward(completions: list[Any], **kwargs: Any) -> list[float]:
    """Varies with the sampled text, so every group has spread and the policy gets a gradient."""
    return [len(str(c)) / 100.0 for c in completions]


def tie_on_zorp(completions: list[Any], dependency: list[str], **kwargs: Any) -> list[float]:
    """Ties on purpose (constant 1.0) for every `zorp` prompt; varies with length for the others."""
    return [
        1.0 if dep == "zorp" else len(str(c)) / 100.0 for c, dep in zip(completions, dependency, strict=True)
    ]


@pytest.fixture(autouse=True)
def test_rewards(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    module = types.ModuleType(REWARD_MODULE)
    module.length_reward = length_reward  # type: ignore[attr-defined]
    module.tie_on_zorp = tie_on_zorp  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, REWARD_MODULE, module)
    yield REWARD_MODULE


@pytest.fixture
def configs_dir() -> Path:
    return CONFIGS


@pytest.fixture
def tiny_overrides() -> Any:
    return shrink


def shrink(output_dir: Path, *extra: str) -> list[str]:
    """Shrink a `*_tiny-cpu.yaml` recipe further so a step takes about a second on a shared 2-core CPU."""
    return [
        f"data.source={TINY_DATA}",
        f"logging.output_dir={output_dir}",
        "logging.report_to=[tensorboard]",
        "logging.progress=false",
        "model.tiny.hidden_size=32",
        "model.tiny.intermediate_size=64",
        "model.tiny.vocab_size=400",
        "peft.r=4",
        "peft.alpha=8",
        *extra,
    ]
