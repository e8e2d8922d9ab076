"""The program that runs *inside* the sandbox for HumanEval+/MBPP+: reference timing and verdicts.

Why a separate module: its text is sent to `recode.sandbox` as the body of the program (followed by one
call to `_main`), so it must be self-contained (standard library only) and never imported by recode
itself. Keeping it a real file lets ruff and the tests see it.

Semantics (EvalPlus's, re-implemented): each input runs under its own time limit; an output matches when
it equals the expected one, or, when the task has an `atol` (or the expected value is a float/list of
floats, where 1e-6 applies), when it has the same type and length and is close (`|a-b| <= atol + 1e-7|b|`).
A few tasks have special oracles (HumanEval/32 checks the root, some MBPP+ tasks compare sets, accept
equivalent answers or only check for a non-None result). The first failing input ends a phase.
Results go to the real stdout as lines `NONCE<json>`, so a program that exits early is seen as failed.

Expected outputs are computed here, input by input, by the reference solution (loaded before the
candidate), instead of being shipped in: some are huge (one MBPP+ output is a 1.6-million-tuple list),
and recomputing keeps each program small while only one output pair is alive at a time.
"""

import base64
import contextlib
import copy
import io
import json
import math
import pickle
import signal
import sys
import time

MBPP_SET_EQUAL = frozenset(
    {
        "similar_elements",
        "find_char_long",
        "common_in_nested_lists",
        "extract_singly",
        "larg_nnum",
        "intersection_array",
        "find_dissimilar",
        "Diff",
    }
)
MBPP_NOT_NONE = frozenset({"check_str", "text_match_three", "text_starta_endb"})


class _TimeLimit(BaseException):
    """Raised by the interval timer; a BaseException so `except Exception` in a solution cannot swallow it."""


def _on_alarm(signum, frame):
    raise _TimeLimit()


def _is_floats(value):
    if isinstance(value, float):
        return True
    if isinstance(value, (list, tuple)) and value:
        return all(isinstance(v, float) for v in value)
    return str(getattr(value, "dtype", "")) in ("float64", "float32")


def _close(out, exp, atol, rtol=1e-7):
    """Element-wise closeness like numpy.allclose (nan never close, equal infinities close)."""
    if isinstance(exp, (list, tuple)):
        if not isinstance(out, (list, tuple)) or len(out) != len(exp):
            return False
        return all(_close(o, e, atol, rtol) for o, e in zip(out, exp, strict=True))
    try:
        if out == exp:
            return True
        return abs(out - exp) <= atol + rtol * abs(exp)
    except Exception:
        return False


def _poly(xs, x):
    return sum(coeff * math.pow(x, i) for i, coeff in enumerate(xs))


def _pyramid_surface(base_edge, height):
    slant = math.sqrt((base_edge / 2) ** 2 + height**2)
    return round(base_edge**2 + 2 * base_edge * slant)


def _digit_distance(a, b):
    sa, sb = str(a), str(b)
    width = max(len(sa), len(sb))
    return sum(abs(int(x) - int(y)) for x, y in zip(sa.zfill(width), sb.zfill(width), strict=True))


def _special(dataset, entry_point, inp, out, exp, atol):
    """Verdict of a special oracle, or None when the task has none."""
    if dataset == "humaneval" and entry_point == "find_zero":
        return abs(_poly(*inp, out)) <= atol
    if dataset != "mbpp":
        return None
    if entry_point == "are_equivalent":
        return True
    if entry_point == "sum_div":
        return out == exp or out == 0
    if entry_point == "surface_Area":
        return out == exp or abs(out - _pyramid_surface(*inp)) <= atol
    if entry_point == "digit_distance_nums":
        return out == exp or out == _digit_distance(*inp)
    if entry_point in MBPP_SET_EQUAL:
        return set(out) == set(exp)
    if entry_point in MBPP_NOT_NONE:
        return out == exp if isinstance(out, bool) else exp == (out is not None)
    return None


def _matches(dataset, entry_point, inp, out, exp, atol):
    special = _special(dataset, entry_point, inp, out, exp, atol)
    if special is not None:
        return bool(special)
    exact = out == exp
    if atol == 0 and _is_floats(exp):
        atol = 1e-6
    if not exact and atol != 0:
        if type(out) is not type(exp):
            return False
        return _close(out, exp, atol)
    return bool(exact)


