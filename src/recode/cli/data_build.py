"""`recode data build`: release notes → execution-verified migration pairs (registered by `cli/data.py`).

The pipeline is imported inside the command so that `recode --help` stays fast and does not need the
sandbox or the `openai` package to import.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from recode.cli.common import console, err_console

if TYPE_CHECKING:
    from recode.data.build.harvest import ReleaseEntry


def build(
    sources: list[str] = typer.Argument(
        ..., help="Release notes: local .md/.rst/.txt/.html files or URLs (a GitHub release page works)."
    ),
    library: str = typer.Option(..., "--library", "-l", help="pip name of the library, e.g. pandas."),
    old_version: str = typer.Option(..., "--from", help="Version the legacy code targets, e.g. 1.5.3."),
    new_version: str = typer.Option(..., "--to", help="Version the migrated code targets, e.g. 2.0.0."),
    output: Path = typer.Option(Path("pairs.jsonl"), "--output", "-o", help="JSONL file of kept pairs."),
    model: str = typer.Option("gpt-4o-mini", "--model", "-m", help="Model name the endpoint serves."),
    base_url: str | None = typer.Option(
        None, "--base-url", help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (vLLM)."
    ),
    api_key_env: str = typer.Option(
        "OPENAI_API_KEY",
        "--api-key-env",
        help="Environment variable holding the key (none needed on localhost).",
    ),
    fmt: str = typer.Option(
        "auto", "--format", help="Release-note format: auto, rst, markdown, github, html, text."
    ),
    work_dir: Path = typer.Option(
        Path(".recode-build"), "--work-dir", help="Holds the reply cache and the per-version environments."
    ),
    find_links: list[str] = typer.Option(
        [], "--find-links", help="Local wheel folder for the environments (repeatable)."
    ),
    index_url: str | None = typer.Option(None, "--index-url", help="Package index for the environments."),
    no_index: bool = typer.Option(False, "--no-index", help="Install only from --find-links (offline)."),
    extra_requirement: list[str] = typer.Option(
        [], "--requirement", help="Also install this into both environments, e.g. 'numpy<2' (repeatable)."
    ),
    python: str = typer.Option(sys.executable, "--python", help="Base interpreter of the environments."),
    installer: str = typer.Option("auto", "--installer", help="auto (uv if installed, else pip), uv or pip."),
    workers: int = typer.Option(4, "--workers", "-j", help="Entries generated and verified in parallel."),
    rpm: float = typer.Option(
        60.0, "--rpm", help="Request starts per minute (0 = no limit, for local servers)."
    ),
    max_retries: int = typer.Option(6, "--max-retries", help="Retries on rate limits, timeouts and 5xx."),
    temperature: float = typer.Option(
        0.2, "--temperature", help="Sampling temperature (part of the cache key)."
    ),
    max_tokens: int = typer.Option(2048, "--max-tokens", help="Reply length cap (part of the cache key)."),
    prompt_template: Path | None = typer.Option(
        None, "--prompt-template", help="Your copy of the packaged prompt_template.md."
    ),
    update_info: str = typer.Option(
        "generated", "--update-info", help="'generated' (model-written doc) or 'entry' (release-note text)."
    ),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds per sandboxed run."),
    memory_mb: int = typer.Option(4096, "--memory-mb", help="Memory limit per sandboxed run."),
    require_observable: bool = typer.Option(
        False,
        "--require-observable",
        help="Reject pairs whose old code still runs on the new version silently.",
    ),
    limit: int | None = typer.Option(
        None, "--limit", help="Process at most N new entries (try the prompt first)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only harvest: list the entries and estimate tokens."
    ),
) -> None:
    """Build execution-verified migration pairs (ReCode format) from release notes, with any LLM.

    1) Harvest: split the release notes into entries and keep API changes (deprecations, removals,
    renames, signature and behaviour changes); a multi-release changelog is cut to (--from, --to].
    --dry-run stops here: it lists the entries and estimates the prompt tokens, sending nothing.

    2) Generate: one request per entry to an OpenAI-compatible endpoint (--base-url, --model, key from
    $OPENAI_API_KEY; a local vLLM server needs none) for description, update_info, old_code and new_code,
    by the prompt in recode/data/build/prompt_template.md (--prompt-template). Retries, --rpm rate limit;
    replies are cached in --work-dir, so a re-run costs nothing.

    3) Verify: in one cached environment per version (uv, else venv + pip; --find-links/--no-index for
    local wheels), run old_code on --from and new_code on --to in the sandbox; keep the pair only if both
    complete, and record whether old_code errors, warns or prints something else on --to.

    4) Write: kept pairs to --output (ReCode fields plus a provenance object, deduplicated), every entry
    and its verdict (rejections keep their reason) to OUTPUT.log.jsonl, counts to OUTPUT.summary.json and
    a summary table. Interrupted? Run the same command again: finished entries are skipped.

    Example, pandas 1.5.3 to 2.0.0 (try a few entries first with --limit 20):

        recode data build v2.0.0.rst -l pandas --from 1.5.3 --to 2.0.0 --dry-run

        recode data build v2.0.0.rst -l pandas --from 1.5.3 --to 2.0.0 --requirement "numpy<2" -o pandas.jsonl

        recode data validate pandas.jsonl

    Walk-through and rejection reasons: docs/data-build.md.
    """
    from recode.data.build.harvest import harvest
    from recode.errors import RecodeError

    if dry_run:  # needs neither the sandbox nor an endpoint
        _dry_run(harvest(sources, library, old_version, new_version, fmt=fmt), prompt_template)
        return
    from recode.data.build.envs import EnvSettings
    from recode.data.build.generate import GeneratorConfig
    from recode.data.build.pipeline import UPDATE_INFO_SOURCES, BuildConfig, run_build
    from recode.data.build.verify import VerifyConfig

    if update_info not in UPDATE_INFO_SOURCES:
        raise RecodeError(
            f"--update-info {update_info!r}", hint=f"use one of: {', '.join(UPDATE_INFO_SOURCES)}"
        )
    config = BuildConfig(
        sources=tuple(sources),
        library=library,
        old_version=old_version,
        new_version=new_version,
        output=output,
        generator=GeneratorConfig(
            model=model,
            base_url=base_url,
            api_key_env=api_key_env,
            temperature=temperature,
            max_tokens=max_tokens,
            requests_per_minute=rpm,
            max_retries=max_retries,
            cache_dir=work_dir / "cache",
            template=prompt_template,
        ),
        envs=EnvSettings(
            root=work_dir / "envs",
            python=python,
            find_links=tuple(find_links),
            index_url=index_url,
            no_index=no_index,
            extra_requirements=tuple(extra_requirement),
            installer=installer,
        ),
        verify=VerifyConfig(timeout_s=timeout, memory_mb=memory_mb, require_observable=require_observable),
        fmt=fmt,
        workers=workers,
        limit=limit,
        update_info=update_info,
    )
    summary = run_build(config, console=err_console)
    console.print(summary.table())
    if not summary.entries_found:
        err_console.print(
            "[yellow]no API-relevant entries found[/]: check --from/--to against the release headings, "
            "or force a parser with --format (see --dry-run)"
        )
    console.print(f"kept pairs: {output}   every verdict: {config.log_path}   counts: {config.summary_path}")


def _dry_run(entries: list[ReleaseEntry], template_path: Path | None) -> None:
    """Show what would be sent, and a token estimate (≈4 characters per token) to price a run."""
    from rich.table import Table

    from recode.data.build.generate import PromptTemplate

    template = PromptTemplate.load(template_path)
    table = Table(title=f"{len(entries)} API-relevant entries")
    for name in ("kind", "section", "entry"):
        table.add_column(name, overflow="fold")
    prompt_chars = 0
    for entry in entries:
        prompt_chars += sum(len(m["content"]) for m in template.messages(entry))
        table.add_row(entry.kind, entry.section, entry.text[:160].replace("\n", " "))
    console.print(table)
    kinds = Counter(entry.kind for entry in entries)
    console.print("by kind: " + ", ".join(f"{kind} {n}" for kind, n in kinds.most_common()))
    console.print(
        f"≈{prompt_chars // 4} prompt tokens in total (+ ≈400 reply tokens per entry); nothing was sent."
    )
