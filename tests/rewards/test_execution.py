"""The exec reward against the real `recode.sandbox`: passing > running > failing, and its edges."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from recode.errors import RecodeError
from recode.rewards import ExecReward, ExecScores, combine, exec_reward, registry
from recode.rewards.execution import checks_text, verdict
from recode.sandbox import SandboxLimits, SandboxResult

# A made-up library whose *new* API is `zorp.fetch` (the old `zorp.load` is gone).
SETUP = "import sys, types\nm = types.ModuleType('zorp')\nm.fetch = lambda x: 2 * x\nsys.modules['zorp'] = m"
TESTS = "assert run(3) == 6\nassert run(0) == 0"
MIGRATED = "import zorp\n\ndef run(x):\n    return zorp.fetch(x)"
LEGACY = "import zorp\n\ndef run(x):\n    return zorp.load(x)"


def answer(code: str) -> str:
    return f"ok</think>\n<answer>\n```python\n{code}\n```\n</answer>"


@pytest.fixture(scope="module")
def reward() -> Iterator[ExecReward]:
    fn = ExecReward(SandboxLimits(timeout_s=2.0, memory_mb=512, output_bytes=10_000), workers=2)
    yield fn
    fn.close()


def run(reward: ExecReward, codes: list[str], setup: str | None = SETUP, tests: str | None = TESTS) -> list:
    n = len(codes)
    return reward([answer(c) for c in codes], target=[""] * n, exec_setup=[setup] * n, exec_tests=[tests] * n)


def test_passing_beats_running_beats_failing(reward: ExecReward) -> None:
    wrong = "import zorp\n\ndef run(x):\n    return zorp.fetch(x) + 1"
    scores = run(reward, [MIGRATED, wrong, LEGACY.replace("def run", "zorp.load(1)\ndef run")])
    assert scores == [2.0, 0.0, -1.5]
    assert scores[0] > scores[1] > scores[2]


def test_the_legacy_code_fails_its_checks_and_the_target_passes(reward: ExecReward) -> None:
    assert run(reward, [LEGACY, MIGRATED]) == [0.0, 2.0]


def test_early_exit_never_counts_as_passing(reward: ExecReward) -> None:
    in_code = "import sys\nsys.exit(0)"
    in_tests = "def run(x):\n    import os\n    os._exit(0)"
    assert run(reward, [in_code, in_tests]) == [-1.5, 0.0]


def test_code_that_silences_stdout_is_still_judged(reward: ExecReward) -> None:
    code = "import os, sys, zorp\nsys.stdout = open(os.devnull, 'w')\nprint('hidden')\n"
    code += "def run(x):\n    return zorp.fetch(x)"
    assert run(reward, [code]) == [2.0]


def test_timeout_and_exceptions_are_failures(reward: ExecReward) -> None:
    assert run(reward, ["while True:\n    pass", "1 / 0"]) == [-1.5, -1.5]


def test_no_code_or_a_syntax_error_is_invalid_without_running(reward: ExecReward) -> None:
    fresh = ExecReward()
    assert fresh(["no fence here", answer("def run(:")], exec_tests=[TESTS, TESTS]) == [-2.0, -2.0]
    assert fresh._sandbox is None


def test_rows_without_checks_can_only_earn_running(reward: ExecReward) -> None:
    assert run(reward, ["x = 1", "raise SystemExit(3)"], setup=None, tests=None) == [0.0, -1.5]


def test_a_broken_setup_is_not_the_models_fault(reward: ExecReward) -> None:
    assert run(reward, [MIGRATED], setup="raise RuntimeError('bad row')") == [None]


def test_future_imports_and_main_guard_work(reward: ExecReward) -> None:
    code = (
        "from __future__ import annotations\nimport zorp\ndef run(x: int) -> int:\n    return zorp.fetch(x)\n"
    )
    code += "if __name__ == '__main__':\n    print(run(1))"
    assert run(reward, [code]) == [2.0]


def test_json_encoded_check_lists_are_accepted(reward: ExecReward) -> None:
    tests = '["assert run(3) == 6", "assert run(1) == 2"]'
    assert run(reward, [MIGRATED], tests=tests) == [2.0]
    assert checks_text(["a = 1", "b = 2"]) == "a = 1\nb = 2"
    assert checks_text("[1, 2]") == "[1, 2]"
    assert checks_text(None) == ""


def test_single_completion_and_conversational_form(reward: ExecReward) -> None:
    message = [{"role": "assistant", "content": answer(MIGRATED)}]
    assert reward(message, exec_setup=SETUP, exec_tests=TESTS) == 2.0


def test_sandbox_is_started_once_and_reused(reward: ExecReward) -> None:
    run(reward, [MIGRATED])
    first = reward.sandbox()
    run(reward, [MIGRATED])
    assert reward.sandbox() is first


def test_verdict_fractions_are_logged(reward: ExecReward) -> None:
    logged: dict[str, float] = {}
    codes = [answer(MIGRATED), answer(LEGACY), "none", answer("1/0")]
    reward(codes, exec_setup=[SETUP] * 4, exec_tests=[TESTS] * 4, log_metric=logged.__setitem__)
    assert (
        logged["exec/passed"] == logged["exec/ran"] == logged["exec/invalid"] == logged["exec/failed"] == 0.25
    )
    assert logged["exec/setup_failed"] == 0.0


def test_exec_combines_with_es_star_by_weights(reward: ExecReward, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.REWARDS, "exec", reward)
    fn = combine({"es_star": 1.0, "exec": 0.5})
    scores = fn(
        [answer(MIGRATED), answer(LEGACY)],
        target=[MIGRATED] * 2,
        exec_setup=[SETUP] * 2,
        exec_tests=[TESTS] * 2,
    )
    assert scores[0] == 2.0 + 0.5 * 2.0
    assert scores[1] < scores[0]


def test_default_instance_is_named_for_logging() -> None:
    assert exec_reward.__name__ == "exec"


def _result(stdout: str, status: str = "ok") -> SandboxResult:
    return SandboxResult(status, 0, 0.1, stdout, "", False, "subprocess", None, None)


def test_verdict_reads_the_markers_and_the_status() -> None:
    tag = "T_"
    assert verdict(_result("T_setup\nT_code\nT_tests\n"), tag, has_checks=True) == "passed"
    assert verdict(_result("T_setup\nT_code\nT_tests\n"), tag, has_checks=False) == "ran"
    assert verdict(_result("T_setup\nT_code\nT_tests\n", "timeout"), tag, has_checks=True) == "ran"
    assert verdict(_result("T_setup\nT_code\n", "error"), tag, has_checks=True) == "ran"
    assert verdict(_result("T_setup\n", "error"), tag, has_checks=True) == "failed"
    assert verdict(_result("", "error"), tag, has_checks=True) == "setup_failed"


def test_scores_must_keep_their_order() -> None:
    with pytest.raises(RecodeError, match="passed > ran > failed >= invalid"):
        ExecScores(passed=0.0, ran=1.0)
