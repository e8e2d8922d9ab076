"""Turn (task, candidate solution) into the Python programs the sandbox runs, and read their verdicts.

Why this shape: CodeUpdateArena judges a solution by running each unit test after the update has been
*enacted* in the library (imports, new implementation, then the statement that patches it in), and again
without that statement. A solution that only passes with the patch is one that used the update. The
enforcement statement follows the benchmark's own rule per update type:

* `modify-function-name` (rename): delete the old name, `setattr` the new one;
* `add-function`: `setattr` the new function onto its parent;
* everything else: assign the new implementation to the function's path (`math.sin = sin`).

A program only counts as passing when it prints a per-run random sentinel *after* the test returned, so
`sys.exit(0)`, `os._exit(0)` or killing the interpreter early can never look like success. The sentinel
guards against early exits, not against code that reads its own source to find it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from recode.data.schemas import ArenaUpdate
from recode.errors import RecodeError
from recode.evaluation.tasks import ArenaTask

RENAME = "modify-function-name"
ADD_FUNCTION = "add-function"


@dataclass(frozen=True)
class UnitProgram:
    """One sandbox program and the test indices whose verdicts it reports (one line each if grouped)."""

    source: str
    tests: tuple[int, ...]
    grouped: bool = False


def new_function_name(update: ArenaUpdate) -> str:
    """Name the update introduces: from the signature (`math.sine(x, /)` -> `sine`) for renames/adds.

    Checked against the implementation's top-level `def`s so a mismatch fails loudly, naming the update.
    """
    if update.update_type not in (RENAME, ADD_FUNCTION):
        return update.function_name
    signature = update.signature.strip().removeprefix("def ").strip()
    name = signature.split("(", 1)[0].strip().rsplit(".", 1)[-1]
    if name not in top_level_names(update.implementation):
        raise RecodeError(
            f"update {update.update_id}: signature names {name!r} but the implementation defines "
            f"{sorted(top_level_names(update.implementation))}",
            hint="fix the row's `signature` or `implementation`",
        )
    return name


def enforcement_statement(update: ArenaUpdate) -> str:
    """The statement that patches the update into its library (see the module docstring)."""
    if "." not in update.function_path:
        raise RecodeError(f"update {update.update_id}: function_path {update.function_path!r} has no parent")
    parent, old = update.function_path.rsplit(".", 1)
    if update.update_type == RENAME:
        new = new_function_name(update)
        return f"del {parent}.{old}\nsetattr({parent}, {new!r}, {new})"
    if update.update_type == ADD_FUNCTION:
        new = new_function_name(update)
        return f"setattr({parent}, {new!r}, {new})"
    return f"{update.function_path} = {old}"


def top_level_names(source: str) -> set[str]:
    """Names bound by top-level `def`/`class`/assignments (used to spot clashes between updates)."""
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def test_function_name(test_source: str) -> str:
    """The name of the (single) test function a unit-test source defines."""
    for node in ast.parse(test_source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node.name
    raise RecodeError(f"a unit test defines no function: {test_source[:80]!r}")


def sentinel(nonce: str) -> str:
    return f"__recode_done_{nonce}__"


def build_programs(
    task: ArenaTask,
    candidate: str,
    *,
    with_update: bool,
    nonce: str,
    isolate_tests: bool = True,
    tests: Sequence[int] | None = None,
) -> list[UnitProgram]:
    """Programs judging `candidate` on the unit tests of `task` (all, or the indices in `tests`).

    `isolate_tests=True` gives one program per test (the benchmark's own harness: no state leaks from
    one test into the next); `False` runs them in one program, each guarded and reported on its own
    line (`read_verdicts` says which tests still need a program of their own, see there).
    """
    sections = [
        "# --- imports ---",
        "\n".join(task.imports),
        "# --- updated API implementation(s) ---",
        *(u.implementation for u in task.updates),
    ]
    if with_update:
        sections += ["# --- enforce the update(s) ---", *(enforcement_statement(u) for u in task.updates)]
    prefix = "\n".join([*sections, "# --- candidate solution ---", candidate, ""])
    indices = range(len(task.unit_tests)) if tests is None else tests
    if isolate_tests:
        return [_single_test_program(prefix, task.unit_tests[i], i, nonce) for i in indices]
    return [_all_tests_program(prefix, [(i, task.unit_tests[i]) for i in indices], nonce)]


def _single_test_program(prefix: str, test: str, index: int, nonce: str) -> UnitProgram:
    call = f"{test_function_name(test)}()"
    done = f"import builtins as _recode_b\n_recode_b.print({chr(10) + sentinel(nonce)!r}, flush=True)"
    return UnitProgram(f"{prefix}\n# --- unit test {index} ---\n{test}\n\n{call}\n{done}\n", (index,))


_ALL_TESTS_HARNESS = """
# --- unit tests, each guarded and reported on its own line ---
import builtins as _recode_builtins  # updates may shadow `compile`, candidates `print`: use the originals
import time as _recode_time


def _recode_address_space_kb():
    try:
        with _recode_builtins.open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return _recode_builtins.int(line.split()[1])
    except _recode_builtins.Exception:
        pass
    return -1


