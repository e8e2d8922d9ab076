"""Enforcement statements per update type, program layout, and verdicts that early exits cannot fake."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from recode.data.schemas import ArenaRecord
from recode.errors import RecodeError
from recode.evaluation.programs import (
    UnitProgram,
    UnitVerdict,
    build_programs,
    enforcement_statement,
    new_function_name,
    read_verdicts,
    sentinel,
)
from recode.evaluation.tasks import standard_tasks

NONCE = "abc123"


def test_enforcement_statement_per_update_type(records: list[ArenaRecord]) -> None:
    hypot, gcd, isqrt = (r.update for r in records)
    assert enforcement_statement(hypot) == "math.hypot = hypot"
    assert enforcement_statement(gcd) == (
        "del math.gcd\nsetattr(math, 'greatest_common_divisor', greatest_common_divisor)"
    )
    assert enforcement_statement(isqrt) == "setattr(math, 'isqrt_ceil', isqrt_ceil)"


def test_new_name_comes_from_a_signature_with_def_prefix(records: list[ArenaRecord]) -> None:
    gcd = replace(records[1].update, signature="def math.greatest_common_divisor(*integers)")
    assert new_function_name(gcd) == "greatest_common_divisor"


def test_signature_not_matching_the_implementation_is_a_clear_error(records: list[ArenaRecord]) -> None:
    broken = replace(records[1].update, signature="math.gcd_new(a, b)")
    with pytest.raises(RecodeError, match=r"signature names 'gcd_new'.*greatest_common_divisor"):
        enforcement_statement(broken)


def test_programs_hold_sections_in_order_and_differ_only_by_enforcement(records: list[ArenaRecord]) -> None:
    task = standard_tasks(records)[1]
    with_ = build_programs(task, task.reference, with_update=True, nonce=NONCE)
    without = build_programs(task, task.reference, with_update=False, nonce=NONCE)
    assert len(with_) == len(task.unit_tests) == 3
    source = with_[0].source
    order = [
        "old_gcd = math.gcd",
        "def greatest_common_divisor",
        "del math.gcd",
        "def simplify",
        "test_simplify()",
    ]
    positions = [source.index(part) for part in order]
    assert positions == sorted(positions)
    assert source.rstrip().endswith(f"print({chr(10) + sentinel(NONCE)!r}, flush=True)")
    assert "del math.gcd" not in without[0].source
    assert without[0].source.replace("# --- candidate", "") in source.replace(
        "# --- enforce the update(s) ---\n" + enforcement_statement(task.updates[0]) + "\n", ""
    ).replace("# --- candidate", "")
    assert [p.tests for p in with_] == [(0,), (1,), (2,)]


def test_grouped_program_covers_every_test(records: list[ArenaRecord]) -> None:
    task = standard_tasks(records)[1]
    (program,) = build_programs(task, task.reference, with_update=True, nonce=NONCE, isolate_tests=False)
    assert program.tests == (0, 1, 2)
    compile(program.source, "<grouped>", "exec")


@dataclass
class FakeResult:
    status: str = "ok"
    returncode: int | None = 0
    stdout: str = ""
    stderr: str = ""
    error_type: str | None = None
    error_message: str | None = None
    truncated: bool = False


def test_single_test_passes_only_with_the_sentinel(records: list[ArenaRecord]) -> None:
    task = standard_tasks(records)[0]
    program = build_programs(task, task.reference, with_update=True, nonce=NONCE)[0]
    tag = sentinel(NONCE)
    assert read_verdicts(program, FakeResult(stdout=f"hello\n{tag}\n"), NONCE)[0].passed
    early = read_verdicts(program, FakeResult(stdout="hello\n"), NONCE)[0]
    assert not early.passed and early.status == "early_exit"
    forged = read_verdicts(program, FakeResult(stdout=f"{sentinel('guess')}\n"), NONCE)[0]
    assert not forged.passed
    crashed = FakeResult(
        status="error", returncode=1, stdout=f"{tag}\n", error_type="ValueError", error_message="x"
    )
    assert read_verdicts(program, crashed, NONCE)[0].detail == "ValueError: x"


def _grouped_gcd(records: list[ArenaRecord]) -> tuple[UnitProgram, str]:
    task = standard_tasks(records)[1]
    (program,) = build_programs(task, task.reference, with_update=True, nonce=NONCE, isolate_tests=False)
    return program, sentinel(NONCE)


@pytest.mark.parametrize(
    ("status", "lines", "truncated", "expected"),
    [
        # died inside test 2 right after test 1 reported: test 2 had its budget, so it timed out
        (
            "timeout",
            ["0 start 0.0", "0 pass", "1 start 0.1", "1 fail AssertionError: no", "2 start 0.2"],
            False,
            [True, False, "timeout"],
        ),
        # died inside test 2 after the earlier tests took 3 s: it gets a program of its own
        (
            "timeout",
            ["0 start 0.0", "0 pass", "1 start 0.1", "1 pass", "2 start 3.0"],
            False,
            [True, True, None],
        ),
        # the shared prefix failed before any test: every separate program would fail the same way
        ("error", [], False, ["error", "error", "error"]),
        # os._exit(0) inside test 0: that test exited early, the others never ran
        ("ok", ["0 start 0.0"], False, ["early_exit", None, None]),
        # out of memory after other tests ran in the process: maybe starved by them, so it runs alone
        (
            "ok",
            [
                "0 start 0.0",
                "0 fail MemoryError: x",
                "1 start 0.1",
                "1 fail MemoryError: y",
                "2 start 0.2",
                "2 pass",
            ],
            False,
            [False, None, True],
        ),
        # out of memory in a test that started with the first test's address space: as if alone
        (
            "ok",
            [
                "0 start 0.0 600000",
                "0 pass",
                "1 start 0.1 600100",
                "1 fail MemoryError: y",
                "2 start 0.2 900000",
                "2 fail MemoryError: z",
            ],
            False,
            [True, False, None],
        ),
        # the last test ran out of memory: it is not the test the program died in, it runs alone
        (
            "ok",
            ["0 start 0.0", "0 pass", "1 start 0.1", "1 pass", "2 start 0.2", "2 fail MemoryError: z"],
            False,
            [True, True, None],
        ),
        # the output was cut and nothing of the report survived: nothing can be settled
        ("timeout", [], True, [None, None, None]),
        # report lines lost in the middle of a cut output: only the tail's verdicts count
        ("ok", ["2 start 0.4", "2 pass"], True, [None, None, True]),
    ],
)
def test_grouped_verdicts_settle_only_what_separate_programs_would_give(
    records: list[ArenaRecord], status: str, lines: list[str], truncated: bool, expected: list[object]
) -> None:
    program, tag = _grouped_gcd(records)
    stdout = "".join(f"\n{tag} {line}\n" for line in lines)
    result = FakeResult(status, 0 if status == "ok" else 1, stdout, truncated=truncated)
    verdicts = read_verdicts(program, result, NONCE)
    assert [_summary(v) for v in verdicts] == expected


def _summary(verdict: UnitVerdict | None) -> object:
    """None: unsettled; True: passed; False: the test itself failed; otherwise why the program died."""
    if verdict is None or verdict.passed:
        return verdict and True
    return False if verdict.detail.startswith(("AssertionError", "MemoryError")) else verdict.status


def test_grouped_program_of_a_single_test_reads_its_report_line(records: list[ArenaRecord]) -> None:
    task = standard_tasks(records)[2]
    (program,) = build_programs(task, task.reference, with_update=True, nonce=NONCE, isolate_tests=False)
    assert program.tests == (0,) and program.grouped
    verdicts = read_verdicts(program, FakeResult(stdout=f"{sentinel(NONCE)} 0 pass\n"), NONCE)
    assert verdicts == [UnitVerdict(True, "ok", "")]
