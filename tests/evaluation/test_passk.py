"""pass@k against hand-computed values, and the n >= k rule."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recode.errors import RecodeError
from recode.evaluation.passk import check_ks, parse_ks, pass_at_k


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
        (5, 2, 1, 0.4),  # c / n for k = 1
        (5, 2, 5, 1.0),  # any 5 of 5 include a correct one
        (5, 1, 2, 0.4),  # 1 - C(4,2)/C(5,2) = 1 - 6/10
        (10, 3, 5, 1 - 21 / 252),  # 1 - C(7,5)/C(10,5)
        (4, 0, 4, 0.0),
    ],
)
def test_pass_at_k_matches_hand_computed_values(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected)


@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_equals_the_binomial_formula(args: tuple[int, int, int]) -> None:
    n, c, k = args
    assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k))


def test_k_larger_than_n_is_a_clear_error() -> None:
    with pytest.raises(RecodeError, match=r"pass@5 needs at least 5 samples.*n=2") as info:
        pass_at_k(2, 1, 5)
    assert "--n 5" in str(info.value.hint)


def test_check_ks_names_the_smallest_task() -> None:
    check_ks([1, 5], [5, 7])
    with pytest.raises(RecodeError, match="some task has only 3"):
        check_ks([1, 5], [5, 3])


@pytest.mark.parametrize("bad", [-1, 2])
def test_c_out_of_range_is_rejected(bad: int) -> None:
    with pytest.raises(RecodeError, match="0 <= c <= n"):
        pass_at_k(1, bad, 1)


def test_parse_ks() -> None:
    assert parse_ks("5, 1,1") == [1, 5]
    assert parse_ks([10, 1]) == [1, 10]
    for bad in ("a,b", "0", ""):
        with pytest.raises(RecodeError, match="--k"):
            parse_ks(bad)