def _recode_run_tests(tests, tag):
    b = _recode_builtins
    first = _recode_time.monotonic()
    for index, name, source in tests:
        elapsed = _recode_time.monotonic() - first
        b.print(f"\\n{{tag}} {{index}} start {{elapsed:.3f}} {{_recode_address_space_kb()}}", flush=True)
        namespace = b.dict(b.globals())
        try:
            b.exec(b.compile(source, f"<unit test {{index}}>", "exec"), namespace)
            namespace[name]()
        except b.BaseException as exc:  # SystemExit too: exiting from a test is not passing it
            detail = f"{{b.type(exc).__name__}}: {{exc}}".splitlines()[0][:300]
            b.print(f"\\n{{tag}} {{index}} fail {{detail}}", flush=True)
        else:
            b.print(f"\\n{{tag}} {{index}} pass", flush=True)


_recode_run_tests({tests!r}, {tag!r})
"""

_MEMORY = re.compile(r"MemoryError|allocate", re.IGNORECASE)
"""A test that ran out of memory after other tests in the same process may have been starved by them:
unless it ran first, or started with (nearly) the address space the first test started with, it gets a
program of its own (its report is ignored)."""

MEMORY_SLACK_KB = 64 * 1024
"""How much address space the earlier tests of a grouped program may have left mapped (allocator arenas,
caches) for a later test's out-of-memory failure still to count: the same tolerance `GRACE_S` gives time.
Without it, every test that allocates gigabytes would run twice, the costliest programs of the benchmark."""

GRACE_S = 1.0
"""A test that a grouped program died in counts as failed only if the tests before it took less than
this; otherwise they may have eaten its time budget, and it gets a program of its own."""


def _all_tests_program(prefix: str, tests: Sequence[tuple[int, str]], nonce: str) -> UnitProgram:
    triples = [(i, test_function_name(t), t) for i, t in tests]
    harness = _ALL_TESTS_HARNESS.format(tests=triples, tag=sentinel(nonce))
    return UnitProgram(prefix + harness, tuple(i for i, _ in tests), grouped=True)


@dataclass(frozen=True)
class UnitVerdict:
    """Whether one unit test passed, and if not, why (`status` is the sandbox's, or `early_exit`)."""

    passed: bool
    status: str
    detail: str


def read_verdicts(program: UnitProgram, result: Any, nonce: str) -> list[UnitVerdict | None]:
    """Verdicts for the tests of `program` from its `SandboxResult` (anything with the contract fields).

    A grouped program gives the verdicts separate programs would, or `None` for a test it cannot
    settle: tests reported `pass`/`fail` are settled (except out-of-memory failures, see `_MEMORY`);
    if the program died before any test started, every test fails the same way (the shared prefix
    fails in every program); if it died inside a test, that test fails when it had (nearly) the whole
    time budget (`GRACE_S`); every other unreported test is left `None`, to be run on its own.
    """
    tag = sentinel(nonce)
    lines = result.stdout.splitlines()
    if not program.grouped:
        if result.status == "ok" and tag in lines:
            return [UnitVerdict(True, "ok", "")]
        return [UnitVerdict(False, *_failure(result))]
    reported: dict[int, UnitVerdict] = {}
    started: dict[int, float] = {}
    address_kb: dict[int, int] = {}
    starved: set[int] = set()
    for line in lines:
        if line.startswith(tag + " "):
            _, index, outcome, *rest = [*line.split(" ", 3), ""]
            if outcome == "start":
                seconds, _, space = rest[0].partition(" ")
                started[int(index)] = float(seconds or 0)
                address_kb[int(index)] = int(space) if space.lstrip("-").isdigit() else -1
            elif outcome == "pass":
                reported[int(index)] = UnitVerdict(True, "ok", "")
            elif not _MEMORY.search(detail := " ".join(rest).strip()) or _had_full_memory(
                int(index), program.tests[0], address_kb
            ):
                reported[int(index)] = UnitVerdict(False, "error", detail)
            else:
                starved.add(int(index))
    died = UnitVerdict(False, *_failure(result))
    if not started and not reported:
        return [None if getattr(result, "truncated", False) else died for _ in program.tests]
    # Only the last test that started can be the one the program died in; any other unreported test
    # lost its lines (output truncated) or never ran.
    last = next(reversed(started), None)
    in_budget = last is not None and last not in reported and last not in starved and started[last] < GRACE_S
    return [reported.get(i, died if in_budget and i == last else None) for i in program.tests]


def _had_full_memory(index: int, first: int, address_kb: dict[int, int]) -> bool:
    """Whether test `index` started with the address space the program's `first` test started with
    (give or take `MEMORY_SLACK_KB`): the memory a program of its own would have given it."""
    if index == first:
        return True
    base, own = address_kb.get(first, -1), address_kb.get(index, -1)
    return base >= 0 and 0 <= own <= base + MEMORY_SLACK_KB


def _failure(result: Any) -> tuple[str, str]:
    if result.status == "ok":
        return "early_exit", f"exited before the test finished (return code {result.returncode}, no sentinel)"
    if result.error_type or result.error_message:
        return result.status, f"{result.error_type or result.status}: {result.error_message or ''}".strip()
    tail = (result.stderr or "").strip().splitlines()[-1:] or [""]
    return result.status, f"{result.status}: {tail[0][:300]}".strip()
