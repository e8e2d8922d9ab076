"""`recode data build` end to end: harvest → generate → verify → write, resumable at every entry.

Files written next to `--output` (say `pairs.jsonl`):
- `pairs.jsonl`: kept pairs in the ReCode format plus a `provenance` object, one per line;
- `pairs.log.jsonl`: one line per processed entry (kept, rejected with its reason, duplicate, or error),
  the audit trail and the resume state: a re-run skips every entry logged there except errors;
- `pairs.summary.json`: the counts of the last run.
Both JSONL files are appended and flushed as each entry finishes, so a crash loses at most the entries in
flight, and their replies are already in the generation cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from recode import __version__
from recode.data.build.envs import EnvCache, EnvSettings
from recode.data.build.generate import (
    GenerationError,
    Generator,
    GeneratorConfig,
    ParsedReply,
    check_syntax,
    parse_reply,
    resolve_api_key,
)
from recode.data.build.harvest import ReleaseEntry, harvest
from recode.data.build.verify import SandboxRunner, Verification, VerifyConfig, verify_pair
from recode.data.schemas import MIGRATION_FIELDS
from recode.errors import RecodeError

UPDATE_INFO_SOURCES: tuple[str, ...] = ("generated", "entry")
Verifier = Callable[[str, str], Verification]  # (old_code, new_code) -> verdict
RETRIED_STATUSES = frozenset({"error"})  # a resumed run tries these entries again


@dataclass(frozen=True)
class BuildConfig:
    """Everything one build needs; the CLI fills it from its options."""

    sources: tuple[str, ...]
    library: str
    old_version: str
    new_version: str
    output: Path
    generator: GeneratorConfig
    envs: EnvSettings = field(default_factory=EnvSettings)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    fmt: str = "auto"
    workers: int = 4
    limit: int | None = None  # process at most this many new entries (try a prompt on a few first)
    update_info: str = "generated"  # "entry": use the release-note text itself as `update_info`
    progress: bool = True

    @property
    def log_path(self) -> Path:
        return self.output.with_name(_stem(self.output) + ".log.jsonl")

    @property
    def summary_path(self) -> Path:
        return self.output.with_name(_stem(self.output) + ".summary.json")


@dataclass
class BuildSummary:
    """Counts a person reads after a build (and `pairs.summary.json` keeps)."""

    entries_found: int = 0
    already_done: int = 0
    generated: int = 0
    cached: int = 0
    kept: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    rows_in_output: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "entries_found": self.entries_found,
            "already_done": self.already_done,
            "generated": self.generated,
            "cached": self.cached,
            "kept": self.kept,
            "rejected": dict(sorted(self.rejected.items())),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "rows_in_output": self.rows_in_output,
        }

    def table(self) -> Table:
        table = Table(title="recode data build", show_header=False)
        table.add_column("what")
        table.add_column("count", justify="right")
        table.add_row("entries found", str(self.entries_found))
        table.add_row("already done (earlier runs)", str(self.already_done))
        table.add_row("generated (from cache)", f"{self.generated} ({self.cached})")
        table.add_row("[green]verified and kept[/green]", str(self.kept))
        for reason, count in sorted(self.rejected.items()):
            table.add_row(f"[red]rejected:[/red] {reason}", str(count))
        table.add_row("tokens in / out (new requests)", f"{self.prompt_tokens} / {self.completion_tokens}")
        table.add_row("rows in output file", str(self.rows_in_output))
        return table


@dataclass(frozen=True)
class _Outcome:
    entry: ReleaseEntry
    status: str  # "kept" | "rejected" | "error"
    reason: str | None = None
    detail: str | None = None
    row: dict[str, Any] | None = None
    log: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    cached: bool = False
    generated: bool = False


def run_build(config: BuildConfig, *, console: Console | None = None) -> BuildSummary:
    """Harvest, generate, verify and write; returns the counts of this run."""
    console = console or Console(stderr=True)
    entries = harvest(config.sources, config.library, config.old_version, config.new_version, fmt=config.fmt)
    summary = BuildSummary(entries_found=len(entries))
    for path in (config.output, config.log_path):
        _repair_tail(path)
    generator = Generator(config.generator)  # loads the template: a bad one fails before anything runs
    done = _done_entries(config.log_path)
    todo = [entry for entry in entries if entry.entry_id not in done]
    summary.already_done = len(entries) - len(todo)
    _warn_other_settings(entries, done, generator, config, console)
    todo = todo[: config.limit] if config.limit is not None else todo
    seen = {_pair_key(row) for row in _read_jsonl(config.output)}
    if todo:
        resolve_api_key(config.generator)  # a missing key fails before the environments are built
        envs = EnvCache(config.envs)
        with console.status(
            f"preparing environments for {config.library} {config.old_version} and "
            f"{config.new_version} (first time only)"
        ):
            pythons = (
                envs.python_for(config.library, config.old_version),
                envs.python_for(config.library, config.new_version),
            )
        with SandboxRunner(workers=config.workers) as runner:

            def verifier(old_code: str, new_code: str) -> Verification:
                return verify_pair(old_code, new_code, *pythons, config.verify, runner=runner)

            for outcome in _process_all(todo, config, generator, verifier, console):
                _record(outcome, config, summary, seen)
    summary.rows_in_output = sum(1 for _ in _read_jsonl(config.output))
    _write_summary(config.summary_path, summary)
    return summary


def _process_all(
    todo: list[ReleaseEntry],
    config: BuildConfig,
    generator: Generator,
    verifier: Verifier,
    console: Console,
) -> Iterator[_Outcome]:
    """Outcomes as they finish; a user-fixable error (bad key, unknown model) stops the whole build."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[tally]}"),
        TimeElapsedColumn(),
    )
    tally: Counter[str] = Counter()
    with (
        Progress(*columns, console=console, disable=not config.progress) as progress,
        ThreadPoolExecutor(max_workers=max(1, config.workers)) as pool,
    ):
        task = progress.add_task("generate + verify", total=len(todo), tally="")
        futures: list[Future[_Outcome]] = [
            pool.submit(_process, entry, config, generator, verifier) for entry in todo
        ]
        try:
            for future in as_completed(futures):
                outcome = future.result()
                tally[outcome.status] += 1
                progress.update(
                    task, advance=1, tally=", ".join(f"{k} {v}" for k, v in sorted(tally.items()))
                )
                yield outcome
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _process(entry: ReleaseEntry, config: BuildConfig, generator: Generator, verifier: Verifier) -> _Outcome:
    """One entry from prompt to verdict; never raises for a problem that concerns this entry alone
    (an unexpected failure is logged as an error and retried on the next run, the build goes on)."""
    try:
        return _process_entry(entry, config, generator, verifier)
    except RecodeError:
        raise  # the user must fix something (key, model name): stop the build
    except Exception as exc:
        return _Outcome(entry, "error", "internal_error", f"{type(exc).__name__}: {exc}"[:300])


