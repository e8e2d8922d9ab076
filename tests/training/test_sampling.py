"""Dynamic sampling: tie detection, batch stitching, and the round loop of the trainer.

The round loop is tested against a stand-in for TRL's generate-and-score step, so every case (refill,
exhaustion, error, token count) runs in milliseconds and with rewards chosen to tie on purpose.
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from trl import GRPOTrainer

from recode.errors import RecodeError
from recode.training.config import DynamicSamplingSection
from recode.training.sampling import concat_batches, group_std, select_rows, tied_groups
from recode.training.trainer import ReCodeGRPOTrainer

NAN = float("nan")


def test_tied_groups_exact_eps_and_nan() -> None:
    rewards = torch.tensor(
        [1, 1, 1, 1, 0, 1, 0, 1, 0.5, 0.5 + 1e-9, 0.5, 0.5, 2, NAN, NAN, NAN], dtype=torch.float64
    )
    assert tied_groups(rewards, 4, eps=1e-6).tolist() == [True, False, True, True]
    assert tied_groups(rewards, 4, eps=0.0).tolist() == [True, False, False, True]
    with pytest.raises(ValueError):
        tied_groups(rewards, 3, eps=0.0)


def test_group_std_is_within_groups() -> None:
    rewards = torch.tensor([0.0, 0.0, 5.0, 5.0])  # batch std is large, each group is tied
    assert group_std(rewards, 2) == 0.0
    assert group_std(torch.tensor([0.0, 2.0, 1.0, 1.0]), 2) == pytest.approx(2**0.5 / 2)


def test_concat_repads_each_side() -> None:
    a = {"prompt_ids": torch.tensor([[7, 8]]), "completion_ids": torch.tensor([[1, 2, 3]]), "n": 5}
    b = {"prompt_ids": torch.tensor([[6, 7, 8]]), "completion_ids": torch.tensor([[4]]), "n": 9}
    out = concat_batches([a, b], {"prompt_ids": 0, "completion_ids": -1})
    assert out["prompt_ids"].tolist() == [[0, 7, 8], [6, 7, 8]]
    assert out["completion_ids"].tolist() == [[1, 2, 3], [4, -1, -1]]
    assert out["n"] == 5
    picked = select_rows(out, torch.tensor([1]))
    assert picked["prompt_ids"].tolist() == [[6, 7, 8]] and picked["n"] == 5


def _fake_round(self: Any, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """Stand-in for TRL's step: reward = the row's `r` (+ index within group when `spread`)."""
    self.rounds_seen.append([row["id"] for row in inputs])
    rewards = [row["r"] + (i % self.num_generations if row["spread"] else 0) for i, row in enumerate(inputs)]
    self._last_rewards = torch.tensor(rewards, dtype=torch.float32)[:, None]
    width = 2 + len(self.rounds_seen)  # every round has another width, to exercise re-padding
    n = len(inputs)
    return {
        "prompt_ids": torch.tensor([[row["id"]] * width for row in inputs]),
        "prompt_mask": torch.ones(n, width, dtype=torch.long),
        "completion_ids": torch.ones(n, width, dtype=torch.long),
        "completion_mask": torch.ones(n, width, dtype=torch.long),
        "advantages": torch.tensor(rewards, dtype=torch.float32),
        "num_items_in_batch": torch.tensor(-1),
    }


def _trainer(dataset: list[dict[str, Any]], **ds: Any) -> ReCodeGRPOTrainer:
    trainer = ReCodeGRPOTrainer.__new__(ReCodeGRPOTrainer)  # no model needed for the round logic
    trainer.dynamic_sampling = DynamicSamplingSection(enabled=True, **ds)
    trainer.num_generations = 2
    trainer.accelerator = SimpleNamespace(num_processes=1, process_index=0, gather=lambda t: t.reshape(1))
    trainer.model = SimpleNamespace(training=True)
    trainer.reward_weights = torch.ones(1)
    trainer._task_columns = torch.tensor([True])
    trainer._metrics = {"train": defaultdict(list)}
    trainer._tokenizer = SimpleNamespace(pad_token_id=0)
    trainer.train_dataset = dataset
    trainer.args = SimpleNamespace(seed=0)
    trainer.state = SimpleNamespace(global_step=3)
    trainer.rounds_seen = []
    return trainer


def _rows(ids: list[int], spread: set[int]) -> list[dict[str, Any]]:
    return [{"id": i, "r": 1.0, "spread": i in spread} for i in ids for _ in range(2)]


@pytest.fixture
def fake_super(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GRPOTrainer, "_generate_and_score_completions", _fake_round)


def test_drops_tied_groups_and_refills(fake_super: None) -> None:
    dataset = [{"id": i, "r": 1.0, "spread": True} for i in range(10, 20)]
    trainer = _trainer(dataset)
    out = trainer._generate_and_score_completions(_rows([1, 2], spread={2}))
    ids = out["prompt_ids"][:, -1].tolist()
    assert len(ids) == 4 and 1 not in ids  # group 1 tied and was dropped
    assert ids[:2] == [2, 2] and all(i >= 10 for i in ids[2:])  # refilled from the dataset
    assert len(trainer.rounds_seen) == 2
    assert out["prompt_ids"].shape[1] == 4 and out["prompt_mask"][:, 0].tolist() == [0, 0, 1, 1]
    assert int(out["num_items_in_batch"]) == int(out["completion_mask"].sum())
    metrics = trainer._metrics["train"]
    assert metrics["dynamic_sampling/dropped_groups"] == [1.0]
    assert metrics["dynamic_sampling/rounds"] == [2.0]
    assert metrics["dynamic_sampling/exhausted"] == [0.0]


def test_exhausted_rounds_pad_with_tied_groups(fake_super: None) -> None:
    dataset = [{"id": i, "r": 0.0, "spread": False} for i in range(10, 14)]  # everything ties
    trainer = _trainer(dataset, max_rounds=3)
    out = trainer._generate_and_score_completions(_rows([1, 2], spread=set()))
    assert len(trainer.rounds_seen) == 3
    assert out["advantages"].shape == (4,)
    metrics = trainer._metrics["train"]
    assert metrics["dynamic_sampling/exhausted"] == [1.0]
    assert metrics["dynamic_sampling/dropped_groups"] == [6.0]


def test_exhausted_rounds_can_raise(fake_super: None) -> None:
    trainer = _trainer([{"id": 9, "r": 0.0, "spread": False}], max_rounds=2, on_exhausted="error")
    with pytest.raises(RecodeError, match="after 2 rounds"):
        trainer._generate_and_score_completions(_rows([1, 2], spread=set()))


def test_no_refill_when_nothing_ties(fake_super: None) -> None:
    trainer = _trainer([])
    out = trainer._generate_and_score_completions(_rows([1, 2], spread={1, 2}))
    assert out["prompt_ids"][:, -1].tolist() == [1, 1, 2, 2]
    assert len(trainer.rounds_seen) == 1


def test_refill_is_deterministic_per_step_and_round() -> None:
    trainer = _trainer([{"id": i} for i in range(50)])
    first, again = trainer._refill(4, 2), trainer._refill(4, 2)
    assert first == again and first[0] == first[1]  # same draw; each prompt repeated per generation
    assert trainer._refill(4, 3) != first
