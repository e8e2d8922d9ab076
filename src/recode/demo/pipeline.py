"""The demo, end to end: data -> tiny model -> SFT warm start -> evaluate -> GRPO -> evaluate -> report.

Why these stages: ReCode's claim is that rule-based RL teaches a model that *ignores* the update notes in
its prompt to *apply* them, and that the skill carries over to updates it never trained on. The warm
start builds the "lazy" model (right format, legacy code copied); RL with format + ES* rewards runs
through `recode.training.run_rl`, the same code as `recode train`; the held-out evaluation before and
after is the evidence. Every stage writes its files under one folder, so any of them can be inspected.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from transformers import TrainerCallback

from recode.data.convert import trl_rows
from recode.data.schemas import MigrationExample
from recode.demo.config import DemoConfig, rl_config, sft_config
from recode.demo.evaluate import EvalReport, generate_answers, judge
from recode.demo.plots import pass_by_kind, reward_curve
from recode.demo.synthetic import generate
from recode.demo.tokenizer import prompt_phrases, train_tokenizer
from recode.demo.warmstart import run_warm_start, warm_start_pairs
from recode.rewards import ExecReward
from recode.training import run_rl
from recode.training.quiet import printed_logs_to, quiet_libraries
from recode.training.tiny import build_model

REPORT_FILE = "report.json"
REWARD_PLOT = "reward_curve.png"
KIND_PLOT = "pass_by_kind.png"


def run_demo(out: Path, cfg: DemoConfig, console: Console | None = None) -> dict[str, Any]:
    """Run every stage under `out` and return the report (also written to `out/report.json`)."""
    console = console or Console(stderr=True)
    out.mkdir(parents=True, exist_ok=True)
    with _torch_threads(cfg.torch_threads), quiet_libraries():
        return _run_stages(out, cfg, console)


def _run_stages(out: Path, cfg: DemoConfig, console: Console) -> dict[str, Any]:
    clock = _Clock()
    with clock("data"):
        data = generate(cfg.n_train, cfg.n_heldout, cfg.seed)
        if cfg.evaluate_on == "validation":
            data = data.validation(cfg.n_heldout, cfg.seed)
        train, heldout = data.examples("train"), data.examples("heldout")
        _write_jsonl(out / "data" / "train.jsonl", train)
        _write_jsonl(out / "data" / "heldout.jsonl", heldout)
        tokenizer = train_tokenizer(corpus(train), cfg.vocab_size, prompt_phrases())
        model = build_model(tokenizer, cfg.model, max_positions=512, seed=cfg.seed)
    console.print(
        f"[bold]data[/] {len(train)} train / {len(heldout)} {cfg.evaluate_on} updates; "
        f"tokenizer {len(tokenizer)} tokens; "
        f"model {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters"
    )
    judge_exec = ExecReward(workers=2)
    try:
        with clock("sft"), printed_logs_to(out / "sft" / "trainer.log"):
            sft = run_warm_start(
                sft_config(cfg, out / "sft"),
                model=model,
                tokenizer=tokenizer,
                pairs=warm_start_pairs(train, cfg.apply_fraction, cfg.seed),
                callbacks=[RichSteps(console, "SFT warm start", cfg.sft_steps)],
            )
        with clock("eval_before"):
            before = _evaluate(sft.final_adapter_dir, heldout, cfg, judge_exec)
        console.print(f"[bold]before RL[/] held-out {_summary(before)}")
        with clock("rl"), printed_logs_to(out / "rl" / "trainer.log"):
            rl = run_rl(
                rl_config(cfg, out / "rl"),
                model=model,
                tokenizer=tokenizer,
                train_dataset=trl_rows(train),
                callbacks=[RichSteps(console, "GRPO (format + ES*)", cfg.rl_steps)],
            )
        with clock("eval_after"):
            after = _evaluate(rl.final_adapter_dir, heldout, cfg, judge_exec)
        console.print(f"[bold]after RL[/]  held-out {_summary(after)}")
    finally:
        judge_exec.close()
    report = {
        "before": before.to_dict(with_tasks=False),
        "after": after.to_dict(with_tasks=False),
        "gain": {"pass@1": after.metrics["pass@1"] - before.metrics["pass@1"]},
        "rl_rewards": _reward_summary(rl.log_history),
        "seconds": clock.seconds,
        "cpu_seconds": _cpu_seconds(),
        "config": config_dict(cfg),
        "files": {"reward_curve": REWARD_PLOT, "pass_by_kind": KIND_PLOT, "tasks": "heldout_outcomes.json"},
    }
    _write_json(out / "heldout_outcomes.json", {"before": before.to_dict(), "after": after.to_dict()})
    reward_curve(rl.log_history, out / REWARD_PLOT)
    pass_by_kind(before.by_kind, after.by_kind, out / KIND_PLOT)
    _write_json(out / REPORT_FILE, report)
    return report


def corpus(examples: Sequence[MigrationExample]) -> list[str]:
    """Texts the tokenizer is fitted to: every note, legacy and migrated snippet and reasoning line.

    The demo passes the train split only: fitting a tokenizer is training, and held-out tasks stay unseen.
    """
    texts = []
    for ex in examples:
        reasoning = str((ex.extra or {}).get("reasoning", ""))
        texts += [ex.update_info, ex.old_code, ex.new_code, reasoning, f"{ex.dependency} {ex.new_version}"]
    return texts


def _evaluate(model_dir: Path | None, examples: list[MigrationExample], cfg: DemoConfig,
              judge_exec: ExecReward) -> EvalReport:  # fmt: skip
    if model_dir is None:
        raise RuntimeError("the training stage saved no final model")  # a bug, not a user error
    completions = generate_answers(model_dir, examples, max_new_tokens=cfg.max_completion_length)
    return judge(examples, completions, judge_exec)


def _summary(report: EvalReport) -> str:
    m = report.metrics
    return (
        f"pass@1 {m['pass@1']:.2f} | exact match {m['exact_match']:.2f} | "
        f"copied legacy {m['copied_legacy']:.2f} | reasoned {m['reasoned']:.2f} | "
        f"format ok {m['format_ok']:.2f}"
    )


def _reward_summary(log_history: Sequence[dict[str, Any]]) -> dict[str, Any]:
    rewards = [row["reward"] for row in log_history if "reward" in row]
    return {"logged_steps": len(rewards), "first": rewards[0] if rewards else None,
            "last": rewards[-1] if rewards else None}  # fmt: skip


class RichSteps(TrainerCallback):
    """A rich progress bar over optimizer steps (the trainers' own tqdm bars are turned off)."""

    def __init__(self, console: Console, label: str, total: int) -> None:
        self.progress = Progress(
            TextColumn(f"[bold]{label}[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
            transient=False,
        )
        self.task = self.progress.add_task(label, total=total, info="")

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.progress.start()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.progress.update(self.task, completed=state.global_step)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        logs = logs or {}
        key = "reward" if "reward" in logs else "loss"
        if key in logs:
            self.progress.update(self.task, info=f"{key} {logs[key]:.3f}")

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.progress.stop()


@contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    """Run with `threads` torch CPU threads, then restore the caller's setting.

    Why here and not only in the configs: the warm start and the evaluation's generation do not go
    through `recode.training`'s thread knob, and a test process must get its own setting back.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _Clock:
    """Wall-clock seconds per stage, for the report (the 600 s budget is per stage visible)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.start = time.perf_counter()

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        begin = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = round(time.perf_counter() - begin, 2)
            self.seconds["total"] = round(time.perf_counter() - self.start, 2)


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children: unlike wall time, it does not grow when
    other jobs share the machine, so it tells how long the demo needs on an idle machine of this size."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime, 1)


def config_dict(cfg: DemoConfig) -> dict[str, Any]:
    """The run's configuration as JSON-ready values, saved in the report so it can be reproduced."""
    out: dict[str, Any] = {}
    for item in fields(cfg):
        value = getattr(cfg, item.name)
        out[item.name] = value.model_dump() if hasattr(value, "model_dump") else value
    out["rewards"] = list(cfg.rewards)
    return out


def _write_jsonl(path: Path, examples: Sequence[MigrationExample]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(ex.to_dict()) + "\n" for ex in examples), encoding="utf-8")


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
