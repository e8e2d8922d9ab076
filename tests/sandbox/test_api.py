"""The public API as its callers use it: `run_program`, `python=`, tier selection, preloading, closing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from recode.errors import RecodeError
from recode.sandbox import Sandbox, SandboxLimits, isolation_tier, run_program
from recode.sandbox.isolation import FORCE_ENV

LIMITS = SandboxLimits(timeout_s=10.0, memory_mb=256)


def test_isolation_tier_is_cached_and_reported() -> None:
    tier = isolation_tier()
    assert tier in {"bwrap", "unshare", "subprocess"} and isolation_tier() is tier
    assert run_program("print(1)", LIMITS).isolation == tier


def test_run_program_runs_a_fresh_interpreter() -> None:
    result = run_program("import sys\nprint('numpy' in sys.modules, __name__)\n", LIMITS)
    assert (result.status, result.stdout) == ("ok", "False __main__\n")


def test_forced_tier_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORCE_ENV, "nonsense")
    isolation_tier.cache_clear()
    try:
        with pytest.raises(RecodeError, match="nonsense"):
            isolation_tier()
        monkeypatch.setenv(FORCE_ENV, "subprocess")
        isolation_tier.cache_clear()
        assert run_program("print(2)", LIMITS).isolation == "subprocess"
    finally:
        isolation_tier.cache_clear()


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv under /tmp without recode (nor pip): what `python=` points at for a library version."""
    root = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    return root


def test_python_runs_under_another_interpreter(bare_venv: Path) -> None:
    python = bare_venv / "bin" / "python"
    source = "import sys\nprint(sys.prefix)\nimport recode\n"
    result = run_program(source, LIMITS, python=str(python))
    assert result.stdout.strip() == str(bare_venv)
    assert (result.status, result.error_type) == ("error", "ModuleNotFoundError")


def test_missing_interpreter_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecodeError, match="interpreter"):
        run_program("print(1)", LIMITS, python=str(tmp_path / "nope" / "python"))


def test_preloaded_modules_are_reported_and_missing_ones_skipped() -> None:
    with Sandbox(LIMITS, preload=("json", "no_such_module_xyz"), workers=1) as box:
        assert box.preloaded == ["json"]
        assert box.run("import sys\nprint('json' in sys.modules)\n").stdout == "True\n"


def test_closed_sandbox_refuses_work() -> None:
    box = Sandbox(LIMITS, preload=(), workers=1)
    box.close()
    box.close()  # idempotent
    with pytest.raises(RecodeError, match="closed"):
        box.run("print(1)")


def test_per_call_limits_override_the_defaults() -> None:
    with Sandbox(SandboxLimits(timeout_s=30.0, memory_mb=256), preload=(), workers=1) as box:
        result = box.run("import time\ntime.sleep(5)\n", SandboxLimits(timeout_s=0.3, memory_mb=256))
    assert result.status == "timeout" and result.duration_s < 3.0


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(RecodeError):
        Sandbox(LIMITS, workers=0)
    with pytest.raises(RecodeError):
        Sandbox(LIMITS, isolation="docker")
