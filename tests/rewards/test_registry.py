"""Registry names, errors for unknown names, and weighted combinations."""

from __future__ import annotations

import pytest

from recode.errors import RecodeError
from recode.rewards import (
    REWARDS,
    ExecReward,
    combine,
    em_star,
    es_star,
    exec_reward,
    format_reward,
    get_reward,
    reward_funcs_and_weights,
)
from recode.rewards.reference import edit_similarity_dp

GOOD = "ok</think>\n<answer>\n```python\nx = 1\n```\n</answer>"


def test_registry_maps_every_config_name() -> None:
    assert set(REWARDS) == {"format", "em", "es", "em_star", "es_star", "exec"}
    assert get_reward("es_star") is es_star
    assert get_reward("exec") is exec_reward
    assert get_reward("format") is format_reward


def test_logged_names_are_the_config_names() -> None:
    for name, fn in REWARDS.items():
        assert fn.__name__ == name


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(RecodeError, match="unknown reward 'es-star'") as err:
        get_reward("es-star")
    assert "did you mean 'es_star'" in err.value.hint
    with pytest.raises(RecodeError) as err:
        get_reward("bleu")
    assert "choose from: format, em, es, em_star, es_star, exec" in err.value.hint


def test_every_string_reward_takes_trls_keyword_arguments() -> None:
    n = 2
    trl_kwargs = {
        "prompts": [[{"role": "user", "content": "p"}]] * n,
        "completion_ids": [[1, 2]] * n,
        "target": ["x = 1"] * n,
        "dependency": ["zorp"] * n,
        "trainer_state": object(),
        "log_extra": lambda *a: None,
        "log_metric": lambda *a: None,
    }
    completions = [[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": "nope"}]]
    for name, fn in REWARDS.items():
        if name != "exec":
            scores = fn(completions=completions, **trl_kwargs)
            assert len(scores) == n and all(isinstance(s, float) for s in scores), name
            assert scores[0] > scores[1], name


def test_options_configure_a_new_exec_reward_only() -> None:
    fn = get_reward("exec", {"timeout_s": 1.5, "preload": ["math"], "scores": {"ran": 0.5}})
    assert isinstance(fn, ExecReward) and fn is not exec_reward
    assert fn.limits.timeout_s == 1.5 and fn.preload == ("math",) and fn.scores.ran == 0.5
    assert fn.__name__ == "exec"
    with pytest.raises(RecodeError, match="unknown option"):
        get_reward("exec", {"timeout": 3})
    with pytest.raises(RecodeError, match="unknown exec score"):
        get_reward("exec", {"scores": {"pass": 1.0}})
    with pytest.raises(RecodeError, match="timeout"):
        get_reward("exec", {"timeout_s": 0})
    with pytest.raises(RecodeError, match="takes no options"):
        get_reward("es_star", {"scale": 2})


def test_reward_funcs_and_weights_for_trl() -> None:
    funcs, weights = reward_funcs_and_weights({"es_star": 1.0, "format": 0.5})
    assert funcs == [es_star, format_reward] and weights == [1.0, 0.5]
    assert reward_funcs_and_weights(["em_star", ("format", 2)]) == ([em_star, format_reward], [1.0, 2.0])
    with pytest.raises(RecodeError, match="unknown reward"):
        reward_funcs_and_weights({"es_star": 1.0, "typo": 1.0})
    with pytest.raises(RecodeError, match="no reward"):
        reward_funcs_and_weights([])


def test_combine_is_the_weighted_sum() -> None:
    fn = combine({"es_star": 1.0, "format": 0.5})
    completions = [GOOD, "no tags ```python\nx = 2\n```", "nothing"]
    es_part = 3.5 * edit_similarity_dp("x = 2", "x = 1") - 1.5
    assert fn(completions, target=["x = 1"] * 3) == [2.0 + 0.5, es_part - 0.5, -2.0 - 0.5]
    assert fn(GOOD, target="x = 1") == 2.5
    assert fn.__name__ == "es_star+0.5*format"


def test_combine_skips_not_applicable_parts_like_trl() -> None:
    fn = combine(["es_star", "em_star"])
    assert fn([GOOD, GOOD], target=["x = 1", None]) == [4.0, None]
