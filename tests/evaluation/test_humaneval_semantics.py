"""HumanEval+/MBPP+ verdict rules: output matching (atol, special oracles), time limits, input restoring."""

from __future__ import annotations

import gzip
import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from recode.evaluation import _plus_child as child
from recode.evaluation.evalplus_data import mbpp_restore_inputs
from recode.evaluation.humaneval import TimeLimits


@pytest.mark.parametrize(
    ("out", "exp", "atol", "ok"),
    [
        (3, 3, 0, True),
        (3, 4, 0, False),
        (0.1 + 0.2, 0.3, 0, True),  # floats get atol 1e-6 even when the task has none
        (0.3001, 0.3, 0, False),
        (0.3001, 0.3, 1e-3, True),
        ([1.0, 2.0000001], [1.0, 2.0], 0, True),
        ([1.0, 2.1], [1.0, 2.0], 1e-4, False),
        ((1.0, 2.0), [1.0, 2.0], 1e-4, False),  # close values of another type fail (EvalPlus checks type)
        ([1.0], [1.0, 2.0], 1e-4, False),
        (float("nan"), float("nan"), 1e-4, False),
        (float("inf"), float("inf"), 0, True),
        (2, 2.0000000001, 1e-6, False),  # int vs float: not equal, and not the same type
        ("a", "a", 1e-4, True),
    ],
)
def test_output_matching_follows_evalplus(out: object, exp: object, atol: float, ok: bool) -> None:
    assert child._matches("humaneval", "f", (), out, exp, atol) is ok


def test_find_zero_is_judged_by_the_root_not_the_value() -> None:
    coeffs = [-6.0, 11.0, -6.0, 1.0]  # (x-1)(x-2)(x-3)
    assert child._matches("humaneval", "find_zero", (coeffs,), 3.0, 1.0, 1e-4)
    assert not child._matches("humaneval", "find_zero", (coeffs,), 2.5, 1.0, 1e-4)


def test_mbpp_special_oracles() -> None:
    assert child._matches("mbpp", "similar_elements", ((1, 2), (2, 1)), [2, 1], [1, 2], 0)
    assert not child._matches("mbpp", "similar_elements", ((1, 2), (2, 1)), [2], [1, 2], 0)
    assert child._matches("mbpp", "check_str", ("a",), object(), True, 0)  # only "not None" matters
    assert not child._matches("mbpp", "check_str", ("a",), None, True, 0)
    assert child._matches("mbpp", "sum_div", (7,), 0, 1, 0)
    assert not child._matches("similar_elements", "similar_elements", (), [2, 1], [1, 2], 0)


def test_time_limit_is_a_factor_of_the_reference_with_a_floor() -> None:
    limits = TimeLimits(factor=4.0, floor_s=1.0, phase_cap_s=60.0)
    assert limits.per_input([0.001, 0.5, 2.0]) == [1.0, 2.0, 8.0]
    assert TimeLimits(factor=2.0, floor_s=0.1).per_input([0.01, 1.0]) == [0.1, 2.0]


def _phase_job(retime: bool, cap_s: float = 60.0) -> dict:
    rule = {"factor": 4.0, "floor_s": 0.05, "cap_s": cap_s, "retime": retime}
    return {"dataset": "humaneval", "entry_point": "f", "atol": 0, "time": rule}


def _sleepy(seconds: float) -> Callable[[int], int]:
    """A stand-in solution (or reference) that takes `seconds` per call."""

    def f(x: int) -> int:
        time.sleep(seconds)
        return x

    return f


def _run_phase(job: dict, phase: dict, fn: Callable[..., Any], ref: Callable[..., Any]) -> dict:
    previous = signal.signal(signal.SIGALRM, child._on_alarm)
    try:
        return child._check_phase(job, phase, fn, ref)
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_per_input_limit_comes_from_the_reference_measured_now_when_retiming() -> None:
    # cached limits say 0.05 s, but the reference now takes 0.05 s: 4x gives the candidate 0.2 s
    phase = {"name": "base", "inputs": [[1], [2]], "limits": [0.05, 0.05]}
    fast_ref, candidate = _sleepy(0.05), _sleepy(0.12)
    assert _run_phase(_phase_job(retime=True), phase, candidate, fast_ref)["status"] == "pass"
    report = _run_phase(_phase_job(retime=False), phase, candidate, fast_ref)
    assert report["status"] == "timeout" and report["index"] == 0 and "per-input" in report["message"]


def test_a_phase_has_a_total_budget_like_evalplus() -> None:
    # each call is within its own limit (0.35 s < 0.5 s), but 6 calls exceed min(cap, sum) + 1 = 1.5 s
    phase = {"name": "plus", "inputs": [[i] for i in range(6)], "limits": [0.5] * 6}
    report = _run_phase(_phase_job(retime=False, cap_s=0.5), phase, _sleepy(0.35), lambda x: x)
    assert report["status"] == "timeout" and report["index"] in (4, 5)
    assert "phase" in report["message"]


def test_a_slow_call_is_stopped_by_its_own_limit() -> None:
    import signal
    import time

    previous = signal.signal(signal.SIGALRM, child._on_alarm)
    try:
        start = time.perf_counter()
        with pytest.raises(child._TimeLimit):
            child._call(time.sleep, (2.0,), 0.2)
        assert time.perf_counter() - start < 1.5
        assert child._call(lambda x: x + 1, (1,), 0.5) == 2
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_mbpp_inputs_get_their_tuple_and_set_types_back() -> None:
    assert mbpp_restore_inputs("Mbpp/2", [[[3, 4], [4, 5]]]) == [[(3, 4), (4, 5)]]
    assert mbpp_restore_inputs("Mbpp/115", [[[[1], []]]]) == [[[{1}, {}]]]
    assert mbpp_restore_inputs("Mbpp/580", [[[1, [2, 3]], 4]]) == [((1, (2, 3)), 4)]
    assert mbpp_restore_inputs("Mbpp/252", [["1+2j"]]) == [[complex(1, 2)]]
    assert mbpp_restore_inputs("Mbpp/3", [[5]]) == [[5]]  # tasks without a rule are untouched


def test_mbpp_input_types_match_evalplus_on_the_release(shared_data: Path) -> None:
    """Cross-check against EvalPlus's own deserialiser where it is installed (it is not a dependency)."""
    evalplus_mbpp = pytest.importorskip("evalplus.data.mbpp")
    path = shared_data / "mbppplus" / "MbppPlus.jsonl.gz"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    rows = [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode().splitlines() if line]
    for row in rows:
        for key in ("base_input", "plus_input"):
            ours = mbpp_restore_inputs(row["task_id"], row[key])
            theirs = evalplus_mbpp.mbpp_deserialize_inputs(row["task_id"], row[key])
            assert repr(ours) == repr(theirs), (row["task_id"], key)
