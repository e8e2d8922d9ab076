"""The public API as its callers use it: `run_program`, `python=`, tier selection, preloading, closing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sandbox_helpers import tier_works

from recode.errors import RecodeError
from recode.sandbox import Sandbox, SandboxLimits, isolation_tier, run_program
from recode.sandbox.isolation import FORCE_ENV, TIERS
from recode.sandbox.pool import route

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


@pytest.mark.parametrize("tier", TIERS)
def test_python_runs_under_another_interpreter(bare_venv: Path, tier: str) -> None:
    if not tier_works(tier):
        pytest.skip(f"isolation tier {tier!r} does not work on this machine")
    python = bare_venv / "bin" / "python"
    source = "import sys\nprint(sys.prefix)\nimport recode\n"
    result = run_program(source, LIMITS, python=str(python), isolation=tier)
    assert result.stdout.strip() == str(bare_venv)
    assert (result.status, result.error_type) == ("error", "ModuleNotFoundError")


def test_missing_interpreter_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecodeError, match="interpreter"):
        run_program("print(1)", LIMITS, python=str(tmp_path / "nope" / "python"))


def test_programs_run_on_the_lightest_server_that_preloads_what_they_name() -> None:
    with Sandbox(LIMITS, preload=("fractions", "no_such_module_xyz"), workers=1) as box:
        check = "import sys\nprint({name!r} in sys.modules)\n"
        assert box.preloaded == []  # nothing has needed them yet
        assert box.run(check.format(name="fractions")).stdout == "True\n"
        assert box.run(check.format(name="decimal")).stdout == "False\n"  # fractions would import it
        assert box.preloaded == ["fractions"]


def test_route_picks_the_shortest_covering_prefix() -> None:
    preload = ("numpy", "torch", "sympy")
    assert route("import math\n", preload) == ()
    assert route("import numpy as np\n", preload) == ("numpy",)
    assert route("from torch import nn\n", preload) == ("numpy", "torch")
    assert route("import sympy\n", preload) == preload
    assert route("numpyish = 1\n", preload) == ()


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


def test_programs_forked_from_one_server_draw_independent_random_numbers() -> None:
    """A fresh interpreter seeds its generators from the OS; forked programs must not share one stream
    (the server seeds numpy's global state before it forks, so without a reseed per child they would)."""
    pytest.importorskip("numpy")
    draw = "import random, numpy\nprint(random.random(), numpy.random.rand())\n"
    with Sandbox(LIMITS, preload=("numpy",), workers=1) as box:
        first, second = (box.run(draw).stdout.split() for _ in range(2))
    assert first[0] != second[0] and first[1] != second[1]


@pytest.mark.slow
def test_memory_limit_counts_on_top_of_preloaded_torch() -> None:
    """torch maps ~0.7 GB of address space: a 512 MB limit must still let a program use it; and, as in
    a fresh interpreter, each program forked from the torch server gets its own random state."""
    pytest.importorskip("torch")
    limits = SandboxLimits(timeout_s=30.0, memory_mb=512)
    with Sandbox(limits, preload=("torch",), workers=1) as box:
        small = box.run("import torch\nprint(torch.ones(10**6).sum().item())\n")
        huge = box.run("import torch\nprint(torch.ones(10**9).sum().item())\n")
        draws = {box.run("import torch\nprint(torch.rand(1).item())\n").stdout for _ in range(2)}
    assert (small.status, small.stdout) == ("ok", "1000000.0\n")
    assert huge.status == "memory" and "512 MB" in (huge.error_message or "")
    assert len(draws) == 2
