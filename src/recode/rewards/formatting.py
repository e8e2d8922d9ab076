"""ReCode's format reward: did the model close its reasoning and give one answer block?

Completions are what the model wrote *after* the prefill `…<think>`, so the opening tag is put back
before matching: `"<think>" + completion` must be `<think>…</think>` (no think tag nested inside),
optional whitespace, `<answer>…</answer>` (anything inside), optional whitespace, end. +1.0 / -1.0.
"""

from __future__ import annotations

import re
from typing import Any

from recode.rewards._batch import Reward, Scores, batch_or_single
from recode.rewards.extract import completion_text

FORMAT_OK, FORMAT_BAD = 1.0, -1.0
_FORMAT = re.compile(r"<think>(?:(?!</?think>).)*</think>\s*<answer>.*</answer>\s*", re.DOTALL)


def _score(completions: list[Any], columns: dict[str, list[Any]]) -> list[Reward]:
    return [
        FORMAT_OK if _FORMAT.fullmatch("<think>" + completion_text(c)) else FORMAT_BAD for c in completions
    ]


def format_reward(completions: Any, target: Any = None, **kwargs: Any) -> Scores:
    """+1.0 when `<think>` + completion is think block, answer block, nothing else; else -1.0.

    Logged by TRL as `rewards/format/...` (the config name), hence the `__name__` below.
    """
    return batch_or_single(_score, completions, {}, "format")


format_reward.__name__ = "format"
