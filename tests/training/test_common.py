"""Prompt rendering keeps the ReCode pre-fill open; rewards, data and long prompts resolve clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from recode.data.prompts import PREFILL
from recode.errors import RecodeError
from recode.training.common import drop_long_prompts, load_rows, render_prompt, resolve_reward, training_texts
from recode.training.config import DataSection
from recode.training.tiny import build_tokenizer

TINY_DATA = Path(__file__).resolve().parents[2] / "configs" / "data" / "tiny-migration.jsonl"


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return load_rows(DataSection(source=str(TINY_DATA)))


@pytest.fixture(scope="module")
def tokenizer(rows: list[dict]) -> object:
    return build_tokenizer(training_texts(rows), vocab_size=400)


def test_rows_come_from_the_data_layer(rows: list[dict]) -> None:
    assert len(rows) == 8
    assert rows[0]["prompt"][-1] == {"role": "assistant", "content": PREFILL}
    assert "zorp.get" in rows[0]["target"] and rows[0]["dependency"] == "zorp"
    assert len(load_rows(DataSection(source=str(TINY_DATA), max_examples=3))) == 3


def test_prompt_continues_the_prefill(rows: list[dict], tokenizer: object) -> None:
    text = render_prompt(tokenizer, rows[0]["prompt"])
    assert text.endswith(PREFILL)  # no end-of-turn, no fresh assistant turn after the pre-fill
    assert text.count("<|im_start|>assistant") == 1
    assert render_prompt(tokenizer, "plain text") == "plain text"


def test_long_prompts_are_dropped_and_counted(rows: list[dict], tokenizer: object) -> None:
    rendered = [{**r, "prompt": render_prompt(tokenizer, r["prompt"])} for r in rows]
    lengths = sorted(len(tokenizer(r["prompt"])["input_ids"]) for r in rendered)
    kept, dropped = drop_long_prompts(rendered, tokenizer, lengths[3])
    assert dropped == sum(n > lengths[3] for n in lengths) and len(kept) + dropped == 8
    with pytest.raises(RecodeError, match="longer than"):
        drop_long_prompts(rendered, tokenizer, 1)


def test_rewards_resolve_by_name_or_import_path(test_rewards: str) -> None:
    assert resolve_reward("es_star").__name__ == "es_star"
    assert resolve_reward(f"{test_rewards}:length_reward")(["abcd"]) == [0.04]
    with pytest.raises(RecodeError, match="unknown reward"):
        resolve_reward("es_starr")
    with pytest.raises(RecodeError, match="cannot import"):
        resolve_reward(f"{test_rewards}:missing")


def test_missing_data_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecodeError, match="no such file"):
        load_rows(DataSection(source=str(tmp_path / "absent.jsonl")))


def test_concurrent_tiny_builds_leave_one_complete_folder(rows: list[dict], tmp_path: Path) -> None:
    """What every process of a multi-process launch does at once: no half-written or stray folders."""
    from concurrent.futures import ThreadPoolExecutor

    from transformers import AutoConfig

    from recode.training.config import TinyModelSpec
    from recode.training.tiny import build_tiny

    spec = TinyModelSpec(hidden_size=16, intermediate_size=32, vocab_size=300)
    out = tmp_path / "base-model"
    with ThreadPoolExecutor(2) as pool:
        paths = list(pool.map(lambda seed: build_tiny(training_texts(rows), spec, out, 64, seed), [0, 0]))
    assert paths == [out, out]
    assert [p.name for p in tmp_path.iterdir()] == ["base-model"]
    assert AutoConfig.from_pretrained(out).hidden_size == 16
