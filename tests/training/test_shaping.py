"""DAPO overlong reward shaping (Eq. 13): formula, boundaries, and agreement with TRL's version."""

from __future__ import annotations

import itertools

import pytest
from trl.rewards import get_soft_overlong_punishment

from recode.training.sampling import task_rewards
from recode.training.shaping import SHAPING_ATTR, make_overlong_reward, overlong_penalty


@pytest.mark.parametrize(
    "length, expected",
    [(0, 0.0), (96, 0.0), (97, -1 / 32), (112, -0.5), (128, -1.0), (129, -1.0), (500, -1.0)],
)
def test_penalty_matches_eq13(length: int, expected: float) -> None:
    assert overlong_penalty(length, max_len=128, buffer_len=32) == pytest.approx(expected)


def test_penalty_is_monotone_non_increasing() -> None:
    values = [overlong_penalty(n, 64, 16) for n in range(0, 80)]
    assert all(a >= b for a, b in itertools.pairwise(values))


def test_agrees_with_trl_reference() -> None:
    ours = make_overlong_reward(128, 32)
    theirs = get_soft_overlong_punishment(max_completion_len=128, soft_punish_cache=32)
    ids = [[0] * n for n in range(0, 140, 3)]
    assert ours(completions=[""] * len(ids), completion_ids=ids) == pytest.approx(theirs(completion_ids=ids))


def test_reward_is_marked_as_shaping_and_validated() -> None:
    reward = make_overlong_reward(64, 16)
    assert reward.__name__ == "overlong" and getattr(reward, SHAPING_ATTR)
    with pytest.raises(ValueError):
        make_overlong_reward(64, 64)


def test_task_rewards_leave_shaping_out() -> None:
    import torch

    per_func = torch.tensor([[1.0, -0.5], [1.0, 0.0], [float("nan"), -1.0]])
    total = task_rewards(per_func, torch.tensor([2.0, 1.0]), torch.tensor([True, False]))
    assert total[:2].tolist() == [2.0, 2.0] and torch.isnan(total[2])
