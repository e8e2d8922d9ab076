"""The verl reward hook scores responses with the same rewards as TRL runs, pre-fill or not."""

from __future__ import annotations

import pytest

from recode.data.prompts import PREFILL
from recode.errors import RecodeError
from recode.rewards import es_star, format_reward
from recode.training.verl_reward import compute_score, parse_weights, strip_prefill

TARGET = "import zorp\n\ndata = zorp.get('a')\n"
ANSWER = "\nuse get\n</think>\n<answer>\n```python\nimport zorp\n\ndata = zorp.get('a')\n```\n</answer>"


def test_score_matches_the_trl_rewards_with_or_without_prefill() -> None:
    expected = format_reward([ANSWER])[0] + es_star([ANSWER], target=[TARGET])[0]
    for response in (ANSWER, PREFILL + ANSWER, "<think>" + ANSWER):
        assert compute_score("recode/migration", response, TARGET, {}) == pytest.approx(expected)
    assert compute_score("d", "<answer>no code</answer>", TARGET) < expected


def test_weights_from_keyword_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    half = 0.5 * es_star([ANSWER], target=[TARGET])[0]
    assert compute_score("d", ANSWER, TARGET, rewards="es_star:0.5") == pytest.approx(half)
    monkeypatch.setenv("RECODE_VERL_REWARDS", "format")
    assert compute_score("d", "no tags at all", TARGET) == pytest.approx(format_reward(["no tags at all"])[0])


def test_spec_parsing_and_errors() -> None:
    assert parse_weights("format:1, es_star:0.5,em") == (("format", 1.0), ("es_star", 0.5), ("em", 1.0))
    with pytest.raises(RecodeError):
        parse_weights("es_star:x")
    with pytest.raises(RecodeError):
        parse_weights(" , ")


def test_only_a_leading_think_is_cut() -> None:
    assert strip_prefill("<answer><think></answer>") == "<answer><think></answer>"
    assert strip_prefill(PREFILL + "x") == "x"
