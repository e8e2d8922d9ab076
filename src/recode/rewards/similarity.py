"""ReCode's string-matching correctness rewards: EM, ES and their syntax-checked forms EM*, ES*.

The contract (tests pin each line): code is extracted (`extract_code`; none -> -2.0) and normalised
together with the target (`normalize_code`);
- ES = 1 - Levenshtein(a, b) / max(len(a), len(b)) on characters (1.0 for two empty strings);
- es_star: -2.0 when `ast.parse` rejects the normalised code, else 3.5 * ES - 1.5 (range [-1.5, 2.0]);
- em_star: -2.0 on a syntax error, +2.0 when equal after normalisation, else -1.5;
- es / em: the same mappings without the syntax check (the paper's ablations).

Why it is fast: rapidfuzz's bit-parallel Levenshtein in C instead of a full DP matrix, each distinct
target normalised once (TRL repeats it for every generation of a prompt), duplicate completions in a
batch scored once, and one `ast.parse` per completion shared by the syntax check and the comment
stripper (see `recode.rewards.extract`). `benchmarks/rewards.py` measures it against a pure-Python DP.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from rapidfuzz.distance import Levenshtein

from recode.errors import RecodeError
from recode.rewards._batch import Reward, Scores, batch_or_single, require_targets
from recode.rewards.extract import completion_text, extract_code, normalize_and_check

NO_CODE = -2.0
"""No ```python fence in the completion."""
SYNTAX_ERROR = -2.0
"""The normalised code does not parse (EM*/ES* only)."""
EM_MATCH, EM_MISS = 2.0, -1.5


def edit_similarity(a: str, b: str) -> float:
    """ES = 1 - Levenshtein(a, b) / max(len(a), len(b)), 1.0 for two empty strings."""
    longest = max(len(a), len(b))
    if longest == 0:
        return 1.0
    return 1.0 - Levenshtein.distance(a, b) / longest


def _es_value(code: str, target: str) -> float:
    return 3.5 * edit_similarity(code, target) - 1.5


def _em_value(code: str, target: str) -> float:
    return EM_MATCH if code == target else EM_MISS


@lru_cache(maxsize=4096)
def _normalized_target(target: str) -> str:
    """Targets repeat across the generations of a prompt and across epochs: normalise each once."""
    return normalize_and_check(target)[0]


def _scorer(value: Callable[[str, str], float], check_syntax: bool, name: str) -> Callable[..., list[Reward]]:
    """Batch scorer for one mapping: extraction, normalisation, optional syntax check, then `value`."""

    def score(completions: list[Any], columns: dict[str, list[Any]]) -> list[Reward]:
        memo: dict[tuple[str, str], float] = {}
        out: list[Reward] = []
        for completion, target in zip(completions, columns["target"], strict=True):
            if target is None:
                out.append(None)
                continue
            if not isinstance(target, str):
                raise RecodeError(
                    f"reward {name!r}: `target` must be code (a string), got {type(target).__name__}"
                )
            code = extract_code(completion_text(completion))
            if code is None:
                out.append(NO_CODE)
                continue
            key = (code, target)
            if key not in memo:
                normalised, valid = normalize_and_check(code)
                ok = valid or not check_syntax
                memo[key] = value(normalised, _normalized_target(target)) if ok else SYNTAX_ERROR
            out.append(memo[key])
        return out

    return score


_SCORERS = {
    "em": _scorer(_em_value, False, "em"),
    "es": _scorer(_es_value, False, "es"),
    "em_star": _scorer(_em_value, True, "em_star"),
    "es_star": _scorer(_es_value, True, "es_star"),
}


def em(completions: Any, target: Any = None, **kwargs: Any) -> Scores:
    """Exact match after normalisation without the syntax check (ablation): +2.0 / -1.5, -2.0 no code."""
    require_targets(target, "em")
    return batch_or_single(_SCORERS["em"], completions, {"target": target}, "em")


def es(completions: Any, target: Any = None, **kwargs: Any) -> Scores:
    """Edit similarity without the syntax check (ablation): 3.5 * ES - 1.5, -2.0 without code."""
    require_targets(target, "es")
    return batch_or_single(_SCORERS["es"], completions, {"target": target}, "es")


def em_star(completions: Any, target: Any = None, **kwargs: Any) -> Scores:
    """EM*: -2.0 on a syntax error or no code, +2.0 when equal after normalisation, else -1.5."""
    require_targets(target, "em_star")
    return batch_or_single(_SCORERS["em_star"], completions, {"target": target}, "em_star")


def es_star(completions: Any, target: Any = None, **kwargs: Any) -> Scores:
    """ES*: -2.0 on a syntax error or no code, else 3.5 * ES - 1.5 (ReCode's main reward)."""
    require_targets(target, "es_star")
    return batch_or_single(_SCORERS["es_star"], completions, {"target": target}, "es_star")
