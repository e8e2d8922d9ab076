"""`recode sandbox run FILE`: run one Python file exactly the way the evaluators run model-written code.

Why a command for it: when an evaluation reports `timeout`, `memory` or `crashed` for a sample, a user
needs to rerun that one program under the same limits and isolation to see what happened; `--json`
gives scripts the same record the evaluators store (last stdout line).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.panel import Panel

from recode.cli.common import console, fail
from recode.errors import RecodeError
from recode.sandbox import Sandbox, SandboxLimits, SandboxResult

HELP = "Run untrusted Python safely: limits, isolation, a clear verdict."
app = typer.Typer(help=HELP, no_args_is_help=True)

_STYLE = {"ok": "green", "error": "red", "timeout": "yellow", "memory": "yellow"}


@app.callback()
def _group() -> None:
    """Run untrusted Python safely: limits, isolation, a clear verdict."""


@app.command("run")
def run(
    file: Path = typer.Argument(..., help="Python file to run (as `__main__`, in a fresh scratch dir)."),
    timeout: float = typer.Option(10.0, "--timeout", help="Wall-clock limit in seconds."),
    memory_mb: int = typer.Option(2048, "--memory-mb", help="Memory the program may add, in MB."),
    output_bytes: int = typer.Option(1_000_000, "--output-bytes", help="Cap per stream (head+tail kept)."),
    preload: str = typer.Option(
        "", "--preload", help="Comma-separated modules to import first, as the evaluators do (numpy,torch)."
    ),
    python: str | None = typer.Option(None, "--python", help="Interpreter to run under [default: this one]."),
    isolation: str | None = typer.Option(
        None, "--isolation", help="Force a tier: bwrap | unshare | subprocess [default: strongest here]."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON line (last line)."),
) -> None:
    """Run FILE in the sandbox and report its status, exit code, time, output and isolation tier.

    Exits 0 when the program's status is `ok`, 1 otherwise, e.g.
    `recode sandbox run solution.py --timeout 5 --memory-mb 512 --json`.
    """
    try:
        source = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {file}: {exc}", "pass a readable UTF-8 Python file") from None
    try:
        limits = SandboxLimits(timeout_s=timeout, memory_mb=memory_mb, output_bytes=output_bytes)
        modules = tuple(name.strip() for name in preload.split(",") if name.strip())
        with Sandbox(limits, preload=modules, workers=1, python=python, isolation=isolation) as box:
            result = box.run(source)
    except RecodeError as exc:
        raise fail(exc.message, exc.hint) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        _show(file, result)
    if result.status != "ok":
        raise typer.Exit(1)


def _show(file: Path, result: SandboxResult) -> None:
    """Human-readable verdict: one summary line, the error if any, then the captured streams."""
    style = _STYLE.get(result.status, "bold red")
    truncated = "  (output truncated)" if result.truncated else ""
    console.print(
        f"[{style}]{result.status}[/]  {escape(str(file))}  exit={result.returncode}  "
        f"{result.duration_s:.3f}s  isolation={result.isolation}{truncated}",
        highlight=False,
    )
    if result.error_type:
        console.print(f"[{style}]{escape(result.error_type)}[/]: {escape(result.error_message or '')}")
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if text:
            console.print(Panel(escape(text.rstrip("\n")), title=name, title_align="left", expand=False))
