"""`recode` command line: one root Typer app; each area registers its commands in its own module.

Why one root: `recode --help` is the map of the toolkit, so every sub-command is discoverable from it.
Errors a user can fix (`RecodeError`) print as one red line and exit 1; `--debug` shows the traceback.
"""

from __future__ import annotations

import typer

from recode import __version__
from recode.cli import analysis as analysis_cli
from recode.cli import data as data_cli
from recode.cli import demo as demo_cli
from recode.cli import eval as eval_cli
from recode.cli import sandbox as sandbox_cli
from recode.cli import train as train_cli
from recode.cli.common import GuardedGroup, console, state

app = typer.Typer(
    name="recode",
    cls=GuardedGroup,
    help=(
        "Teach code LLMs to use the API-update docs they are given (ReCode), and measure whether they do.\n\n"
        "Typical flow: `recode data validate FILE` -> `recode train --config configs/X.yaml` -> "
        "`recode eval arena --model OUT_DIR`. Start with `make demo` for a 10-minute CPU tour."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        console.print(f"recode {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks instead of one-line errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    state.debug = debug


app.add_typer(data_cli.app, name="data")
app.add_typer(eval_cli.app, name="eval")
app.add_typer(sandbox_cli.app, name="sandbox")
train_cli.register(app)
demo_cli.register(app)
analysis_cli.register(app)


def main() -> None:
    """Console-script entry point (`recode`)."""
    app()