def _process_entry(
    entry: ReleaseEntry, config: BuildConfig, generator: Generator, verifier: Verifier
) -> _Outcome:
    try:
        generation = generator.generate(entry)
    except GenerationError as exc:
        return _Outcome(entry, "error", "generation_failed", str(exc))
    meta = {"prompt_sha256": generation.prompt_sha256, "cached": generation.cached}
    common = {"usage": generation.usage, "cached": generation.cached, "generated": True}
    parsed = parse_reply(generation.reply)
    problem = _static_problem(parsed)
    if problem:
        reason, detail = problem
        return _Outcome(entry, "rejected", reason, detail, log={**meta, "pair": _pair(parsed)}, **common)
    assert parsed.old_code is not None and parsed.new_code is not None
    verdict = verifier(parsed.old_code, parsed.new_code)
    log = {**meta, "pair": _pair(parsed), "verification": verdict.to_dict()}
    if not verdict.kept:
        return _Outcome(entry, "rejected", verdict.reason, verdict.detail, log=log, **common)
    row = _row(entry, parsed, config, meta | {"verification": verdict.to_dict()})
    return _Outcome(entry, "kept", row=row, log=log, **common)


def _static_problem(parsed: ParsedReply) -> tuple[str, str | None] | None:
    """Checks that need no execution, cheapest first."""
    if parsed.skip_reason:
        return "model_skipped", parsed.skip_reason
    if not parsed.complete:
        return "unparseable_reply", "no old_code/new_code found in the reply"
    assert parsed.old_code is not None and parsed.new_code is not None
    for name, code in (("old_code", parsed.old_code), ("new_code", parsed.new_code)):
        error = check_syntax(code)
        if error:
            return "syntax_error", f"{name}: {error}"
    if _normalize(parsed.old_code) == _normalize(parsed.new_code):
        return "identical_code", "old_code and new_code are the same"
    return None


