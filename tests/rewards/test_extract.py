"""Golden and property tests for `recode.rewards.extract`: the one code extractor and normaliser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recode.errors import RecodeError
from recode.rewards.extract import (
    completion_text,
    extract_code,
    normalize_and_check,
    normalize_code,
    parses,
    strip_comments_tokenize,
)
from recode.rewards.reference import extract_code_regex, normalize_reference


def fence(code: str) -> str:
    return f"```python\n{code}\n```"


# ------------------------------------------------------------------------------------ completion_text


def test_completion_text_plain_string_is_returned_unchanged() -> None:
    assert completion_text("abc</think>") == "abc</think>"


def test_completion_text_conversational_uses_last_assistant_message() -> None:
    conversation = [
        {"role": "assistant", "content": "first"},
        {"role": "user", "content": "more"},
        {"role": "assistant", "content": "second"},
        {"role": "tool", "content": "output"},
    ]
    assert completion_text(conversation) == "second"


def test_completion_text_reads_content_parts_and_single_messages() -> None:
    parts = [{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]
    assert completion_text(parts) == "ab"
    assert completion_text({"role": "assistant", "content": "solo"}) == "solo"
    assert completion_text([{"role": "user", "content": "no answer"}]) == ""
    assert completion_text(None) == ""


def test_completion_text_rejects_unreadable_input_with_a_hint() -> None:
    with pytest.raises(RecodeError, match="cannot read a completion of type int") as err:
        completion_text(42)
    assert err.value.hint


# ---------------------------------------------------------------------------------------- extract_code


def test_extract_prefers_the_fence_inside_answer() -> None:
    text = f"<think>draft:\n{fence('x = 0')}\n</think>\n<answer>\n{fence('x = 1')}\n</answer>"
    assert extract_code(text) == "x = 1"


def test_extract_takes_the_first_fence_inside_answer() -> None:
    text = f"<answer>{fence('a = 1')}\n{fence('b = 2')}</answer>"
    assert extract_code(text) == "a = 1"


def test_extract_falls_back_to_the_first_fence_anywhere() -> None:
    assert extract_code(f"no tags {fence('first')} then {fence('second')}") == "first"
    assert extract_code(f"<answer>prose only</answer> {fence('outside')}") == "outside"


def test_extract_needs_a_python_fence_with_newlines() -> None:
    assert extract_code("<answer>x = 1</answer>") is None
    assert extract_code("```\nx = 1\n```") is None
    assert extract_code("```py\nx = 1\n```") is None
    assert extract_code("```python x = 1```") is None
    assert extract_code("```python\n\n```") == ""


def test_extract_keeps_multiline_code_verbatim() -> None:
    code = "def f(x):\n    # note\n    return x  \n"
    assert extract_code(f"<answer>{fence(code)}</answer>") == code


_TEXT_PIECES = st.sampled_from(
    ["<answer>", "</answer>", "```python\n", "\n```", "```", "\n", "x", "python", "<", "`", " "]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_TEXT_PIECES, max_size=14))
def test_extract_equals_the_regex_statement_of_the_rule(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert extract_code(text) == extract_code_regex(text)


# -------------------------------------------------------------------------------------- normalize_code


def test_normalize_removes_comments_but_not_hashes_in_strings() -> None:
    code = 'url = "http://x/#frag"  # a comment\n# whole line\ns = \'#\' + """\n# in doc\n"""'
    assert normalize_code(code) == 'url = "http://x/#frag"\ns = \'#\' + """\n# in doc\n"""'


def test_normalize_strips_trailing_whitespace_and_drops_blank_lines() -> None:
    code = "\n\n   \ndef f():   \n\n    return 1\t\n\n    # gone\n\n"
    assert normalize_code(code) == "def f():\n    return 1"


def test_normalize_strips_the_whole_text() -> None:
    assert normalize_code("   x = 1   ") == "x = 1"
    assert normalize_code("# only a comment\n   \n") == ""


def test_normalize_code_that_does_not_parse_still_loses_its_comments() -> None:
    code = "def f(:  # broken\n    return '#kept'  # dropped"
    assert not parses(code)
    assert normalize_code(code) == "def f(:\n    return '#kept'"


def test_normalize_keeps_fstring_format_specs_and_escaped_quotes() -> None:
    code = "a = f'{x:#>4}'  # c\nb = 'it\\'s # not'  # c\nc = r\"\\\"#\"  # c"
    assert normalize_code(code) == "a = f'{x:#>4}'\nb = 'it\\'s # not'\nc = r\"\\\"#\""


def test_check_is_done_on_the_normalised_code() -> None:
    # A blank or comment line after a line-ending backslash ends the statement in the raw code;
    # normalisation drops it and joins the statements, which no longer parses.
    for raw in ("x = 1 \\\n\ny = 2", "x = 1 \\\n# c\ny = 2"):
        normalised, ok = normalize_and_check(raw)
        assert normalised == "x = 1 \\\ny = 2"
        assert ok == parses(normalised) is False
    # Trailing whitespace after a backslash is a syntax error before normalisation, not after.
    normalised, ok = normalize_and_check("x = 1 + \\   \n  2  # c")
    assert ok and parses(normalised)


def test_tokenizer_fallback_keeps_comments_it_could_not_reach() -> None:
    # An unclosed bracket stops the tokenizer only at the end: every comment is still seen.
    assert strip_comments_tokenize("f(1,  # a\n  2  # b\n") == "f(1,  \n  2  \n"


# ---------------------------------------------------------------- fast stripper == tokenize, by property

_PIECES = st.sampled_from(
    [
        "x = 1",
        "# comment with 'quote' and \"dq\"",
        "  # indented comment",
        "s = '#not a comment'",
        's = "a # b"  # tail',
        "t = '''\n# inside triple\n'''",
        'd = """it\'s "#" here"""',
        "f = f'{a!r:#x}'",
        "r = r'\\'#'",
        "u = 'caf\u00e9 # \u00e9'  # \u00e9",
        "b = b'#'",
        "if x:  # why\n    pass",
        "y = (1 +  # split\n     2)",
        "z = 'line \\\n# still string'",
        "",
        "   ",
        "w = [\n  1,\n\n  2,  # c\n]",
        "def g():\n    '''doc # x'''\n    return 1  # r",
        "a = 1 + \\",
        "q = [\\",
        "2]",
        "    3",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=8), st.sampled_from(["", " ", "\t"]))
def test_fast_normalisation_equals_tokenize_reference(pieces: list[str], pad: str) -> None:
    code = "\n".join(piece + pad for piece in pieces)
    normalised, ok = normalize_and_check(code)
    assert normalised == normalize_reference(code)
    assert ok == parses(normalize_reference(code))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="x =#'\"\\\n()f:\t\r", max_size=40))
def test_normalisation_of_arbitrary_text_matches_reference(code: str) -> None:
    normalised, ok = normalize_and_check(code)
    assert normalised == normalize_reference(code)
    assert ok == parses(normalised)


def _arena_programs(arena_file: Path) -> list[str]:
    programs = []
    for line in arena_file.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        programs.append(row["update"]["implementation"])
        for example in row["prog_syn_examples"]:
            programs.append(example["ref_solution"])
            programs.extend(example["unit_tests"][:1])
    return programs


def test_fast_normalisation_equals_tokenize_on_every_arena_program(arena_file: Path) -> None:
    programs = _arena_programs(arena_file)
    assert len(programs) > 700
    for code in programs:
        normalised, ok = normalize_and_check(code)
        assert normalised == normalize_reference(code), code
        assert ok == parses(normalised)
