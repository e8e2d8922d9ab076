"""The `build` command function (registered by the lead as `recode data build`): help and dry run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from build_helpers import FakeOpenAI, tagged_reply
from release_note_snippets import PANDAS_RST
from typer.testing import CliRunner

from recode.cli.data_build import build
from recode.errors import RecodeError

app = typer.Typer()
app.command()(build)
app.command("noop")(lambda: None)  # two commands, so `build` is addressed by name as under `recode data`
runner = CliRunner()


def test_help_teaches_the_flow() -> None:
    result = runner.invoke(app, ["build", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for words in (
        "Harvest",
        "Generate",
        "Verify",
        "Write",
        "--base-url",
        "--find-links",
        "--dry-run",
        "recode data validate",
    ):
        assert words in text


def test_dry_run_lists_entries_and_sends_nothing(tmp_path: Path) -> None:
    notes = tmp_path / "v2.0.0.rst"
    notes.write_text(PANDAS_RST)
    args = [
        "build",
        str(notes),
        "-l",
        "pandas",
        "--from",
        "1.5.3",
        "--to",
        "2.0.0",
        "--dry-run",
        "-o",
        str(tmp_path / "pairs.jsonl"),
    ]
    result = runner.invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "5 API-relevant entries" in result.output and "nothing was sent" in result.output
    assert "by kind: deprecation 2, removal 2, api-change 1" in result.output
    assert not (tmp_path / "pairs.jsonl").exists()


def test_user_mistakes_are_recode_errors(tmp_path: Path, sandbox: None) -> None:
    base = ["build", str(tmp_path / "missing.md"), "-l", "a", "--from", "1", "--to", "2"]
    bad_option = runner.invoke(app, [*base, "--update-info", "bad"])
    assert isinstance(bad_option.exception, RecodeError) and "--update-info" in str(bad_option.exception)
    missing = runner.invoke(app, [*base, "--dry-run"])
    assert isinstance(missing.exception, RecodeError)
    assert "no such release-notes file" in str(missing.exception)


NOTES = """\
fakelib 2.0 release notes
=========================

Removals
--------

* ``fakelib.old_fn`` has been removed; use ``fakelib.new_fn`` instead.
* ``fakelib.other_fn`` was renamed to ``fakelib.another_fn``.

Bug fixes
---------

* Fixed a crash on empty input.
"""


def _reply(messages: list[dict[str, str]]) -> str:
    entry = messages[-1]["content"].split("<entry>")[1]
    if "old_fn" in entry:
        return tagged_reply(
            "import fakelib\nprint(fakelib.old_fn(2))", "import fakelib\nprint(fakelib.new_fn(2))"
        )
    # the model invents the new name: the migrated code fails under 2.0, so the pair is rejected
    return tagged_reply(
        "import fakelib\nprint(fakelib.other_fn(2))", "import fakelib\nprint(fakelib.next_fn(2))"
    )


@pytest.mark.slow
def test_build_command_end_to_end_then_validate(
    openai_server: FakeOpenAI,
    work_dir: Path,
    fake_wheels: Path,
    fake_pythons: tuple[Path, Path],
    tmp_path: Path,
    sandbox: None,
) -> None:
    """The issue's acceptance run, through the registered commands: `recode data build` keeps one pair,
    rejects one whose new code fails under v2, and `recode data validate` accepts what it wrote."""
    from recode.cli.data import app as data_app

    openai_server.responder = _reply
    notes = tmp_path / "notes.rst"
    notes.write_text(NOTES)
    output = tmp_path / "pairs.jsonl"
    args = ["build", str(notes), "-l", "fakelib", "--from", "1.0", "--to", "2.0", "-o", str(output)]
    args += [
        "--base-url",
        openai_server.base_url,
        "--model",
        "fake",
        "--rpm",
        "0",
        "--work-dir",
        str(work_dir),
    ]
    args += ["--find-links", str(fake_wheels), "--no-index", "--installer", "pip"]
    result = runner.invoke(data_app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(re.sub(r"[│┃|]", " ", result.output).split())  # the summary table without its borders
    assert "verified and kept 1" in text and "rejected: new_code_fails_on_new_version 1" in text
    assert len(openai_server.requests) == 2 and len(output.read_text().splitlines()) == 1
    validated = runner.invoke(data_app, ["validate", str(output)])
    assert validated.exit_code == 0, validated.output
