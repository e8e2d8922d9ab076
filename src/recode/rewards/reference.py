"""Slow, obviously-correct versions of the string rewards: the yardstick for tests and the benchmark.

Why keep them in the package: ES* defines the experiment, so "fast" is only acceptable when it gives
*identical* numbers. These follow the contract literally, as the ReCode authors' release computes it
(a full Levenshtein matrix in pure Python, `tokenize` on every call, no caches); the property tests and
`benchmarks/rewards.py` compare the fast path against them value for value.
"""

from __future__ import annotations

import ast
import re

from recode.rewards.extract import strip_comments_tokenize

_FENCE = re.compile(r"```python\n(.*?)\n```", re.DOTALL)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def extract_code_regex(text: str) -> str | None:
    """The extraction rule as two regexes: first fence inside an `<answer>` block, else first anywhere."""
    for answer in _ANSWER.finditer(text):
        fence = _FENCE.search(answer.group(1))
        if fence is not None:
            return fence.group(1)
    fence = _FENCE.search(text)
    return fence.group(1) if fence is not None else None


def levenshtein_dp(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute: cost 1) from the full (len(a)+1) x (len(b)+1) matrix."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
    return rows[len(a)][len(b)]


def edit_similarity_dp(a: str, b: str) -> float:
    """ES from `levenshtein_dp`: 1 - distance / max(len(a), len(b)), 1.0 for two empty strings."""
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - levenshtein_dp(a, b) / longest


def normalize_reference(code: str) -> str:
    """The normalisation contract, literally: tokenize, strip each line, drop empty lines, strip."""
    lines = [line.rstrip() for line in strip_comments_tokenize(code).split("\n")]
    return "\n".join(line for line in lines if line).strip()


def es_star_reference(completion: str, target: str) -> float:
    """ES* for one plain-string completion, the slow way (no shortcut, no cache)."""
    code = extract_code_regex(completion)
    if code is None:
        return -2.0
    normalised = normalize_reference(code)
    try:
        ast.parse(normalised)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return -2.0
    return 3.5 * edit_similarity_dp(normalised, normalize_reference(target)) - 1.5