def _row(
    entry: ReleaseEntry, parsed: ParsedReply, config: BuildConfig, meta: dict[str, Any]
) -> dict[str, Any]:
    """A ReCode-format row; `provenance` says where every field came from and what the runs showed."""
    generated_info = config.update_info == "generated" and parsed.update_info
    row = {
        "dependency": entry.library,
        "new_version": entry.new_version,
        "description": parsed.description or "",
        "update_info": parsed.update_info if generated_info else entry.text,
        "old_code": parsed.old_code,
        "new_code": parsed.new_code,
        "provenance": {
            "source": entry.source,
            "section": entry.section,
            "release": entry.release,
            "kind": entry.kind,
            "entry": entry.text,
            "entry_id": entry.entry_id,
            "old_version": entry.old_version,
            "model": config.generator.model,
            "base_url": config.generator.base_url,
            "update_info_from": "model" if generated_info else "release_notes",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "recode_version": __version__,
            **meta,
        },
    }
    assert all(name in row for name in MIGRATION_FIELDS)
    return row


def _record(outcome: _Outcome, config: BuildConfig, summary: BuildSummary, seen: set[str]) -> None:
    """Update counts and append to the output and the log (main thread only: no write races)."""
    summary.generated += outcome.generated
    summary.cached += outcome.cached and outcome.generated
    summary.prompt_tokens += 0 if outcome.cached else outcome.usage.get("prompt_tokens", 0)
    summary.completion_tokens += 0 if outcome.cached else outcome.usage.get("completion_tokens", 0)
    status, reason, detail = outcome.status, outcome.reason, outcome.detail
    if outcome.row is not None:
        key = _pair_key(outcome.row)
        if key in seen:
            status, reason, detail = "duplicate", "duplicate", "same old_code/new_code as an earlier pair"
        else:
            seen.add(key)
            _append(config.output, outcome.row)
            summary.kept += 1
    if status != "kept":
        summary.rejected[reason or status] += 1
    log = {
        "entry_id": outcome.entry.entry_id,
        "status": status,
        "reason": reason,
        "detail": detail,
        "entry": outcome.entry.to_dict(),
        **outcome.log,
    }
    _append(config.log_path, log)


def _done_entries(log_path: Path) -> dict[str, str | None]:
    """Entries finished by earlier runs into the same output, with the request key each was made with."""
    return {
        str(row["entry_id"]): row.get("prompt_sha256")
        for row in _read_jsonl(log_path)
        if "entry_id" in row and row.get("status") not in RETRIED_STATUSES
    }


def _warn_other_settings(
    entries: list[ReleaseEntry],
    done: dict[str, str | None],
    generator: Generator,
    config: BuildConfig,
    console: Console,
) -> None:
    """Resuming skips finished entries even when the model, prompt or sampling changed since: say so,
    because "I edited the prompt and re-ran, and nothing happened" is otherwise a mystery."""
    keys = {entry.entry_id: done.get(entry.entry_id) for entry in entries}
    other = sum(1 for entry in entries if keys[entry.entry_id] not in (None, generator.request_key(entry)))
    if other:
        console.print(
            f"[yellow]{other} finished entries in {config.log_path} were made with another model, prompt "
            "or sampling setting; they are skipped.[/] To redo them, write to a new --output."
        )


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a JSONL file we wrote; a torn last line (crash mid-write) is skipped, not fatal."""
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                yield row


def _append(path: Path, row: dict[str, Any]) -> None:
    """Append one line and fsync, so a finished entry survives a crash of the build."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        handle.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


def _repair_tail(path: Path) -> None:
    """Cut a torn last line (a crash mid-write) so the file stays valid JSONL for the validator."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


def _write_summary(path: Path, summary: BuildSummary) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary.to_dict(), indent=1) + "\n", encoding="utf-8")


def _pair(parsed: ParsedReply) -> dict[str, str | None]:
    return {
        "description": parsed.description,
        "update_info": parsed.update_info,
        "old_code": parsed.old_code,
        "new_code": parsed.new_code,
    }


def _pair_key(row: dict[str, Any]) -> str:
    """Pairs that differ only in whitespace, blank lines or comments are the same pair."""
    parts = [
        str(row.get("dependency", "")).lower(),
        _normalize(row.get("old_code") or ""),
        _normalize(row.get("new_code") or ""),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _normalize(code: str) -> str:
    lines = (re.sub(r"\s+#.*$", "", line).strip() for line in code.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("#"))


def _stem(path: Path) -> str:
    return path.name[: -len(".jsonl")] if path.name.endswith(".jsonl") else path.stem
