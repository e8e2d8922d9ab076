"""HumanEval+/MBPP+ harness end to end through the sandbox: base vs plus, time limits, real-task oracle."""

from __future__ import annotations

from pathlib import Path

import pytest

from recode.evaluation import humaneval as he
from recode.evaluation.evalplus_data import PlusDataset, PlusTask, load_plus

sandbox = pytest.importorskip("recode.sandbox")
if not hasattr(sandbox, "Sandbox"):
    pytest.skip("recode.sandbox has no Sandbox yet", allow_module_level=True)

PROMPT = 'def double(x):\n    """Twice x."""\n'


def _dataset(tmp_path: Path, base: list, plus: list, canonical: str = "    return 2 * x\n") -> PlusDataset:
    task = PlusTask("Toy/0", PROMPT, "double", canonical, base, plus, 0.0)
    return PlusDataset("humaneval", (task,), tmp_path / "toy.jsonl", "0" * 64)


def _cfg(tmp_path: Path, **limits: float) -> he.PlusEvalConfig:
    return he.PlusEvalConfig(k=[1], time_limits=he.TimeLimits(**limits), cache_dir=tmp_path, workers=2)


def _verdicts(ds: PlusDataset, cfg: he.PlusEvalConfig, *codes: str) -> list[he.Verdict]:
    refs = he.compute_references(ds, cfg, progress=False)
    return he.check_solutions(ds, refs, [("Toy/0", code) for code in codes], cfg, progress=False)


def test_base_and_plus_are_scored_separately(tmp_path: Path) -> None:
    ds = _dataset(tmp_path, base=[[1], [2]], plus=[[3], [-7], [10**6]])
    right = "def double(x):\n    return x + x\n"
    base_only_right = "def double(x):\n    return 2 * x if x < 3 else 0\n"
    crashes = "def double(x):\n    raise ValueError('nope')\n"
    prints_and_exits = "import sys\ndef double(x):\n    print('ok')\n    sys.exit(0)\n"
    good, partial, bad, exits = _verdicts(
        ds, _cfg(tmp_path), right, base_only_right, crashes, prints_and_exits
    )
    assert (good.base, good.plus, good.passed) == ("pass", "pass", True)
    assert (partial.base, partial.plus, partial.passed, partial.base_passed) == ("pass", "fail", False, True)
    assert "plus" in partial.detail and "input 0" in partial.detail
    assert not bad.base_passed and "ValueError" in bad.detail
    assert not exits.passed and "SystemExit" in exits.detail


def test_per_input_time_limit_uses_the_floor(tmp_path: Path) -> None:
    ds = _dataset(tmp_path, base=[[1]], plus=[[2]])
    slow = "import time\ndef double(x):\n    time.sleep(0.6)\n    return 2 * x\n"
    (strict,) = _verdicts(ds, _cfg(tmp_path, floor_s=0.3), slow)
    (lenient,) = _verdicts(ds, _cfg(tmp_path, floor_s=1.5), slow)
    assert strict.base == "timeout" and not strict.passed
    assert lenient.passed


def test_scores_and_result_json(tmp_path: Path) -> None:
    ds = _dataset(tmp_path, base=[[1]], plus=[[5]])
    samples = {"Toy/0": ["```python\ndef double(x):\n    return x * 2\n```", "    return x\n"]}
    cfg = _cfg(tmp_path)
    cfg.k = [1, 2]
    metrics, tasks = he.evaluate_samples(ds, samples, cfg, progress=False)
    assert metrics["pass@1"] == pytest.approx(0.5) and metrics["pass@2"] == pytest.approx(1.0)
    assert tasks[0]["n"] == 2 and tasks[0]["c"] == 1
    assert tasks[0]["samples"][1]["solution"].startswith(PROMPT)  # a bare body continues the prompt
    result = he.run_result(ds, metrics, tasks, cfg, model="toy", backend="samples")
    assert result["kind"] == "humaneval" and result["tasks"][0]["metrics"]["pass@1"] == pytest.approx(0.5)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["humaneval", "mbpp"])
def test_oracle_passes_on_real_tasks(shared_data: Path, tmp_path: Path, name: str) -> None:
    folder, filename = {
        "humaneval": ("humanevalplus", "HumanEvalPlus.jsonl.gz"),
        "mbpp": ("mbppplus", "MbppPlus.jsonl.gz"),
    }[name]
    path = shared_data / folder / filename
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    ds = load_plus(name, path).select(limit=6)
    cfg = he.PlusEvalConfig(k=[1], cache_dir=tmp_path, workers=2)
    metrics, tasks = he.evaluate_samples(
        ds, he.oracle_samples(ds), cfg, solution_builder=he.oracle_solution, progress=False
    )
    failures = [(t["task_id"], t["samples"][0]["detail"]) for t in tasks if not t["samples"][0]["passed"]]
    assert not failures
    assert metrics["pass@1"] == 1.0 and len(tasks) == 6
