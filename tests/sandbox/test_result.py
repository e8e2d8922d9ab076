"""How raw fork-server measurements become statuses: the part every evaluator's verdict depends on."""

from __future__ import annotations

from typing import Any

import pytest

from recode.errors import RecodeError
from recode.sandbox import STATUSES, SandboxLimits
from recode.sandbox.result import SETUP_FAILED, from_outcome, supervisor_failure

LIMITS = SandboxLimits(timeout_s=2.0, memory_mb=300)


def _outcome(**changes: Any) -> dict[str, Any]:
    base = {
        "returncode": 0,
        "timed_out": False,
        "duration_s": 0.5,
        "stdout": "out",
        "stderr": "",
        "truncated": False,
        "exc_type": None,
        "exc_message": None,
        "memory": False,
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("changes", "status", "error_type"),
    [
        ({}, "ok", None),
        ({"returncode": 1, "exc_type": "KeyError", "exc_message": "'x'"}, "error", "KeyError"),
        ({"returncode": 4}, "error", "ExitCode"),
        ({"returncode": -9, "timed_out": True}, "timeout", "Timeout"),
        ({"returncode": 1, "memory": True, "exc_type": "MemoryError"}, "memory", "MemoryError"),
        ({"returncode": -9}, "killed", "SIGKILL"),
        ({"returncode": -25}, "killed", "SIGXFSZ"),
        ({"returncode": -11}, "crashed", "SIGSEGV"),
        ({"returncode": -6}, "crashed", "SIGABRT"),
        ({"returncode": SETUP_FAILED, "stderr": "sandbox setup failed: x"}, "crashed", "SandboxSetupError"),
        ({"returncode": SETUP_FAILED}, "error", "ExitCode"),  # a program may exit 71 itself
    ],
)
def test_classification(changes: dict[str, Any], status: str, error_type: str | None) -> None:
    result = from_outcome(_outcome(**changes), LIMITS, "bwrap")
    assert (result.status, result.error_type) == (status, error_type)
    assert result.status in STATUSES and result.isolation == "bwrap"
    assert (result.error_message is None) == (status == "ok")


def test_timeout_and_memory_messages_name_the_limit() -> None:
    assert "2 s" in (from_outcome(_outcome(timed_out=True), LIMITS, "x").error_message or "")
    memory = from_outcome(_outcome(returncode=1, memory=True, exc_message="cannot allocate"), LIMITS, "x")
    assert "300 MB" in (memory.error_message or "") and "cannot allocate" in (memory.error_message or "")


def test_supervisor_failure_is_never_ok() -> None:
    for timed_out, status in ((True, "timeout"), (False, "killed")):
        result = supervisor_failure("subprocess", 1.0, "gone", timed_out=timed_out)
        assert (result.status, result.returncode, result.error_type) == (status, None, "SandboxServerDied")


def test_to_dict_has_the_agreed_fields() -> None:
    record = from_outcome(_outcome(), LIMITS, "unshare").to_dict()
    assert set(record) == {
        "status",
        "returncode",
        "duration_s",
        "stdout",
        "stderr",
        "truncated",
        "isolation",
        "error_type",
        "error_message",
    }


@pytest.mark.parametrize(
    "kwargs", [{"timeout_s": 0}, {"timeout_s": -1.0}, {"memory_mb": 1}, {"output_bytes": 0}]
)
def test_nonsense_limits_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(RecodeError):
        SandboxLimits(**kwargs)
