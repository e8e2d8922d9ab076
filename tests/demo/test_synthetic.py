"""The generator must give reproducible, checkable tasks whose held-out updates are truly unseen."""

from __future__ import annotations

from collections import Counter

import pytest

from recode.data.schemas import MigrationExample
from recode.demo.synthetic import KINDS, generate
from recode.errors import RecodeError
from recode.rewards import ExecReward
from recode.training.sft import sft_completion


@pytest.fixture(scope="module")
def data():
    return generate(n_train=140, n_heldout=35, seed=3)


def test_same_seed_same_data_other_seed_other_data(data) -> None:
    again = generate(n_train=140, n_heldout=35, seed=3)
    other = generate(n_train=140, n_heldout=35, seed=4)
    assert [t.new_code for t in again.train] == [t.new_code for t in data.train]
    assert [t.update.update_id for t in other.heldout] != [t.update.update_id for t in data.heldout]


def test_heldout_shares_no_update_and_no_rule_with_train(data) -> None:
    train_rules = {t.update.rule for t in data.train}
    assert not {t.update.rule for t in data.heldout} & train_rules
    ids = [t.update.update_id for t in data.train + data.heldout]
    assert len(ids) == len(set(ids))


def test_validation_is_carved_from_train_with_unseen_rules_and_no_heldout_task(data) -> None:
    carved = data.validation(21, seed=5)
    heldout_ids = {t.update.update_id for t in data.heldout}
    train_ids = {t.update.update_id for t in data.train}
    assert len(carved.heldout) == 21
    assert {t.update.update_id for t in carved.heldout + carved.train} <= train_ids
    assert not {t.update.update_id for t in carved.heldout + carved.train} & heldout_ids
    assert not {t.update.rule for t in carved.heldout} & {t.update.rule for t in carved.train}
    assert set(Counter(t.update.kind for t in carved.heldout).values()) == {3}
    assert carved.heldout == data.validation(21, seed=5).heldout
    with pytest.raises(RecodeError, match="validation"):
        data.validation(len(data.train) + 1, seed=5)


def test_every_kind_is_in_both_splits_in_balance(data) -> None:
    for split in (data.train, data.heldout):
        counts = Counter(t.update.kind for t in split)
        assert set(counts) == set(KINDS)
        assert max(counts.values()) - min(counts.values()) <= 1


def test_every_task_needs_a_change_that_its_note_names(data) -> None:
    for task in data.train + data.heldout:
        update = task.update
        assert task.old_code != task.new_code
        assert update.new in update.note
        if update.kind != "argument_reordered":  # a swap spells nothing new, it reorders
            assert update.new in task.new_code and update.new not in task.old_code, update


def test_examples_are_recode_rows_with_exec_columns(data) -> None:
    example = data.examples("heldout")[0]
    assert isinstance(example, MigrationExample)
    assert MigrationExample.from_dict(example.to_dict()) == example
    assert {"exec_setup", "exec_tests", "update_kind", "update_id"} <= set(example.extra or {})
    with pytest.raises(RecodeError):
        data.examples("validation")


def test_target_passes_and_legacy_fails_in_the_sandbox(data) -> None:
    """The exec checks must separate a migration from a copy, or pass@1 by execution means nothing."""
    tasks = data.train[: len(KINDS) * 2]
    examples = [t.to_example("train") for t in tasks]
    judge = ExecReward(workers=2)
    try:
        setups = [e.extra["exec_setup"] for e in examples]
        tests = [e.extra["exec_tests"] for e in examples]
        migrated = judge.judge([sft_completion(e.new_code) for e in examples], setups, tests)
        legacy = judge.judge([sft_completion(e.old_code) for e in examples], setups, tests)
    finally:
        judge.close()
    assert migrated == ["passed"] * len(examples)
    assert "passed" not in legacy


def test_too_many_tasks_for_the_name_pools_is_a_clear_error() -> None:
    with pytest.raises(RecodeError, match="distinct updates"):
        generate(n_train=10, n_heldout=100_000)
    with pytest.raises(RecodeError):
        generate(n_train=0, n_heldout=1)
