"""Config names -> reward functions, and weighted combinations of them.

Why a registry: training configs and the CLI name rewards (`rewards: {es_star: 1.0, exec: 0.5}`); one
table keeps those names, the functions and TRL's logged names (`rewards/<name>/mean`) in agreement.
Two ways to weight: hand TRL the functions and `reward_weights` (`reward_funcs_and_weights`, each
reward logged on its own), or fold them into one callable (`combine`) for code that takes a single
reward function (verl's reward hook, evaluation scripts).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from recode.errors import RecodeError
from recode.rewards._batch import Reward, Scores, is_single
from recode.rewards.execution import ExecReward, exec_reward
from recode.rewards.formatting import format_reward
from recode.rewards.similarity import em, em_star, es, es_star

RewardFn = Callable[..., Scores]
WeightSpec = str | Mapping[str, float] | Sequence[str | tuple[str, float]]
"""`"es_star"`, `{"es_star": 1.0, "format": 0.5}`, `["es_star", "format"]` or `[("es_star", 1.0), ...]`."""

REWARDS: dict[str, RewardFn] = {
    "format": format_reward,
    "em": em,
    "es": es,
    "em_star": em_star,
    "es_star": es_star,
    "exec": exec_reward,
}


def get_reward(name: str, options: Mapping[str, Any] | None = None) -> RewardFn:
    """The reward function registered under `name`; RecodeError naming the choices otherwise.

    `options` configure a new instance where the reward has any (only `exec`: sandbox limits, scores,
    preload; see `ExecReward.from_options`); the string rewards have none, by design (they are the
    paper's definitions).
    """
    try:
        fn = REWARDS[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), REWARDS, n=1)
        suggestion = f"did you mean {close[0]!r}? " if close else ""
        raise RecodeError(
            f"unknown reward {name!r}", hint=f"{suggestion}choose from: {', '.join(REWARDS)}"
        ) from None
    if not options:
        return fn
    if isinstance(fn, ExecReward):
        return ExecReward.from_options(options)
    raise RecodeError(f"reward {name!r} takes no options, got {sorted(options)}", hint="remove them")


def parse_spec(spec: WeightSpec) -> list[tuple[str, float]]:
    """Normalise the accepted spellings of "which rewards, with which weights" to (name, weight) pairs.

    Names are checked here so a typo fails when the config is read, not at the first training step.
    """
    if isinstance(spec, str):
        pairs = [(spec, 1.0)]
    elif isinstance(spec, Mapping):
        pairs = [(name, float(weight)) for name, weight in spec.items()]
    else:
        pairs = [(item, 1.0) if isinstance(item, str) else (item[0], float(item[1])) for item in spec]
    if not pairs:
        raise RecodeError("no reward given", hint=f"name at least one of: {', '.join(REWARDS)}")
    for name, _ in pairs:
        get_reward(name)
    return pairs


def reward_funcs_and_weights(spec: WeightSpec) -> tuple[list[RewardFn], list[float]]:
    """What TRL takes: `GRPOTrainer(reward_funcs=funcs)` and `GRPOConfig(reward_weights=weights)`."""
    pairs = parse_spec(spec)
    return [get_reward(name) for name, _ in pairs], [weight for _, weight in pairs]


def combine(spec: WeightSpec) -> RewardFn:
    """One reward function returning the weighted sum of several (e.g. ES* and exec).

    Like TRL's own aggregation, a component returning None for a completion is left out of its sum;
    the sum is None only when every component is None.
    """
    pairs = parse_spec(spec)
    parts = [(get_reward(name), weight) for name, weight in pairs]

    def combined(completions: Any, target: Any = None, **kwargs: Any) -> Scores:
        single = is_single(completions)
        batch = [completions] if single else completions
        targets = [target] if single and target is not None else target
        columns = [fn(batch, target=targets, **kwargs) for fn, _ in parts]
        totals = [_weighted([col[i] for col in columns], parts) for i in range(len(batch))]  # type: ignore[index]
        return totals[0] if single else totals

    combined.__name__ = "+".join(name if weight == 1.0 else f"{weight:g}*{name}" for name, weight in pairs)
    return combined


def _weighted(values: list[Reward], parts: list[tuple[RewardFn, float]]) -> Reward:
    present = [(value, weight) for value, (_, weight) in zip(values, parts, strict=True) if value is not None]
    return sum(value * weight for value, weight in present) if present else None
