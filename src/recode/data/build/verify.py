"""Step 3 of `recode data build`: keep a pair only if running it proves it.

Three sandboxed runs per pair: legacy code under the old version (must complete), migrated code under the
new version (must complete), and legacy code under the new version (recorded: does it fail, warn, print
something else, or run unchanged? That says whether the update is observable at all). "Completes" means
exit status ok *and* a per-run nonce printed after the snippet, so a snippet that calls `sys.exit(0)`
half-way does not pass.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from recode.sandbox import Sandbox, SandboxLimits, SandboxResult, run_program

Runner = Callable[..., SandboxResult]
WARNING_MARK = "__recode_warning__ "
_STDOUT_KEPT = 1000

# Runs the snippet as a fresh `__main__` module (so pickling and `dataclasses` find what it defines) under
# its own file name, registered in `linecache` (tracebacks and `inspect.getsource` show its lines); shows
# every warning at every call site, and tags deprecation-type warnings (subclasses included, e.g. NumPy's
# VisibleDeprecationWarning by name, SQLAlchemy's RemovedIn20Warning by class) on stderr.
_WRAPPER = """\
import linecache as _linecache, sys as _sys, types as _types, warnings as _warnings
_KINDS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
_warnings.simplefilter("always")
_show = _warnings.showwarning
def _tag(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, _KINDS) or "Deprecat" in category.__name__:
        text = str(message).replace("\\n", " ")
        _sys.stderr.write("{mark}" + category.__name__ + ": " + text + "\\n")
    _show(message, category, filename, lineno, file, line)
_warnings.showwarning = _tag
_source = {source!r}
_linecache.cache["{filename}"] = (len(_source), None, _source.splitlines(True), "{filename}")
_main = _types.ModuleType("__main__")
_main.__builtins__ = __builtins__
_sys.modules["__main__"] = _main
exec(compile(_source, "{filename}", "exec"), _main.__dict__)
_sys.stdout.flush()
print({nonce!r})
"""


@dataclass(frozen=True)
class RunRecord:
    """What one sandboxed run showed, in the form kept in the output's `provenance`."""

    status: str  # sandbox status, or "incomplete" when it exited 0 without reaching the end
    completed: bool
    error_type: str | None
    error_message: str | None
    warnings: tuple[str, ...]
    duration_s: float
    isolation: str
    stdout: str = ""  # what the snippet printed (sentinel removed), cut to `_STDOUT_KEPT` characters
    stdout_sha256: str = ""  # of the whole output: compares runs without keeping long outputs

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "completed": self.completed,
            "error_type": self.error_type,
            "error_message": self.error_message,
            "warnings": list(self.warnings),
            "duration_s": round(self.duration_s, 3),
            "isolation": self.isolation,
            "stdout": self.stdout,
            "stdout_sha256": self.stdout_sha256,
        }

    def detail(self) -> str:
        """One line for rejection reasons: `AttributeError: module 'x' has no attribute 'y'`."""
        if self.error_type:
            return f"{self.error_type}: {self.error_message or ''}".strip().rstrip(":")
        return self.status


@dataclass(frozen=True)
class Verification:
    """The verdict on one pair; `reason` names the first check that failed (None when kept)."""

    reason: str | None
    detail: str | None
    runs: dict[str, RunRecord] = field(default_factory=dict)

    @property
    def kept(self) -> bool:
        return self.reason is None

    @property
    def observable(self) -> str | None:
        """How the legacy code reacts to the new version: "error", "warning", "output" (it runs silently
        but prints something else than on the old version: a behaviour change) or "none"."""
        run, before = self.runs.get("old_under_new"), self.runs.get("old_under_old")
        if run is None or before is None:
            return None
        if not run.completed:
            return "error"
        if run.warnings:
            return "warning"
        return "output" if run.stdout_sha256 != before.stdout_sha256 else "none"

    @property
    def same_output(self) -> bool | None:
        """Whether the migrated code prints what the legacy code printed (the prompt asks for it; a
        mismatch is kept but worth a look, since the pair may not do the same thing)."""
        old, new = self.runs.get("old_under_old"), self.runs.get("new_under_new")
        if old is None or new is None or not (old.completed and new.completed):
            return None
        return old.stdout_sha256 == new.stdout_sha256

    def to_dict(self) -> dict[str, Any]:
        return {
            "kept": self.kept,
            "reason": self.reason,
            "detail": self.detail,
            "update_observable": self.observable,
            "same_output": self.same_output,
            "runs": {name: run.to_dict() for name, run in self.runs.items()},
        }


