"""THE code extractor: completion -> text -> fenced code -> normalised code (plus its syntax verdict).

Why one module: training rewards and every evaluation (`recode eval arena`, HumanEval/MBPP) must read a
completion the same way, or a model could be rewarded for an answer the evaluation cannot find.

Normalisation (the ReCode contract): remove comments with Python's tokenizer (a `#` inside a string
survives), strip trailing whitespace from each line, drop the lines that are then empty, strip the whole.

Why there are two comment strippers: `tokenize` costs ~3x an `ast.parse` and dominated the reward's cost.
For source that `ast.parse` accepts, a quote or `#` outside a string or comment token cannot occur, so a
left-to-right scan for "string literal or comment" (one precompiled regex) finds exactly the tokenizer's
COMMENT tokens; tests check the two agree on every CodeUpdateArena program and on generated code. The
syntax check the rewards need anyway (`ast.parse`) decides which stripper may run, so the fast path
costs no extra parse. Source that does not parse, or holds characters the two line models could split
differently (`\\r`, NUL, form feed), goes through `tokenize`.
"""

from __future__ import annotations

import ast
import io
import re
import symtable
import tokenize
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from recode.errors import RecodeError

_OPEN_ANSWER, _CLOSE_ANSWER = "<answer>", "</answer>"
_OPEN_FENCE, _CLOSE_FENCE = "```python\n", "\n```"
_CODE_THEN_COMMENT = re.compile(
    r"""
    (                                        # group 1, kept: code and string literals up to a comment
      (?:
          [^'"\#]++                          # anything that starts neither a string nor a comment
        | '''(?:[^'\\]++|\\.|'(?!''))*+'''   # triple-quoted: may span lines
        | \"\"\"(?:[^"\\]++|\\.|"(?!""))*+\"\"\"
        | '(?:[^'\\\n]++|\\.)*+'              # single-quoted: a backslash may escape the newline
        | "(?:[^"\\\n]++|\\.)*+"
        | ['"]                               # a stray quote (never in code that parses): kept
      )*+
    )
    (?:\#[^\r\n]*+)?                         # what tokenize calls a COMMENT token: dropped
    """,
    re.VERBOSE | re.DOTALL,
)
"""One match per comment; `findall` returns the kept text only (no per-string Python callback, 2x
faster than `sub`). Possessive quantifiers: no backtracking blow-up on any input."""
_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError)


def completion_text(completion: Any) -> str:
    """The text the model wrote: a plain string, or the last assistant message of a TRL conversation.

    TRL hands conversational completions as `[{"role": "assistant", "content": ...}]`; content may also
    be a list of parts (`{"type": "text", "text": ...}`), as multimodal chat formats write it.
    """
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return _content_text(completion.get("content"))
    if isinstance(completion, Sequence) and all(isinstance(m, Mapping) for m in completion):
        for message in reversed(completion):
            if message.get("role", "assistant") == "assistant":
                return _content_text(message.get("content"))
        return ""
    raise RecodeError(
        f"cannot read a completion of type {type(completion).__name__}",
        hint="pass a string or a list of chat messages ({'role': 'assistant', 'content': ...})",
    )


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = [p.get("text", "") if isinstance(p, Mapping) else str(p) for p in content]
        return "".join(p for p in parts if isinstance(p, str))
    return str(content)


def extract_code(text: str) -> str | None:
    """The first ```` ```python ```` fence inside an `<answer>` block if any has one, else the first fence
    anywhere; None when there is none (the correctness rewards then give -2.0).

    Blocks are `<answer>` up to the next `</answer>`; a fence is ```` ```python\n ```` up to the next
    `\n` + ```` ``` ````. Written with `str.find` (the regex `(.*?)` forms cost ~5x more on long text);
    `recode.rewards.reference.extract_code_regex` is the same rule as regexes, and tests compare them.
    """
    pos = 0
    while (start := text.find(_OPEN_ANSWER, pos)) >= 0:
        end = text.find(_CLOSE_ANSWER, start + len(_OPEN_ANSWER))
        if end < 0:
            break
        code = _first_fence(text, start + len(_OPEN_ANSWER), end)
        if code is not None:
            return code
        pos = end + len(_CLOSE_ANSWER)
    return _first_fence(text, 0, len(text))


def _first_fence(text: str, start: int, end: int) -> str | None:
    opening = text.find(_OPEN_FENCE, start, end)
    if opening < 0:
        return None
    body = opening + len(_OPEN_FENCE)
    closing = text.find(_CLOSE_FENCE, body, end)
    return text[body:closing] if closing >= 0 else None


def normalize_code(code: str) -> str:
    """Code without comments, trailing whitespace and blank lines, stripped (see the module docstring)."""
    return normalize_and_check(code)[0]


def normalize_and_check(code: str) -> tuple[str, bool]:
    """`(normalize_code(code), ast.parse(normalised) succeeds)`, computed with one parse in the common case.

    Why the shortcut is exact: on source that parses, normalising only deletes comments, trailing
    whitespace and blank lines, none of which the grammar sees, except after a line-ending backslash
    (a blank or comment line after `x = 1 \\` ends the statement; once dropped, it no longer does).
    Such results are parsed again. Characters on which `str.split("\\n")` and the tokenizer may
    disagree about lines (`\\r`, form feed, NUL) send the code to `tokenize`.
    """
    if "#" not in code:
        normalised = _tidy_lines(code)
        return normalised, parses(normalised)
    if "\r" in code or "\0" in code or "\f" in code or not parses(code):
        normalised = _tidy_lines(strip_comments_tokenize(code))
        return normalised, parses(normalised)
    normalised = _tidy_lines("".join(_CODE_THEN_COMMENT.findall(code)))
    if "\\\n" in normalised or normalised.endswith("\\"):
        return normalised, parses(normalised)
    return normalised, True


def _tidy_lines(code: str) -> str:
    return "\n".join(filter(None, map(str.rstrip, code.split("\n")))).strip()


def strip_comments_tokenize(code: str) -> str:
    """Remove every COMMENT token Python's tokenizer finds; the reference stripper and the fallback.

    Broken source stops the tokenizer part-way (unclosed bracket, bad dedent): comments found up to that
    point are removed, later ones kept. Such code fails the syntax check, so only the ablation rewards
    without it (`em`, `es`) ever see the difference.
    """
    lines = io.StringIO(code).readlines()
    cuts: dict[int, int] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.COMMENT:
                cuts[token.start[0] - 1] = token.start[1]
    except (tokenize.TokenError, SyntaxError):
        pass
    for row, col in cuts.items():
        line = lines[row]
        lines[row] = line[:col] + ("\n" if line.endswith("\n") else "")
    return "".join(lines)


def parses(code: str) -> bool:
    """Whether `ast.parse` accepts `code` (no warnings printed; too-deep nesting counts as a failure).

    Tried first through `symtable`, which runs the same parser but skips building ~1000 Python AST
    objects (~20% faster). It also rejects a few parseable programs (`nonlocal` at module level, a
    duplicate argument); only then is `ast.parse` asked, so the verdict is always `ast.parse`'s.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            symtable.symtable(code, "<completion>", "exec")
            return True
        except _PARSE_ERRORS:
            pass
        try:
            ast.parse(code)
        except _PARSE_ERRORS:
            return False
    return True