def _call(fn, inp, limit):
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return fn(*inp)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _describe(exc):
    if isinstance(exc, _TimeLimit):
        return "TimeLimit", "exceeded the time limit"
    return type(exc).__name__, str(exc)[:300]


def _expected(job, ref, inp):
    """The reference's output on `inp` and how long it took (seconds), measured now, in this process."""
    args = copy.deepcopy(inp)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        start = time.perf_counter()
        out = ref(*args)
        seconds = time.perf_counter() - start
    not_none = job["dataset"] == "mbpp" and job["entry_point"] in MBPP_NOT_NONE
    return (out is not None if not_none else out), seconds


def _check_phase(job, phase, fn, ref):
    """Run the candidate on each input under EvalPlus's limits; the first failing input ends the phase.

    Per input: `max(floor, factor x reference runtime)`; per phase: the candidate's calls together may
    take `min(cap, sum of the limits) + 1` seconds. With `retime`, the reference runtime is the larger
    of the cached one and the one just measured here, so a machine that got busier since the reference
    was timed does not turn correct solutions into time-outs.
    """
    rule = job["time"]
    limits = list(phase["limits"])
    used = 0.0
    for i, inp in enumerate(phase["inputs"]):
        exp, ref_seconds = _expected(job, ref, inp)
        if rule["retime"]:
            limits[i] = max(limits[i], rule["floor_s"], rule["factor"] * ref_seconds)
        remaining = min(rule["cap_s"], sum(limits)) + 1.0 - used
        limit = min(limits[i], remaining)
        if limit <= 0:
            return _report("timeout", i, "TimeLimit", "the phase's time budget is used up")
        start = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                out = _call(fn, copy.deepcopy(inp), limit)
            ok = _matches(job["dataset"], job["entry_point"], inp, out, exp, job["atol"])
        except BaseException as exc:  # anything the solution raises (even SystemExit) fails this input
            kind, message = _describe(exc)
            if kind == "TimeLimit":
                bound = "phase time budget" if limit < limits[i] else f"per-input limit of {limit:.2f} s"
                return _report("timeout", i, kind, f"exceeded the {bound}")
            return _report("fail", i, kind, message)
        finally:
            used += time.perf_counter() - start
        if not ok:
            return _report("fail", i, "WrongAnswer", "")
    return {"status": "pass", "passed": len(phase["inputs"]), "index": None, "error": None, "message": ""}


def _report(status, index, error, message):
    return {"status": status, "passed": index, "index": index, "error": error, "message": message}


def _truth_phase(job, phase, fn, ref):
    times = []
    for inp in phase["inputs"]:
        args = copy.deepcopy(inp)
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            ref(*args)
        times.append(time.perf_counter() - start)
    return {"status": "pass", "times": times}


def _load(code, entry_point, filename):
    namespace = {"__name__": "__solution__"}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        exec(compile(code, filename, "exec"), namespace)
    return namespace[entry_point]


def _main(payload_b64, nonce):
    real_stdout = sys.stdout
    job = pickle.loads(base64.b64decode(payload_b64))
    signal.signal(signal.SIGALRM, _on_alarm)
    ref = _load(job["reference"], job["entry_point"], "<reference>")
    try:
        fn = ref if job["mode"] == "truth" else _load(job["code"], job["entry_point"], "<solution>")
    except BaseException as exc:
        kind, message = _describe(exc)
        for phase in job["phases"]:
            report = {
                "phase": phase["name"],
                "status": "fail",
                "passed": 0,
                "index": None,
                "error": kind,
                "message": message,
            }
            real_stdout.write(nonce + json.dumps(report) + "\n")
        real_stdout.flush()
        return
    run_phase = _truth_phase if job["mode"] == "truth" else _check_phase
    for phase in job["phases"]:
        try:
            report = run_phase(job, phase, fn, ref)
        except BaseException as exc:  # the reference itself failed: no verdict is possible
            kind, message = _describe(exc)
            report = {"status": "error", "error": kind, "message": message}
        report["phase"] = phase["name"]
        real_stdout.write(nonce + json.dumps(report) + "\n")
        real_stdout.flush()
