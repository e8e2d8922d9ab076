"""Pieces every CLI module shares: the console, the `--debug` switch, and error handling.

Why here: each sub-command must turn a `RecodeError` (or a missing file, or Ctrl-C) into one clear line
and a non-zero exit the same way; doing it once keeps the behaviour identical across commands.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup

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


def report_error(exc: BaseException) -> None:
    """Print an exception as the one-line error a user sees (full traceback only with `--debug`)."""
    if state.debug:
        err_console.print("".join(traceback.format_exception(exc)), highlight=False)
    if isinstance(exc, RecodeError):
        fail(exc.message, exc.hint)
    else:
        fail(f"{type(exc).__name__}: {exc}", "re-run with `recode --debug ...` to see the traceback")


class GuardedGroup(TyperGroup):
    """Root command group that turns any error raised by a sub-command into one line and exit 1.

    Doing it in the group (not around `app()`) means the console script, `python -m recode` and typer's
    test runner all behave the same way.
    """

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # `recode … | head`: the reader left; like other Unix tools, stop quietly. Point stdout at
            # /dev/null so the interpreter's final flush does not raise again on the closed pipe.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(141) from None
        except Exception as exc:  # the whole point: no bare traceback reaches a user
            if type(exc).__module__.startswith(("typer", "click")):
                raise  # usage errors: the framework prints them itself
            report_error(exc)
            raise typer.Exit(1) from None


def generation_config(
    n: int, max_new_tokens: int, temperature: float, top_p: float, seed: int, batch_size: int
) -> Any:
    """The backends' `GenerationConfig` from the sampling options every `recode eval` command takes.

    Imported on use: `--help` and the oracle paths should not pay for loading the generation backends.
    """
    from recode.evaluation.backends import GenerationConfig

    return GenerationConfig(
        n=n,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        batch_size=batch_size,
    )
