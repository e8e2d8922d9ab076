"""format_reward: `"<think>" + completion` must be think block, answer block, nothing else."""

from __future__ import annotations

import pytest

from recode.rewards import format_reward

GOOD = [
    "reasoning</think><answer>x</answer>",
    "step 1\nstep 2\n</think>\n\n<answer>\n```python\nx = 1\n```\n</answer>\n",
    "</think><answer></answer>",
    "r</think> \t\n<answer>a <think> inside the answer is allowed</answer>  \n\n",
]
BAD = [
    "<think>nested</think><answer>x</answer>",  # the prefill already opened <think>
    "a <think> b</think><answer>x</answer>",
    "a </think> b</think><answer>x</answer>",
    "reasoning</think><answer>x</answer> trailing text",
    "reasoning</think> text <answer>x</answer>",
    "reasoning<answer>x</answer>",
    "reasoning</think>```python\nx = 1\n```",
    "reasoning</think><answer>x",
    "",
]


@pytest.mark.parametrize("completion", GOOD)
def test_well_formed_completions_get_plus_one(completion: str) -> None:
    assert format_reward(completion) == 1.0


@pytest.mark.parametrize("completion", BAD)
def test_malformed_completions_get_minus_one(completion: str) -> None:
    assert format_reward(completion) == -1.0


def test_batch_and_conversational_forms() -> None:
    batch = [GOOD[0], BAD[0], [{"role": "assistant", "content": GOOD[1]}]]
    assert format_reward(batch, target=["x"] * 3, prompts=["p"] * 3) == [1.0, -1.0, 1.0]
    assert format_reward([{"role": "assistant", "content": BAD[1]}]) == -1.0


def test_logged_under_its_config_name() -> None:
    assert format_reward.__name__ == "format"
