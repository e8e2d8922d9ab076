import json
from pathlib import Path

import datasets
import pytest

from recode.data.loaders import is_local_source, load_arena, load_migration
from recode.data.schemas import MIGRATION_FIELDS, ArenaRecord, MigrationExample
from recode.errors import RecodeError

ROWS = [
    {
        "dependency": "numpy",
        "new_version": "2.0",
        "description": "np.float_ removed",
        "update_info": "`np.float_` was removed; use `np.float64`.",
        "old_code": "import numpy as np\nx = np.float_(1)",
        "new_code": "import numpy as np\nx = np.float64(1)",
        "source_id": 7,
    },
    {
        "dependency": "pandas",
        "new_version": "2.0.0",
        "description": "append removed",
        "update_info": "`DataFrame.append` was removed; use `pd.concat`.",
        "old_code": "df = df.append(other)",
        "new_code": "df = pd.concat([df, other])",
        "source_id": 8,
    },
]


def _check(examples: list[MigrationExample]) -> None:
    assert [e.dependency for e in examples] == ["numpy", "pandas"]
    assert examples[0].extra == {"source_id": 7}
    assert examples[1].to_dict() == ROWS[1]


def test_migration_from_jsonl_json_parquet_and_datasets(tmp_path: Path) -> None:
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n\n")
    as_json = tmp_path / "m.json"
    as_json.write_text(json.dumps(ROWS))
    parquet = tmp_path / "m.parquet"
    datasets.Dataset.from_list(ROWS).to_parquet(str(parquet))
    saved = tmp_path / "saved"
    datasets.Dataset.from_list(ROWS).save_to_disk(str(saved))
    for source in (jsonl, str(jsonl), as_json, parquet, saved, datasets.Dataset.from_list(ROWS)):
        _check(load_migration(source))


def test_migration_missing_field_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    bad = {k: v for k, v in ROWS[0].items() if k != "new_code"}
    path.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(RecodeError, match=r"m.jsonl:2: missing field\(s\): new_code"):
        load_migration(path)


def test_missing_file_and_bad_json_are_recode_errors(tmp_path: Path) -> None:
    with pytest.raises(RecodeError, match="no such file"):
        load_migration(tmp_path / "absent.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json}\n")
    with pytest.raises(RecodeError, match=r"bad.jsonl:1: not valid JSON"):
        load_migration(bad)


@pytest.mark.parametrize(
    ("source", "local"),
    [
        ("zjunlp/ReCode-Train-Data", False),
        ("configs/data/pairs.jsonl", True),  # a relative file path, not a hub repo called data/pairs.jsonl
        ("data/train.parquet", True),
        ("./pairs", True),
        ("~/pairs", True),
        ("${RECODE_DATA_DIR}/pairs", True),
        ("owner/name", False),
    ],
)
def test_local_paths_and_hub_ids_are_told_apart(source: str, local: bool) -> None:
    assert is_local_source(source) is local


def test_a_missing_relative_path_says_where_it_was_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RecodeError) as info:
        load_migration("configs/data/pairs.jsonl")  # never sent to the hub
    assert "no such file" in info.value.message and str(tmp_path) in info.value.message


def test_hub_failure_becomes_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(RecodeError, match="could not load 'someone/ReCode-data'"):
        load_migration("someone/ReCode-data")


def test_arena_local_copy_counts(arena_file: Path) -> None:
    records = load_arena(arena_file)
    assert len(records) == 141
    assert sum(len(r.examples) for r in records) == 577
    assert {r.update.package for r in records} == {"math", "numpy", "re", "torch", "itertools", "sympy"}


def _ungroup(record: ArenaRecord) -> list[dict]:
    """The hub release's shape: one example per row, imports/tests joined into strings."""
    grouped = record.to_dict()
    update = dict(grouped["update"], imports="\n".join(grouped["update"]["imports"]))
    rows = []
    for ex in grouped["prog_syn_examples"]:
        ex = dict(ex, imports="\n".join(ex["imports"]), unit_tests="\n\n".join(ex["unit_tests"]))
        rows.append({"update": update, "update_id": update["update_id"], **ex})
    return rows


def test_arena_hub_ungrouped_rows_give_the_same_records(arena_file: Path) -> None:
    records = load_arena(arena_file)
    flat = [row for record in records for row in _ungroup(record)]
    assert load_arena(datasets.Dataset.from_list(flat)) == records


def test_arena_round_trips_through_to_dict(arena_file: Path) -> None:
    records = load_arena(arena_file)[:5]
    assert [ArenaRecord.from_dict(r.to_dict()) for r in records] == records


def test_migration_fields_are_the_papers() -> None:
    assert MIGRATION_FIELDS == (
        "dependency",
        "new_version",
        "description",
        "update_info",
        "old_code",
        "new_code",
    )
