"""`recode eval humaneval` and `recode eval mbpp`: general coding skill (HumanEval+ / MBPP+).

Why next to the arena evaluation: the paper's claim is "better on API updates *without* losing general
skill", so the two are run on the same model, with the same backends and the same results JSON.
`cli/eval.py` (arena) calls `register(app)` to add these commands to its `eval` group.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from recode.cli.common import console, generation_config
from recode.errors import RecodeError

SUBSETS = ("all", "arena-sample")
STYLES = ("instruct", "recode")


def register(app: typer.Typer) -> None:
    """Add `humaneval` and `mbpp` to the `recode eval` group."""
    app.command("humaneval")(_command("humaneval"))
    app.command("mbpp")(_command("mbpp"))


def _command(dataset: str) -> Callable[..., None]:
    """The typer command for one dataset (both share every option; only names and defaults differ)."""
    pretty = "HumanEval+" if dataset == "humaneval" else "MBPP+"

    def command(
        model: str | None = typer.Option(
            None, "--model", "-m", help="Model path/hub id (hf, vllm) or name (openai)."
        ),
        backend: str = typer.Option("hf", help="Generation backend: hf, openai or vllm."),
        base_url: str | None = typer.Option(None, help="OpenAI-compatible endpoint (backend openai)."),
        oracle: bool = typer.Option(
            False, "--oracle", help="Score the canonical solutions (harness self-check)."
        ),
        samples: Path | None = typer.Option(
            None,
            "--samples",
            help="Score an existing JSONL of {task_id, completion|solution} instead of generating.",
        ),
        data: Path | None = typer.Option(
            None, "--data", help=f"{pretty} .jsonl(.gz); default: under $RECODE_DATA_DIR."
        ),
        subset: str = typer.Option(
            "all", help="all, or arena-sample (CodeUpdateArena's specificity sample)."
        ),
        tasks: str | None = typer.Option(None, "--tasks", help="Comma-separated task ids to run only those."),
        limit: int | None = typer.Option(None, min=1, help="Only the first N tasks (smoke tests)."),
        n: int = typer.Option(1, "--n", min=1, help="Samples per task (pass@k needs n >= k)."),
        k: str = typer.Option("1", "--k", help="Comma-separated ks for pass@k, e.g. 1,10."),
        temperature: float = typer.Option(
            0.0, help="Sampling temperature (0 = greedy, EvalPlus's pass@1 setting)."
        ),
        top_p: float = typer.Option(0.95, help="Nucleus sampling mass."),
        max_new_tokens: int = typer.Option(768, help="Generation budget per completion."),
        batch_size: int = typer.Option(8, help="Prompts per generation batch."),
        seed: int = typer.Option(0, help="Sampling seed."),
        style: str = typer.Option(
            "instruct", help="Prompt: instruct, or recode (ReCode's system prompt + <think> prefill)."
        ),
        base_only: bool = typer.Option(
            False, "--base-only", help="Run only the original tests (no plus inputs)."
        ),
        time_factor: float = typer.Option(
            4.0, help="Per-input limit = max(floor, factor x reference runtime)."
        ),
        time_floor: float = typer.Option(1.0, help="Minimum per-input time limit in seconds."),
        retime: bool = typer.Option(
            True, "--retime/--no-retime", help="Also time the reference at check time (robust to load)."
        ),
        memory_mb: int = typer.Option(4096, help="Memory limit per program (MB)."),
        workers: int | None = typer.Option(
            None, help="Parallel sandbox workers (default: the sandbox's choice)."
        ),
        no_cache: bool = typer.Option(False, "--no-cache", help="Recompute reference outputs and runtimes."),
        out: Path | None = typer.Option(
            None, "--out", "-o", help=f"Results JSON (default runs/eval/{dataset}-MODEL.json)."
        ),
    ) -> None:
        from recode.evaluation import humaneval as he
        from recode.evaluation.evalplus_data import arena_sample_ids, load_plus
        from recode.evaluation.passk import check_ks, parse_ks

        sources = sum(bool(x) for x in (oracle, samples, model))
        if sources != 1:
            raise RecodeError(
                "give exactly one of --model, --samples or --oracle",
                hint=f"e.g. recode eval {dataset} --oracle",
            )
        if style not in STYLES:
            raise RecodeError(f"unknown --style {style!r}", hint=f"choose one of {', '.join(STYLES)}")
        ks = parse_ks(k)
        ds = load_plus(dataset, data)
        ds = ds.select(_task_ids(dataset, subset, tasks, arena_sample_ids), limit)
        cfg = he.PlusEvalConfig(
            k=ks,
            base_only=base_only,
            time_limits=he.TimeLimits(factor=time_factor, floor_s=time_floor, retime=retime),
            memory_mb=memory_mb,
            workers=workers,
            use_cache=not no_cache,
        )
        started = time.perf_counter()
        builder = he.solution_from_completion
        if oracle:
            texts, backend_name, model_name, builder = (
                he.oracle_samples(ds),
                "oracle",
                "canonical",
                he.oracle_solution,
            )
        elif samples:
            texts, backend_name, model_name = (
                he.read_samples(samples, {t.task_id for t in ds.tasks}),
                "samples",
                str(samples),
            )
            ds = ds.select([t.task_id for t in ds.tasks if t.task_id in texts])
        else:
            texts, backend_name, model_name = _generate(
                he,
                ds,
                backend,
                model,
                base_url,
                style,
                generation_config(n, max_new_tokens, temperature, top_p, seed, batch_size),
            )
        check_ks(ks, (len(v) for v in texts.values()))
        target = out or Path("runs/eval") / f"{dataset}-{_slug(model_name)}.json"
        if backend_name not in ("samples", "oracle"):
            he.write_samples(target.with_suffix(".samples.jsonl"), texts)
        metrics, records = he.evaluate_samples(ds, texts, cfg, solution_builder=builder)
        extra: dict[str, Any] = {"subset": subset, "n": max(len(v) for v in texts.values())}
        if model:
            extra.update(style=style, temperature=temperature, top_p=top_p, seed=seed)
        extra["seconds"] = round(time.perf_counter() - started, 1)
        result = he.run_result(
            ds, metrics, records, cfg, model=model_name, backend=backend_name, extra_config=extra
        )
        he.write_result(result, target)
        _print_summary(pretty, result, target)
        if oracle:
            _print_oracle_failures(records)

    specificity = (
        "\n\nCodeUpdateArena's specificity check (its 82-task HumanEval sample): "
        "`recode eval humaneval --subset arena-sample --model M`."
        if dataset == "humaneval"
        else ""
    )
    command.__doc__ = (
        f"Score a model on {pretty}: base + plus tests, EvalPlus verdicts, every program in the sandbox."
        f"\n\nHarness self-check (canonical solutions): `recode eval {dataset} --oracle`."
        f"\n\nA model, 10 samples per task: `recode eval {dataset} -m Qwen/Qwen2.5-Coder-7B-Instruct "
        "--backend vllm --n 10 --k 1,10 --temperature 0.8`."
        f"\n\nRe-score completions made elsewhere: `recode eval {dataset} --samples samples.jsonl`."
        f"{specificity}"
        "\n\nWrites a run-result JSON (`--out`) for `recode compare` and `recode report`; pass@k needs both "
        "the base and the plus tests, base_pass@k the base tests only. Data: --data or $RECODE_DATA_DIR."
    )
    return command


def _task_ids(
    dataset: str, subset: str, tasks: str | None, arena_ids: Callable[[], list[str]]
) -> list[str] | None:
    """The task ids to run (None: all): the subset's, narrowed by `--tasks`."""
    if subset not in SUBSETS:
        raise RecodeError(f"unknown subset {subset!r}", hint=f"choose one of {', '.join(SUBSETS)}")
    ids = None
    if subset == "arena-sample":
        if dataset != "humaneval":
            raise RecodeError(
                "--subset arena-sample is a HumanEval sample", hint="use it with `recode eval humaneval`"
            )
        ids = arena_ids()
    if tasks:
        wanted = [t.strip() for t in tasks.split(",") if t.strip()]
        ids = wanted if ids is None else [t for t in ids if t in set(wanted)]
    return ids


