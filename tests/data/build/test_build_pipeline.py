"""`recode data build` end to end, offline: release notes → fake LLM server → real envs and sandbox →
a file the validator accepts; then a resumed run that costs no request and loses nothing."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
from build_helpers import FakeOpenAI, tagged_reply
from rich.console import Console

from recode.data.build.envs import EnvSettings
from recode.data.build.generate import GeneratorConfig
from recode.data.schemas import MigrationExample
from recode.data.validate import validate_file

pipeline = pytest.importorskip(
    "recode.data.build.pipeline", reason="recode.sandbox is not available yet", exc_type=ImportError
)
BuildConfig, run_build = pipeline.BuildConfig, pipeline.run_build

NOTES = """\
# fakelib 2.0.0

### Removed
- `old_fn(x)` has been removed; use `new_fn(x)` instead.
- `other_fn(x)` was renamed to `another_fn(x)`.
- Dropped support for building with the legacy `setup.py` entry points.

### Deprecated
- `legacy_fn(x)` is deprecated and now emits a `DeprecationWarning`.

### Fixed
- A crash in the parser when the input is empty.
"""

REPLIES = {
    # kept: the legacy call fails on 2.0
    "old_fn": tagged_reply(
        "import fakelib\nprint(fakelib.old_fn(21))",
        "import fakelib\nprint(fakelib.new_fn(21))",
        "Doubles a number, moving from old_fn to new_fn.",
        "`fakelib.old_fn(x)` was removed in 2.0; call `fakelib.new_fn(x)`, which returns the same value.",
    ),
    # rejected: the model invents `renamed_fn`, which 2.0 does not have
    "other_fn": tagged_reply(
        "import fakelib\nprint(fakelib.other_fn(1))", "import fakelib\nprint(fakelib.renamed_fn(1))"
    ),
    # rejected by the model itself
    "setup.py": "<skip>packaging change, nothing to run</skip>",
    # kept: the legacy call still works on 2.0 but warns
    "legacy_fn": tagged_reply(
        "import fakelib\nassert fakelib.legacy_fn(3) == 2\nprint('ok')",
        "import fakelib\nassert fakelib.new_fn(3) - 4 == 2\nprint('ok')",
    ),
}


def _answer(messages: list[dict[str, str]]) -> str:
    entry = messages[-1]["content"].split("<entry>")[1]
    return next(reply for key, reply in REPLIES.items() if key in entry)


@pytest.mark.slow
def test_build_end_to_end_and_resume(
    openai_server: FakeOpenAI,
    env_settings: EnvSettings,
    fake_pythons: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    openai_server.responder = _answer
    notes = tmp_path / "CHANGELOG.md"
    notes.write_text(NOTES)
    config = BuildConfig(
        sources=(str(notes),),
        library="fakelib",
        old_version="1.0",
        new_version="2.0",
        output=tmp_path / "out" / "pairs.jsonl",
        generator=GeneratorConfig(
            model="fake-model",
            base_url=openai_server.base_url,
            cache_dir=tmp_path / "cache",
            requests_per_minute=0,
        ),
        envs=env_settings,  # the session's environments: created once, reused here
        workers=2,
        progress=False,
    )
    summary = run_build(config)

    assert summary.entries_found == 4 and len(openai_server.requests) == 4
    assert summary.kept == 2
    assert dict(summary.rejected) == {"new_code_fails_on_new_version": 1, "model_skipped": 1}
    assert (summary.prompt_tokens, summary.completion_tokens) == (2000, 800)

    report = validate_file(config.output)
    assert report.ok, [str(p) for p in report.problems]
    rows = [json.loads(line) for line in config.output.read_text().splitlines()]
    by_call = {("old_fn" if "old_fn" in r["old_code"] else "legacy_fn"): r for r in rows}
    kept = MigrationExample.from_dict(by_call["old_fn"])
    assert (kept.dependency, kept.new_version) == ("fakelib", "2.0")
    assert kept.update_info.startswith("`fakelib.old_fn(x)` was removed")
    provenance = by_call["old_fn"]["provenance"]
    assert provenance["model"] == "fake-model" and provenance["source"] == str(notes)
    assert provenance["verification"]["update_observable"] == "error"
    assert by_call["legacy_fn"]["provenance"]["verification"]["update_observable"] == "warning"

    log = [json.loads(line) for line in config.log_path.read_text().splitlines()]
    rejected = next(row for row in log if row["reason"] == "new_code_fails_on_new_version")
    assert "renamed_fn" in rejected["detail"] and "renamed_fn" in rejected["pair"]["new_code"]
    assert json.loads(config.summary_path.read_text())["kept"] == 2

    # A crash after a pair was written but before its log line (plus a torn line) loses nothing
    # and duplicates nothing; finished entries are skipped and cached replies cost no request.
    kept_id = by_call["old_fn"]["provenance"]["entry_id"]
    config.log_path.write_text(
        "".join(json.dumps(row) + "\n" for row in log if row["entry_id"] != kept_id) + '{"entry_id": "torn'
    )
    with config.output.open("a") as handle:
        handle.write('{"dependency": "torn')
    again = run_build(config)
    assert len(openai_server.requests) == 4
    assert (again.already_done, again.generated, again.cached, again.kept) == (3, 1, 1, 0)
    assert dict(again.rejected) == {"duplicate": 1} and again.rows_in_output == 2
    assert validate_file(config.output).ok
    assert run_build(config).already_done == 4


def _config(tmp_path: Path, server: FakeOpenAI, env_settings: EnvSettings, notes: str) -> BuildConfig:
    path = tmp_path / "CHANGELOG.md"
    path.write_text(notes)
    generator = GeneratorConfig(
        model="fake-model", base_url=server.base_url, cache_dir=tmp_path / "cache", requests_per_minute=0
    )
    return BuildConfig(
        sources=(str(path),),
        library="fakelib",
        old_version="1.0",
        new_version="2.0",
        output=tmp_path / "pairs.jsonl",
        generator=generator,
        envs=env_settings,
        progress=False,
    )


def test_unexpected_failure_is_logged_and_retried(
    openai_server: FakeOpenAI,
    env_settings: EnvSettings,
    fake_pythons: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    openai_server.responder = _answer
    config = _config(tmp_path, openai_server, env_settings, "## Removed\n- `old_fn(x)` has been removed.\n")

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("sandbox exploded")

    monkeypatch.setattr("recode.data.build.pipeline.verify_pair", broken)
    first = run_build(config)
    assert dict(first.rejected) == {"internal_error": 1} and first.rows_in_output == 0
    log = json.loads(config.log_path.read_text())
    assert (log["status"], log["detail"]) == ("error", "OSError: sandbox exploded")
    monkeypatch.undo()
    second = run_build(config)  # errors are not "done": the entry is tried again, from the cache
    assert (second.already_done, second.cached, second.kept) == (0, 1, 1)
    assert len(openai_server.requests) == 1


def test_duplicate_pairs_are_written_once(
    openai_server: FakeOpenAI,
    env_settings: EnvSettings,
    fake_pythons: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    notes = "## Removed\n- `old_fn(x)` has been removed.\n- `old_fn` is gone; call `new_fn` instead.\n"
    reply = REPLIES["old_fn"]
    reworded = reply.replace("import fakelib\n", "import fakelib  # the library\n\n")  # same pair
    openai_server.responder = lambda messages: reply if "has been" in messages[-1]["content"] else reworded
    config = _config(tmp_path, openai_server, env_settings, notes)
    summary = run_build(config)
    assert summary.entries_found == 2 and summary.kept == 1 and dict(summary.rejected) == {"duplicate": 1}


def test_resume_with_another_model_says_what_it_skips(
    openai_server: FakeOpenAI,
    env_settings: EnvSettings,
    fake_pythons: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    openai_server.responder = _answer
    config = _config(tmp_path, openai_server, env_settings, "## Removed\n- `old_fn(x)` has been removed.\n")
    assert run_build(config).kept == 1
    other = dataclasses.replace(config, generator=dataclasses.replace(config.generator, model="other-model"))
    out = io.StringIO()
    again = run_build(other, console=Console(file=out, width=200))
    assert again.already_done == 1 and len(openai_server.requests) == 1
    assert "1 finished entries" in out.getvalue() and "another model, prompt" in out.getvalue()
    out = io.StringIO()
    run_build(config, console=Console(file=out, width=200))  # same settings: nothing to say
    assert "another model" not in out.getvalue()
