"""What a caller asks for (`SandboxLimits`) and what it gets back (`SandboxResult`).

Why a result that says *why*: evaluators score thousands of programs and a bare exit code cannot tell a
wrong answer from a timeout, an out-of-memory kill or a crashed interpreter, which need different fixes
(a bigger limit, a bug report, a better model). The fork-server only measures; the classification into a
`status` lives here, on the host, so it is the same for every isolation tier.
"""

from __future__ import annotations

import signal
from dataclasses import asdict, dataclass
from typing import Any

from recode.errors import RecodeError

STATUSES = ("ok", "error", "timeout", "memory", "killed", "crashed")
"""`ok`: exit 0; `error`: non-zero exit (exception, `sys.exit(n)`); `timeout`: wall clock exceeded;
`memory`: memory limit hit; `killed`: ended by a signal such as SIGKILL, or its supervisor died;
`crashed`: the interpreter itself faulted (SIGSEGV, SIGABRT...) or the sandbox could not set it up."""

_CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGSYS}
SETUP_FAILED = 71
"""Exit code the fork-server's child uses when it could not confine itself (the program never ran)."""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-program limits. `memory_mb` is address space the program may add on top of the interpreter
    and any preloaded modules (preloaded torch alone maps ~0.7 GB that the program shares, not owns)."""

    timeout_s: float = 10.0
    memory_mb: int = 2048
    output_bytes: int = 1_000_000

    def __post_init__(self) -> None:
        if not self.timeout_s > 0:
            raise RecodeError(f"sandbox timeout must be positive, got {self.timeout_s}", "e.g. --timeout 10")
        if self.memory_mb < 16:
            raise RecodeError(f"sandbox memory limit {self.memory_mb} MB is too small", "use at least 16 MB")
        if self.output_bytes < 2:
            raise RecodeError(f"sandbox output cap {self.output_bytes} bytes is too small", "use >= 2 bytes")


@dataclass(frozen=True)
class SandboxResult:
    """One program's outcome. `stdout`/`stderr` keep head and tail when over the cap (`truncated`)."""

    status: str
    returncode: int | None
    duration_s: float
    stdout: str
    stderr: str
    truncated: bool
    isolation: str
    error_type: str | None
    error_message: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with exactly the dataclass fields (what `recode sandbox run --json` prints)."""
        return asdict(self)


def from_outcome(outcome: dict[str, Any], limits: SandboxLimits, isolation: str) -> SandboxResult:
    """Classify the fork-server's raw measurement into a `SandboxResult`."""
    code = outcome["returncode"]
    status, error_type, message = _classify(outcome, code, limits)
    return SandboxResult(
        status=status,
        returncode=code,
        duration_s=float(outcome["duration_s"]),
        stdout=outcome["stdout"],
        stderr=outcome["stderr"],
        truncated=bool(outcome["truncated"]),
        isolation=isolation,
        error_type=error_type,
        error_message=message,
    )


def _classify(
    outcome: dict[str, Any], code: int, limits: SandboxLimits
) -> tuple[str, str | None, str | None]:
    if outcome["timed_out"]:
        return "timeout", "Timeout", f"exceeded the {limits.timeout_s:g} s wall-clock limit"
    if outcome.get("memory"):
        detail = outcome.get("exc_message") or ""
        return "memory", outcome.get("exc_type") or "MemoryError", _memory_message(limits, detail)
    if code == 0:
        return "ok", None, None
    if code < 0:
        return _signalled(-code)
    if code == SETUP_FAILED and outcome["stderr"].startswith("sandbox setup failed"):
        return "crashed", "SandboxSetupError", outcome["stderr"].strip()
    return "error", outcome.get("exc_type") or "ExitCode", outcome.get("exc_message") or f"exit code {code}"


def _memory_message(limits: SandboxLimits, detail: str) -> str:
    base = f"exceeded the {limits.memory_mb} MB memory limit"
    return f"{base}: {detail}" if detail else base


def _signalled(number: int) -> tuple[str, str, str]:
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number in _CRASH_SIGNALS:
        return "crashed", name, f"the interpreter died of {name}"
    if number == signal.SIGXFSZ:
        return "killed", name, "wrote a file over the sandbox's 1 GB file size limit"
    return "killed", name, f"killed by {name}"


def supervisor_failure(isolation: str, duration_s: float, message: str, *, timed_out: bool) -> SandboxResult:
    """Result for a program whose fork-server died or hung (e.g. the program killed its parent)."""
    return SandboxResult(
        status="timeout" if timed_out else "killed",
        returncode=None,
        duration_s=duration_s,
        stdout="",
        stderr="",
        truncated=False,
        isolation=isolation,
        error_type="SandboxServerDied",
        error_message=message,
    )