def _generate(
    he: ModuleType,
    ds: Any,
    backend: str,
    model: str,
    base_url: str | None,
    style: str,
    gen: Any,
) -> tuple[dict[str, list[str]], str, str]:
    """Completions per task id from the backend, with the backend and model names for the results."""
    from recode.evaluation.backends import make_backend

    options = {"base_url": base_url} if base_url else {}
    engine = make_backend(backend, model, **options)
    texts = he.generate_samples(ds, engine, gen, style=style)
    return texts, backend, model


def _slug(name: str) -> str:
    return (
        "".join(c if c.isalnum() or c in "-_." else "-" for c in name.rstrip("/").split("/")[-1]) or "model"
    )


def _print_summary(pretty: str, result: dict[str, Any], target: Path) -> None:
    config = result["config"]
    subset = "" if config["subset"] == "all" else f" {config['subset']}"
    table = Table(title=f"{pretty}{subset}: {escape(result['model'])} ({config['tasks']} tasks)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in result["metrics"].items():
        table.add_row(name, f"{100 * value:.1f}")
    console.print(table)
    console.print(f"results: {escape(str(target))} ({result['config']['seconds']} s)")


def _print_oracle_failures(records: list[dict[str, Any]]) -> None:
    """Every canonical solution that failed, with why (the self-check must explain each one)."""
    failed = [(r["task_id"], r["samples"][0]) for r in records if not r["samples"][0]["passed"]]
    if not failed:
        console.print("[green]every canonical solution passed its base and plus tests[/]")
        return
    table = Table(title=f"{len(failed)} canonical solution(s) failed")
    table.add_column("task")
    table.add_column("why")
    for task_id, sample in failed:
        table.add_row(task_id, escape(sample["detail"]))
    console.print(table)
