"""ReCode's rewards as a verl custom reward function, for runs on verl (e.g. its DAPO recipe).

Why: verl is the other trainer practitioners use for DAPO at scale; `recode data convert --to verl` writes
its parquet layout, and this module scores responses with the *same* reward code as our TRL runs, so the
two are comparable. verl loads it by file path:

    custom_reward_function.path=$(python -c "import recode.training.verl_reward as m; print(m.__file__)")
    custom_reward_function.name=compute_score

verl cannot continue an assistant pre-fill, so its responses may or may not start with ReCode's
"Let me solve this step by step.\\n<think>"; both are accepted (everything up to the first `<think>`
is cut, matching what our rewards expect to follow the pre-fill). Which rewards, with which weights:
`RECODE_VERL_REWARDS="format:1,es_star:1"` (the default), or a `rewards=` keyword from verl's
`custom_reward_function.reward_kwargs`.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

from recode.data.prompts import PREFILL
from recode.errors import RecodeError
from recode.rewards import combine

DEFAULT_REWARDS = "format:1,es_star:1"
REWARDS_ENV = "RECODE_VERL_REWARDS"
EXTRA_COLUMNS = ("exec_setup", "exec_tests")
"""Columns of `extra_info` the exec reward reads (the data layer's optional checks)."""


def parse_weights(spec: str) -> tuple[tuple[str, float], ...]:
    """`"format:1,es_star:0.5"` -> (("format", 1.0), ("es_star", 0.5)); a bare name weighs 1."""
    pairs = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, weight = item.partition(":")
        try:
            pairs.append((name.strip(), float(weight) if weight else 1.0))
        except ValueError:
            raise RecodeError(
                f"{REWARDS_ENV}: bad weight in {item!r}", hint="use name:weight, e.g. es_star:1"
            ) from None
    if not pairs:
        raise RecodeError(f"{REWARDS_ENV} names no reward", hint=f"e.g. {DEFAULT_REWARDS}")
    return tuple(pairs)


@cache
def _scorer(spec: str) -> Any:
    return combine(list(parse_weights(spec)))


PREFILL_LEAD = PREFILL.partition("<think>")[0].strip()


def strip_prefill(response: str) -> str:
    """What follows an opening pre-fill (`<think>`, optionally after its lead sentence); else all of it."""
    head, sep, tail = response.partition("<think>")
    return tail if sep and head.strip() in ("", PREFILL_LEAD) else response


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: dict[str, Any] | None = None,
    rewards: str | None = None,
    **kwargs: Any,
) -> float:
    """verl's reward hook: the weighted ReCode reward of one response against the reference code."""
    spec = rewards or os.environ.get(REWARDS_ENV, DEFAULT_REWARDS)
    columns = {key: [_decode((extra_info or {}).get(key))] for key in EXTRA_COLUMNS}
    scores = _scorer(spec)([strip_prefill(solution_str)], target=[ground_truth], **columns)
    score = scores[0]
    return float(score) if score is not None else 0.0


def _decode(value: Any) -> Any:
    """`verl_rows` stores nested values as JSON strings; give the exec reward what it was written with."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
