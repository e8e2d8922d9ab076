"""`recode eval arena`: CodeUpdateArena pass@k, pass@k without the update and UPass@k, on any candidates.

Why one command for three candidate sources: the oracle (`--oracle`) checks the harness itself, a
samples file (`--samples`) re-scores generations made anywhere, and `--model` generates through a
backend (cached next to `--out`, so an interrupted run resumes) — all three are scored identically.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from recode.cli import eval_general
from recode.cli.common import console, generation_config
from recode.errors import RecodeError

app = typer.Typer(
    help="Evaluate models: CodeUpdateArena (`arena`: pass@k, UPass@k, multi-update variants) and general"
    " coding skill (`humaneval`, `mbpp`: HumanEval+ / MBPP+).",
    no_args_is_help=True,
)

DEFAULT_KS = (1, 5)


@app.command("arena")
def arena(
    oracle: bool = typer.Option(False, "--oracle", help="Score the benchmark's reference solutions."),
    samples: Path | None = typer.Option(
        None, "--samples", help="JSONL of {prog_syn_id, completion} rows (several per id allowed)."
    ),
    model: str | None = typer.Option(None, "--model", "-m", help="Model to generate with (path or hub id)."),
    backend: str = typer.Option("hf", "--backend", help="hf | openai | vllm (with --model)."),
    base_url: str | None = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint URL."),
    data: str | None = typer.Option(
        None, "--data", help="Arena file or hub id [default: $RECODE_DATA_DIR/codeupdatearena/arena.jsonl]."
    ),
    variant: str = typer.Option("standard", "--variant", help="standard | distractors | composite."),
    with_doc: bool = typer.Option(
        True, "--with-doc/--no-doc", help="Show the update's documentation in the prompt (ReCode's setting)."
    ),
    prompt_style: str | None = typer.Option(
        None, "--prompt-style", help="with_doc | no_doc | one_shot (overrides --with-doc/--no-doc)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for the variants' sampling and for generation."),
    n: int = typer.Option(5, "--n", min=1, help="Samples per task to generate (with --model)."),
    k: str | None = typer.Option(None, "--k", help="Comma-separated ks [default: 1,5 where n allows]."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Evaluate only the first N tasks."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Parallel programs [default: CPU count]."
    ),
    timeout: float = typer.Option(15.0, "--timeout", help="Seconds per test program (the benchmark's 15)."),
    memory_mb: int = typer.Option(4096, "--memory-mb", help="Memory limit per test program."),
    isolate_tests: bool = typer.Option(
        False,
        "--isolate-tests/--group-tests",
        help="One process per unit test, or (default, same verdicts) one per sample with tests it cannot "
        "settle re-run alone.",
    ),
    max_new_tokens: int = typer.Option(1024, "--max-new-tokens"),
    temperature: float = typer.Option(0.8, "--temperature"),
    top_p: float = typer.Option(0.95, "--top-p"),
    batch_size: int = typer.Option(8, "--batch-size", help="Prompts per generation batch."),
    generations: Path | None = typer.Option(
        None, "--generations", help="Generation cache (a samples file) [default: OUT with .samples.jsonl]."
    ),
    verdicts: Path | None = typer.Option(
        None, "--verdicts", help="Verdict cache for resuming [default: OUT with .verdicts.jsonl]."
    ),
    fresh: bool = typer.Option(False, "--fresh", help="Ignore cached verdicts and run every program again."),
    out: Path = typer.Option(Path("arena_results.json"), "--out", "-o", help="Run-result JSON to write."),
) -> None:
    """Score CodeUpdateArena candidates: pass@k with the update, pass@k without it, and UPass@k.

    Give exactly one candidate source: `--oracle` (the reference solutions: a self-check of the
    harness), `--samples FILE.jsonl` ({prog_syn_id, completion} rows made anywhere) or `--model M`
    (generated here, cached next to --out). Every sample runs in the sandbox with and without the
    update; an interrupted run resumes from the caches. Examples:

      recode eval arena --oracle --out oracle.json

      recode eval arena --samples gens.jsonl --k 1,5 --out gens.json

      recode eval arena --model runs/grpo/final --n 5 --out grpo.json

      recode eval arena --model my-model --backend openai --base-url http://localhost:8000/v1

    See docs/arena-evaluation.md for the metrics and the JSON written to --out.
    """
    from recode.data.loaders import arena_path, load_arena
    from recode.evaluation.arena import ExecConfig, evaluate, oracle_candidates, run_result, write_result
    from recode.evaluation.multi_update import variant_tasks
    from recode.evaluation.passk import parse_ks

    if sum((oracle, samples is not None, model is not None)) != 1:
        raise RecodeError("give exactly one of --oracle, --samples FILE or --model M")
    _check_writable(out)
    prompt_style = prompt_style or ("with_doc" if with_doc else "no_doc")
    records = load_arena(data if data is not None else arena_path())
    tasks = variant_tasks(records, variant, style=prompt_style, seed=seed)[:limit]
    if not tasks:
        raise RecodeError(f"no {variant} tasks to evaluate", hint="check --data and --limit")
    gen = generation_config(n, max_new_tokens, temperature, top_p, seed, batch_size)
    if oracle:
        candidates, label, backend_name = oracle_candidates(tasks), "oracle", "oracle"
    elif samples is not None:
        candidates, label, backend_name = _from_samples(tasks, samples), samples.name, "samples"
    else:
        label, backend_name = str(model), backend
        cache = generations or out.with_suffix(".samples.jsonl")
        tags = {"model": label, "prompt_style": prompt_style, "variant": variant}
        candidates = _generate(tasks, label, backend, base_url, gen, cache, tags)
    counts = [len(c) for c in candidates.values()]
    ks = parse_ks(k) if k is not None else [x for x in DEFAULT_KS if x <= min(counts)]
    exec_config = ExecConfig(
        timeout_s=timeout, memory_mb=memory_mb, workers=workers, isolate_tests=isolate_tests
    )
    verdict_cache = verdicts or out.with_suffix(".verdicts.jsonl")
    if fresh:
        verdict_cache.unlink(missing_ok=True)
    body = evaluate(tasks, candidates, ks=ks, config=exec_config, verdict_cache=verdict_cache)
    config = {
        "data": str(data or arena_path()),
        "prompt_style": prompt_style,
        "seed": seed,
        "limit": limit,
        "n": n if model else max(counts),
        **({"generation": asdict(gen)} if model else {}),
    }
    result = run_result(body, variant=variant, model=label, backend=backend_name, config=config)
    path = write_result(result, out)
    _print_summary(result, oracle)
    reused = body["execution"]["reused_from_cache"]
    if reused:
        console.print(f"reused {reused} cached verdict set(s) from {verdict_cache} (--fresh to re-run them)")
    console.print(f"wrote [bold]{path}[/]")


def _check_writable(out: Path) -> None:
    """Fail before any work if `--out` (and the caches beside it) cannot be written."""
    folder = out.expanduser().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecodeError(f"cannot create the folder for --out {out}: {exc.strerror}") from None
    if out.is_dir() or not os.access(folder, os.W_OK):
        raise RecodeError(
            f"cannot write --out {out}", hint="pass a writable file path, e.g. --out results.json"
        )


def _from_samples(tasks: list[Any], samples: Path) -> dict[str, Any]:
    from recode.evaluation.arena import read_samples

    found = read_samples(samples, [t.task_id for t in tasks])
    missing = len(tasks) - sum(t.task_id in found for t in tasks)
    if missing:
        console.print(f"[yellow]note:[/] {missing} of {len(tasks)} tasks have no samples and are skipped")
    return found


def _generate(
    tasks: list[Any],
    model: str,
    backend: str,
    base_url: str | None,
    gen: Any,
    cache: Path,
    tags: dict[str, str],
) -> dict[str, Any]:
    from recode.evaluation.backends import make_backend
    from recode.evaluation.generation import generate_candidates

    if base_url and backend != "openai":
        raise RecodeError("--base-url only applies to --backend openai")
    built = make_backend(backend, model, **({"base_url": base_url} if base_url else {}))
    console.print(f"generating {gen.n} sample(s) per task with {backend}:{model}; cache: {cache}")
    return generate_candidates(built, tasks, gen, cache=cache, tags=tags)


def _print_summary(result: dict[str, Any], oracle: bool) -> None:
    metrics = result["metrics"]
    table = Table(
        title=escape(f"CodeUpdateArena ({result['variant']}, {result['model']}): {result['n_tasks']} tasks")
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(name, f"{100 * value:.1f}%")
    console.print(table)
    for key in ("package", "update_type"):
        console.print(_group_table(result["groups"][key], key, result["k"][0]))
    execution = result["config"]["execution"]
    console.print(
        f"executed in {execution['duration_s']:.1f} s (isolation: {execution['isolation']}, "
        f"{'one process per test' if execution['isolate_tests'] else 'one process per sample'})"
    )
    failed = [t for t in result["tasks"] if t["c"] < t["n"]]
    if oracle and failed:
        console.print(f"[yellow]{len(failed)} reference solution(s) fail with the update:[/]")
        for task in failed[:40]:
            console.print(
                f"  {task['task_id']}: {task['samples'][0]['detail'][:160]}", markup=False, highlight=False
            )


def _group_table(groups: dict[str, dict[str, float]], key: str, k: int) -> Table:
    names = (f"pass@{k}", f"pass@{k}_without_update", f"upass@{k}", "test_accuracy")
    table = Table(title=f"by {key.replace('_', ' ')}")
    table.add_column(key)
    table.add_column("tasks", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    for group, values in groups.items():
        table.add_row(group, str(values["n_tasks"]), *(f"{100 * values[m]:.1f}" for m in names))
    return table


eval_general.register(app)
