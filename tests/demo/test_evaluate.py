"""Evaluation verdicts: a migration passes, a copy of the legacy code is counted as such, junk fails."""

from __future__ import annotations

from recode.demo.evaluate import judge
from recode.demo.synthetic import generate
from recode.rewards import ExecReward
from recode.training.sft import sft_completion


def test_judge_separates_migrated_copied_and_broken_answers() -> None:
    examples = generate(n_train=7, n_heldout=7, seed=1).examples("heldout")[:3]
    completions = [
        sft_completion(examples[0].new_code),
        sft_completion(examples[1].old_code),
        "I forgot the format",
    ]
    judge_exec = ExecReward(workers=1)
    try:
        report = judge(examples, completions, judge_exec)
    finally:
        judge_exec.close()
    first, second, third = report.tasks
    assert (first.verdict, first.exact_match, first.copied_legacy, first.format_ok) == (
        "passed",
        True,
        False,
        True,
    )
    assert second.verdict != "passed" and second.copied_legacy and not second.exact_match
    assert third.verdict == "invalid" and not third.format_ok
    assert report.metrics["pass@1"] == 1 / 3
    assert sum(group["n"] for group in report.by_kind.values()) == 3
    assert "tasks" not in report.to_dict(with_tasks=False)
