"""Stage 3 of the demo: greedy pass@1 on held-out updates, judged by running the code and by exact match.

Why both verdicts: executing the migrated snippet against the fake *new* API (through `recode.sandbox`,
via the exec reward's judge) accepts any correct spelling, which is what CodeUpdateArena's pass@1
means; exact match of normalised code is the stricter string view the ES*/EM* rewards train on.
Why greedy: one deterministic answer per task makes before/after comparable run to run, and with
n = 1 greedy decoding *is* pass@1. We also count how often the model copied the legacy code unchanged
and how often it reasoned about the note first: the "lazy" habit the RL stage is meant to break.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizerFast

from recode.data.prompts import migration_messages
from recode.data.schemas import MigrationExample
from recode.evaluation.backends import GenerationConfig, HFBackend
from recode.rewards import ExecReward, completion_text, extract_code, format_reward, normalize_code


@dataclass(frozen=True)
class TaskOutcome:
    """What the model wrote for one held-out task and how it was judged."""

    update_id: str
    update_kind: str
    completion: str
    verdict: str  # from the exec reward: passed | ran | failed | invalid | setup_failed
    exact_match: bool
    copied_legacy: bool
    format_ok: bool
    reasoned: bool  # wrote something in <think> before answering (the lazy habit writes nothing)


@dataclass
class EvalReport:
    """Aggregate metrics (fractions in [0, 1]), the same per update kind, and every task's outcome."""

    metrics: dict[str, float]
    by_kind: dict[str, dict[str, float]]
    tasks: list[TaskOutcome] = field(default_factory=list)

    def to_dict(self, with_tasks: bool = True) -> dict[str, Any]:
        """JSON-ready form for `report.json`."""
        out: dict[str, Any] = {**self.metrics, "by_kind": self.by_kind}
        if with_tasks:
            out["tasks"] = [asdict(task) for task in self.tasks]
        return out


def generate_answers(
    model_dir: Path, examples: Sequence[MigrationExample], *, max_new_tokens: int, progress: bool = False
) -> list[str]:
    """Greedy completions (after the `<think>` pre-fill) of the saved model for each example's prompt."""
    backend = HFBackend(str(model_dir), device="cpu", dtype="float32")
    backend.tokenizer = load_tokenizer(model_dir)
    gen = GenerationConfig(n=1, max_new_tokens=max_new_tokens, temperature=0.0, batch_size=64)
    prompts = [migration_messages(example) for example in examples]
    return [outputs[0] for outputs in backend.generate(prompts, gen, progress=progress)]


def load_tokenizer(model_dir: Path) -> PreTrainedTokenizerFast:
    """The demo tokenizer saved in `model_dir`, exactly as it was trained.

    Why not `AutoTokenizer`: transformers 5 maps a `qwen2` model folder to `Qwen2Tokenizer`, which
    swaps the demo's pre-tokenizer for Qwen's regex; prompts would then be cut into other tokens than
    in training and the model would read noise.
    """
    return PreTrainedTokenizerFast.from_pretrained(model_dir)


def judge(
    examples: Sequence[MigrationExample], completions: Sequence[str], judge_exec: ExecReward
) -> EvalReport:
    """Score completions against their examples: exec verdict, exact match, legacy copy, format."""
    extras = [example.extra or {} for example in examples]
    verdicts = judge_exec.judge(
        completions, [e.get("exec_setup") for e in extras], [e.get("exec_tests") for e in extras]
    )
    formats = format_reward(list(completions))
    tasks = []
    for example, extra, completion, verdict, fmt in zip(
        examples, extras, completions, verdicts, formats, strict=True
    ):
        code = extract_code(completion_text(completion))
        written = normalize_code(code) if code is not None else None
        tasks.append(
            TaskOutcome(
                update_id=str(extra.get("update_id", "")),
                update_kind=str(extra.get("update_kind", "unknown")),
                completion=completion,
                verdict=verdict,
                exact_match=written == normalize_code(example.new_code),
                copied_legacy=written == normalize_code(example.old_code),
                format_ok=fmt == 1.0,
                reasoned=bool(completion_text(completion).split("</think>", 1)[0].strip()),
            )
        )
    return EvalReport(_rates(tasks), _by_kind(tasks), tasks)


def _rates(tasks: Sequence[TaskOutcome]) -> dict[str, float]:
    n = max(len(tasks), 1)
    return {
        "pass@1": sum(t.verdict == "passed" for t in tasks) / n,
        "exact_match": sum(t.exact_match for t in tasks) / n,
        "copied_legacy": sum(t.copied_legacy for t in tasks) / n,
        "format_ok": sum(t.format_ok for t in tasks) / n,
        "reasoned": sum(t.reasoned for t in tasks) / n,
    }


def _by_kind(tasks: Sequence[TaskOutcome]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[TaskOutcome]] = defaultdict(list)
    for task in tasks:
        groups[task.update_kind].append(task)
    return {kind: {**_rates(group), "n": float(len(group))} for kind, group in sorted(groups.items())}
