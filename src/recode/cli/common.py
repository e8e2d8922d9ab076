"""Pieces every CLI module shares: the console, the `--debug` switch, and error handling.

Why here: each sub-command must turn a `RecodeError` (or a missing file, or Ctrl-C) into one clear line
and a non-zero exit the same way; doing it once keeps the behaviour identical across commands.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

import typer
from rich.console import Console

from recode.errors import RecodeError

console = Console()
err_console = Console(stderr=True)


@dataclass
class _State:
    debug: bool = False


state = _State()


def fail(message: str, hint: str | None = None, code: int = 1) -> typer.Exit:
    """Print `error: message` (and the hint) to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    if hint:
        err_console.print(f"[dim]hint:[/] {hint}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def run_guarded(app: typer.Typer) -> int:
    """Run the Typer app; map user-fixable errors to one line and exit code 1, Ctrl-C to 130."""
    try:
        app(standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        return 130
    except RecodeError as exc:
        if state.debug:
            err_console.print(traceback.format_exc(), highlight=False)
        fail(str(exc).removesuffix(f" ({exc.hint})") if exc.hint else str(exc), exc.hint)
        return 1
    except Exception as exc:
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, click.exceptions.Abort):
            return 1
        if state.debug:
            err_console.print(traceback.format_exc(), highlight=False)
        fail(f"{type(exc).__name__}: {exc}", "re-run with `recode --debug ...` for the traceback")
        return 1
    return 0
