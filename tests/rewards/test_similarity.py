"""EM / ES / EM* / ES*: the contract line by line, and ES against a plain DP by property."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recode.errors import RecodeError
from recode.rewards import edit_similarity, em, em_star, es, es_star
from recode.rewards.reference import edit_similarity_dp, es_star_reference, levenshtein_dp
from recode.rewards.similarity import _normalized_target


def answer(code: str) -> str:
    """A completion as the model writes it after the `<think>` prefill."""
    return f"reasoning</think>\n<answer>\n```python\n{code}\n```\n</answer>"


TARGET = "def area(r):\n    return math.pi * r ** 2"


# ------------------------------------------------------------------------------------------- ES itself


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_edit_similarity_equals_reference_dp(a: str, b: str) -> None:
    assert edit_similarity(a, b) == edit_similarity_dp(a, b)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab \n#", max_size=60), st.text(alphabet="ab \n#", max_size=60))
def test_edit_similarity_equals_reference_dp_on_small_alphabets(a: str, b: str) -> None:
    assert edit_similarity(a, b) == edit_similarity_dp(a, b)


def test_edit_similarity_golden_values() -> None:
    assert edit_similarity("", "") == 1.0
    assert edit_similarity("abc", "") == 0.0
    assert edit_similarity("kitten", "sitting") == 1 - 3 / 7
    assert levenshtein_dp("kitten", "sitting") == 3


# ---------------------------------------------------------------------------------------- the mappings


def test_es_star_is_3_5_es_minus_1_5_on_normalised_code() -> None:
    code = "def area(r):  # circle\n\n    return math.pi * r * r   "
    expected = 3.5 * edit_similarity("def area(r):\n    return math.pi * r * r", TARGET) - 1.5
    assert es_star(answer(code), target=TARGET) == expected
    assert es(answer(code), target=TARGET) == expected


def test_identical_code_gets_the_top_scores() -> None:
    assert es_star(answer(TARGET), target=TARGET) == 2.0
    assert em_star(answer(TARGET + "  # same"), target=TARGET) == 2.0


def test_em_star_match_miss_and_syntax_error() -> None:
    assert em_star(answer("def area(r):\n    return 3"), target=TARGET) == -1.5
    assert em_star(answer("def area(r:\n    return 3"), target=TARGET) == -2.0


def test_syntax_error_gives_minus_two_only_for_the_starred_rewards() -> None:
    broken = answer("def area(r:\n    return math.pi * r ** 2")
    assert es_star(broken, target=TARGET) == -2.0
    assert em_star(broken, target=TARGET) == -2.0
    assert es(broken, target=TARGET) > -1.5
    assert em(answer("def area(r:"), target="def area(r:") == 2.0


def test_the_syntax_check_sees_the_normalised_code() -> None:
    # Whitespace after a line-ending backslash is an error only before trailing whitespace is stripped.
    fixed_by_normalising = "x = 1 + \\   \n  2"
    assert es_star(answer(fixed_by_normalising), target="x = 1 + \\\n  2") == 2.0
    # A blank line after a line-ending backslash ends the statement; once dropped, the code breaks.
    broken_by_normalising = "x = 1 \\\n\ny = 2"
    assert es_star(answer(broken_by_normalising), target="x = 1\ny = 2") == -2.0
    assert es(answer(broken_by_normalising), target="x = 1\ny = 2") > -1.5


def test_two_empty_programs_are_identical() -> None:
    assert es_star("</think><answer>```python\n\n```</answer>", target="") == 2.0
    assert em_star("</think><answer>```python\n# nothing\n```</answer>", target="  \n") == 2.0


def test_missing_fence_gives_minus_two_for_every_correctness_reward() -> None:
    for reward in (em, es, em_star, es_star):
        assert reward("</think><answer>def area(r): ...</answer>", target=TARGET) == -2.0


def test_comments_in_strings_survive_normalisation_and_count() -> None:
    target = 's = "#hash"'
    assert em_star(answer('s = "#hash"  # comment'), target=target) == 2.0
    assert em_star(answer('s = ""  # hash'), target=target) == -1.5


def test_the_target_is_normalised_too() -> None:
    target = "# header\n\nx = 1   \n"
    assert em_star(answer("x = 1"), target=target) == 2.0


# --------------------------------------------------------------------------------- TRL calling forms


def test_batch_call_with_trl_columns_returns_one_float_per_completion() -> None:
    completions = [answer(TARGET), "no code", answer("def area(r:")]
    scores = es_star(completions, target=[TARGET] * 3, prompts=["p"] * 3, completion_ids=[[1]] * 3)
    assert scores == [2.0, -2.0, -2.0]
    assert all(isinstance(s, float) for s in scores)


def test_conversational_completions() -> None:
    batch = [[{"role": "assistant", "content": answer(TARGET)}], [{"role": "assistant", "content": "x"}]]
    assert es_star(batch, target=[TARGET, TARGET]) == [2.0, -2.0]
    assert em_star(batch[0], target=TARGET) == 2.0


def test_single_target_string_is_broadcast_and_none_target_is_not_applicable() -> None:
    assert em([answer("x = 1"), answer("x = 2")], target="x = 1") == [2.0, -1.5]
    assert es_star([answer("x = 1"), answer("x = 1")], target=["x = 1", None]) == [2.0, None]


def test_missing_or_misaligned_targets_are_user_errors() -> None:
    with pytest.raises(RecodeError, match="needs the ground-truth code") as err:
        es_star([answer("x = 1")])
    assert "target" in err.value.hint
    with pytest.raises(RecodeError, match="2 completions but 3 values"):
        es_star([answer("x"), answer("y")], target=["x", "y", "z"])
    with pytest.raises(RecodeError, match="must be code"):
        es_star([answer("x")], target=[3])


def test_each_target_is_normalised_once() -> None:
    _normalized_target.cache_clear()
    target = "y = 2  # unique to this test"
    es_star([answer("y = 1")] * 8, target=[target] * 8)
    es_star([answer("y = 3")] * 8, target=[target] * 8)
    info = _normalized_target.cache_info()
    assert info.misses == 1 and info.hits >= 1


def test_fast_es_star_equals_the_slow_reference_on_arena_solutions(arena_file: Path) -> None:
    rows = [json.loads(line) for line in arena_file.read_text(encoding="utf-8").splitlines()[:20]]
    solutions = [ex["ref_solution"] for row in rows for ex in row["prog_syn_examples"]][:12]
    short = [s for s in solutions if len(s) < 700][:6]
    for target, other in zip(short, short[1:] + short[:1], strict=True):
        completion = answer(other.replace("    ", "  "))
        assert es_star(completion, target=target) == es_star_reference(completion, target)