@dataclass(frozen=True)
class VerifyConfig:
    """Limits for each run and how strict the verdict is."""

    timeout_s: float = 60.0  # first import of a big library in a cold env can take seconds
    memory_mb: int = 4096
    require_observable: bool = False  # reject pairs whose legacy code runs unchanged (no error/warning)


def run_snippet(
    source: str, python: Path | str, limits: SandboxLimits, *, name: str, runner: Runner = run_program
) -> RunRecord:
    """Run `source` under interpreter `python` in the sandbox and report whether it reached the end."""
    nonce = f"__recode_done_{secrets.token_hex(8)}__"
    program = _WRAPPER.format(mark=WARNING_MARK, source=source, filename=f"<{name}>", nonce=nonce)
    result = runner(program, limits, python=str(python))
    completed = result.status == "ok" and nonce in result.stdout
    printed = result.stdout.split(nonce)[0] if completed else result.stdout
    status = result.status if completed or result.status != "ok" else "incomplete"
    warnings = tuple(
        line[len(WARNING_MARK) :] for line in result.stderr.splitlines() if line.startswith(WARNING_MARK)
    )
    return RunRecord(
        status=status,
        completed=completed,
        error_type=None if completed else result.error_type,
        error_message=None if completed else _short(result.error_message or _last_line(result.stderr)),
        warnings=warnings,
        duration_s=result.duration_s,
        isolation=result.isolation,
        stdout=printed[:_STDOUT_KEPT],
        stdout_sha256=hashlib.sha256(printed.encode("utf-8", "replace")).hexdigest(),
    )


def verify_pair(
    old_code: str,
    new_code: str,
    old_python: Path | str,
    new_python: Path | str,
    config: VerifyConfig = VerifyConfig(),
    *,
    runner: Runner = run_program,
) -> Verification:
    """Run the pair; the first failed check gives the rejection reason and its one-line detail."""
    limits = SandboxLimits(timeout_s=config.timeout_s, memory_mb=config.memory_mb)
    runs: dict[str, RunRecord] = {}
    runs["old_under_old"] = run_snippet(old_code, old_python, limits, name="old_code", runner=runner)
    if not runs["old_under_old"].completed:
        return Verification("old_code_fails_on_old_version", runs["old_under_old"].detail(), runs)
    runs["new_under_new"] = run_snippet(new_code, new_python, limits, name="new_code", runner=runner)
    if not runs["new_under_new"].completed:
        return Verification("new_code_fails_on_new_version", runs["new_under_new"].detail(), runs)
    runs["old_under_new"] = run_snippet(old_code, new_python, limits, name="old_code", runner=runner)
    verdict = Verification(None, None, runs)
    if config.require_observable and verdict.observable == "none":
        return Verification(
            "update_not_observable",
            "old_code runs on the new version without an error, a warning or a change of output",
            runs,
        )
    return verdict


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if not line.startswith(WARNING_MARK)]
    return lines[-1] if lines else ""


def _short(text: str) -> str:
    return " ".join(text.split())[:300]


class SandboxRunner:
    """A `Runner` that keeps one `Sandbox` (a pool of fork-servers) per interpreter for a whole build.

    Why: `run_program` starts an isolated interpreter per call (~0.25 s with bwrap here); a kept server
    forks a fresh child per program instead (~0.03 s), which adds up over three runs per pair. Nothing
    is preloaded, so each snippet imports the library itself and import-time warnings stay visible.
    Thread-safe; servers start on the first run under each interpreter.
    """

    def __init__(self, workers: int = 2) -> None:
        self.workers = max(1, min(workers, os.cpu_count() or 1))
        self._boxes: dict[str, Sandbox] = {}
        self._lock = threading.Lock()

    def __call__(self, source: str, limits: SandboxLimits, *, python: str) -> SandboxResult:
        with self._lock:
            box = self._boxes.get(python)
            if box is None:
                box = self._boxes[python] = Sandbox(limits, preload=(), workers=self.workers, python=python)
        return box.run(source, limits)

    def close(self) -> None:
        with self._lock:
            boxes, self._boxes = list(self._boxes.values()), {}
        for box in boxes:
            box.close()

    def __enter__(self) -> SandboxRunner:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
