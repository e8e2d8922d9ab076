"""Rule-based rewards for ReCode training: format, EM/ES and their syntax-checked EM*/ES*, and exec.

Every reward has TRL's signature `fn(completions, target=None, **dataset_columns)` and returns one float
per completion (None: not applicable), or a single float when given a single completion. Config names:
`format, em, es, em_star, es_star, exec` (`REWARDS`, `get_reward`); weights combine them (`combine`,
`reward_funcs_and_weights`). `recode.rewards.extract` is the project's one code extractor.
"""

from recode.rewards.execution import ExecReward, ExecScores, exec_reward
from recode.rewards.extract import completion_text, extract_code, normalize_code
from recode.rewards.formatting import format_reward
from recode.rewards.registry import (
    REWARDS,
    RewardFn,
    WeightSpec,
    combine,
    get_reward,
    parse_spec,
    reward_funcs_and_weights,
)
from recode.rewards.similarity import edit_similarity, em, em_star, es, es_star

__all__ = [
    "REWARDS",
    "ExecReward",
    "ExecScores",
    "RewardFn",
    "WeightSpec",
    "combine",
    "completion_text",
    "edit_similarity",
    "em",
    "em_star",
    "es",
    "es_star",
    "exec_reward",
    "extract_code",
    "format_reward",
    "get_reward",
    "normalize_code",
    "parse_spec",
    "reward_funcs_and_weights",
]
