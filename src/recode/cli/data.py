"""`recode data …`: check, inspect and convert datasets."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax

from recode.cli.common import console, err_console
from recode.cli.data_build import build
from recode.data.convert import CONVERT_FORMATS, write_converted
from recode.data.loaders import iter_rows, load_arena, load_migration
from recode.data.prompts import ARENA_STYLES, arena_messages, migration_messages
from recode.data.validate import KINDS, validate_file
from recode.errors import RecodeError

app = typer.Typer(
    help=(
        "Check, inspect and convert datasets: ReCode migration pairs (`dependency, new_version, "
        "description, update_info, old_code, new_code`) and CodeUpdateArena."
    ),
    no_args_is_help=True,
)

KIND_HELP = f"Dataset kind ({', '.join(KINDS)}); auto-detected from the first row when omitted."


@app.command()
def validate(
    file: Path = typer.Argument(..., help="JSONL, JSON or Parquet file (or a saved `datasets` folder)."),
    kind: str | None = typer.Option(None, "--kind", help=KIND_HELP),
    max_problems: int = typer.Option(200, help="Print at most this many problems (all are counted)."),
) -> None:
    """Check every row: JSON, UTF-8, required fields and types, code that parses, version specs, duplicates.

    Exits 0 with a summary when the file is clean, 1 with one `FILE:LINE: field: problem` line per
    problem otherwise, e.g. `recode data validate ../shared/data/codeupdatearena/arena.jsonl`.
    """
    report = validate_file(file, kind)
    if report.ok:
        console.print(f"[green]OK[/green] {escape(report.summary())}", soft_wrap=True)
        return
    for problem in report.problems[:max_problems]:
        err_console.print(escape(str(problem)), highlight=False, soft_wrap=True)
    hidden = len(report.problems) - max_problems
    if hidden > 0:
        err_console.print(f"... and {hidden} more")
    err_console.print(f"[red]{len(report.problems)} problem(s)[/red] in {escape(report.summary())}")
    raise typer.Exit(1)


@app.command()
def show(
    file: str = typer.Argument(..., help="Local file or Hugging Face hub id."),
    index: int = typer.Option(0, "--index", "-i", help="Which row (0-based) to show."),
    kind: str | None = typer.Option(None, "--kind", help=KIND_HELP),
    prompt: bool = typer.Option(False, "--prompt", help="Show the chat messages the model would get."),
    style: str = typer.Option("with_doc", help=f"Arena prompt style ({', '.join(ARENA_STYLES)})."),
) -> None:
    """Pretty-print one row, and with `--prompt` the exact prompt messages built from it."""
    kind = kind or _guess_kind(file)
    if kind == "arena":
        records = load_arena(file)
        record = records[_bounded(index, len(records))]
        example = record.examples[0]
        _code_panel(
            f"update {record.update.update_id} ({record.update.update_type})", record.update.implementation
        )
        _code_panel(f"example {example.prog_syn_id}: reference solution", example.ref_solution)
        messages = arena_messages(record.update, example, style)
    else:
        examples = load_migration(file)
        example_m = examples[_bounded(index, len(examples))]
        console.print(
            Panel(escape(example_m.update_info), title=f"{example_m.dependency} {example_m.new_version}")
        )
        _code_panel("old_code", example_m.old_code)
        _code_panel("new_code", example_m.new_code)
        messages = migration_messages(example_m)
    if prompt:
        for message in messages:
            console.print(Panel(escape(message["content"]), title=message["role"]))


@app.command()
def convert(
    file: str = typer.Argument(..., help="ReCode-format migration pairs: local file or hub id."),
    to: str = typer.Option(..., "--to", help=f"Output format: {' or '.join(CONVERT_FORMATS)}."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (trl) or .parquet file/folder (verl)."),
    split: str = typer.Option("train", help="Split name recorded in verl's extra_info and the file name."),
) -> None:
    """Write migration pairs in a trainer's format.

    `--to trl` saves a `datasets` folder of rows with a conversational `prompt` (ending in the assistant
    pre-fill) and `target`, ready for `recode train` or any TRL trainer. `--to verl` writes verl's RL
    parquet layout (`prompt`, `reward_model.ground_truth`, `extra_info`) for verl's DAPO recipe with
    `recode.training.verl_reward` as the custom reward.
    """
    examples = load_migration(file)
    written = write_converted(examples, out, to, split)
    console.print(f"wrote {len(examples)} rows ({to}) to {escape(str(written))}")


def _guess_kind(source: str) -> str:
    """Arena rows carry an `update` object; peek at the first row only."""
    for _, row in iter_rows(source):
        return "arena" if "update" in row else "migration"
    raise RecodeError(f"{source}: no rows", hint="a dataset needs at least one row")


def _bounded(index: int, size: int) -> int:
    if not 0 <= index < size:
        raise RecodeError(
            f"--index {index} is out of range", hint=f"the file has {size} rows (0..{size - 1})"
        )
    return index


def _code_panel(title: str, code: str) -> None:
    console.print(Panel(Syntax(code, "python", word_wrap=True), title=escape(title)))


app.command("build")(build)
