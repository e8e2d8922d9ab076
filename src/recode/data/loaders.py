"""Load the two dataset kinds from a local file or the Hugging Face hub into typed records.

Why one reader for every source: users keep data as JSONL, JSON, Parquet, an in-memory `datasets.Dataset`
or a hub id, and every layer above wants the same typed records; errors name the file and line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from recode.data.schemas import ArenaRecord, MigrationExample
from recode.errors import RecodeError

DATA_DIR_ENV = "RECODE_DATA_DIR"
ARENA_RELATIVE = Path("codeupdatearena") / "arena.jsonl"
LOCAL_SUFFIXES = (".jsonl", ".json", ".parquet")


def data_dir() -> Path | None:
    """The folder named by `$RECODE_DATA_DIR` (set by `make test` to `../shared/data`), if any."""
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value).expanduser() if value else None


def arena_path() -> Path:
    """Local CodeUpdateArena JSONL under the data folder; a clear error if it is not there."""
    root = data_dir()
    if root is None:
        raise RecodeError(
            "no CodeUpdateArena file given and $RECODE_DATA_DIR is not set",
            hint="pass --data PATH_OR_HUB_ID, or export RECODE_DATA_DIR=/path/to/data "
            "(containing codeupdatearena/arena.jsonl)",
        )
    path = root / ARENA_RELATIVE
    if not path.is_file():
        raise RecodeError(f"{path} does not exist", hint=f"$RECODE_DATA_DIR must contain {ARENA_RELATIVE}")
    return path


def is_local_source(source: str | Path) -> bool:
    """Whether a dataset name means a local file or folder rather than a hub id such as `owner/name`.

    Why one rule: the loaders, dry runs and ablations must agree, or a mistyped local path would be
    sent to the hub (and a dry run would call it fine). Local: it exists, has a data-file suffix, or
    starts like a path (`.`, `/`, `~`, `$`).
    """
    text = str(source)
    return (
        Path(text).expanduser().exists()
        or text.endswith(LOCAL_SUFFIXES)
        or text.startswith((".", "/", "~", "$"))
    )


def missing_file(source: str | Path) -> RecodeError:
    """The error for a local dataset path that does not exist, saying where a relative path was looked for."""
    where = "" if Path(source).expanduser().is_absolute() else f" (relative paths are read from {Path.cwd()})"
    hint = "check the path, or pass a hub id like owner/name"
    return RecodeError(f"{source}: no such file{where}", hint=hint)


def iter_rows(source: str | Path | Any, split: str = "train") -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield `(line_or_row_number, row)` from a local file, an in-memory dataset, or a hub id.

    Line numbers are 1-based file lines for JSONL (so errors read `FILE:LINE`), row numbers otherwise.
    """
    if not isinstance(source, (str, Path)):
        yield from enumerate((dict(r) for r in source), start=1)
        return
    path = Path(source).expanduser()
    if path.exists():
        yield from _iter_local(path)
    elif is_local_source(source):
        raise missing_file(source)
    else:
        yield from enumerate(_load_hub(str(source), split), start=1)


def _iter_local(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if path.is_dir():
        yield from enumerate((dict(r) for r in _load_saved_dataset(path)), start=1)
        return
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        yield from enumerate(pq.read_table(path).to_pylist(), start=1)
        return
    text = _read_text(path)
    if path.suffix == ".json" and text.lstrip().startswith("["):
        rows = json.loads(text)
        yield from enumerate(rows, start=1)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecodeError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise RecodeError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
        yield number, row


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RecodeError(
            f"{path}: not UTF-8 (byte {exc.start} is {exc.object[exc.start : exc.start + 1]!r})",
            hint="re-encode the file as UTF-8",
        ) from None


def _load_saved_dataset(path: Path) -> Iterable[dict[str, Any]]:
    import datasets

    loaded = datasets.load_from_disk(str(path))
    if isinstance(loaded, datasets.DatasetDict):
        loaded = loaded[next(iter(loaded))]
    return loaded


def _load_hub(repo_id: str, split: str) -> Iterable[dict[str, Any]]:
    import datasets

    try:
        return datasets.load_dataset(repo_id, split=split)
    except Exception as exc:  # offline, missing repo, missing split: all end the same way for the user
        raise RecodeError(
            f"could not load '{repo_id}' (split '{split}') from the Hugging Face hub: {exc}",
            hint="check the id and your network, or download it once and pass the local file",
        ) from None


def load_migration(source: str | Path | Any, split: str = "train") -> list[MigrationExample]:
    """ReCode training pairs (`dependency, new_version, description, update_info, old_code, new_code`)."""
    examples = []
    for number, row in iter_rows(source, split):
        try:
            examples.append(MigrationExample.from_dict(row))
        except KeyError as exc:
            raise RecodeError(
                f"{_where(source, number)}: {exc.args[0]}",
                hint="run `recode data validate FILE` for a full report",
            ) from None
    return examples


def load_arena(source: str | Path | Any | None = None, split: str = "test") -> list[ArenaRecord]:
    """CodeUpdateArena updates with their program-synthesis examples (default: the local copy).

    Accepts the grouped rows of the GitHub release (`update`, `prog_syn_examples`) and the hub's
    ungrouped rows (`leo-liuzy/CodeUpdateArena`: one example per row beside its `update`), which are
    grouped by `update_id` here so both give the same records.
    """
    rows = list(iter_rows(arena_path() if source is None else source, split))
    if rows and "prog_syn_examples" not in rows[0][1]:
        rows = list(enumerate(_group_ungrouped(r for _, r in rows), start=1))
    records = []
    for number, row in rows:
        try:
            records.append(ArenaRecord.from_dict(row))
        except (KeyError, TypeError) as exc:
            raise RecodeError(
                f"{_where(source, number)}: not a CodeUpdateArena row ({exc})",
                hint="run `recode data validate FILE --kind arena` for a full report",
            ) from None
    return records


def _group_ungrouped(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    grouped: dict[str, dict[str, Any]] = {}
    for row in rows:
        update = row["update"]
        entry = grouped.setdefault(update["update_id"], {"update": update, "prog_syn_examples": []})
        entry["prog_syn_examples"].append({k: v for k, v in row.items() if k not in ("update", "update_id")})
    return list(grouped.values())


def _where(source: Any, number: int) -> str:
    return f"{source}:{number}" if isinstance(source, (str, Path)) else f"row {number}"
