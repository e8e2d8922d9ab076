import json
from pathlib import Path

import datasets
import pytest

from recode.data.validate import validate_file
from recode.errors import RecodeError

GOOD = {
    "dependency": "numpy",
    "new_version": "2.0",
    "description": "",
    "update_info": "`np.float_` was removed; use `np.float64`.",
    "old_code": "import numpy as np\nx = np.float_(1)",
    "new_code": "import numpy as np\nx = np.float64(1)",
}


def _write(tmp_path: Path, rows: list, name: str = "d.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def _messages(path: Path, kind: str | None = None) -> list[str]:
    return [str(p) for p in validate_file(path, kind).problems]


def test_clean_migration_file(tmp_path: Path) -> None:
    report = validate_file(_write(tmp_path, [GOOD, dict(GOOD, new_version=">=2.0,<3")]))
    assert report.ok and report.kind == "migration" and report.rows == 2
    assert "2 rows" in report.summary()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"old_code": "def f(:\n  pass"}, "old_code: does not parse as Python (line 1"),
        ({"new_code": "x = (1"}, "new_code: does not parse as Python"),
        ({"new_version": "the latest"}, "new_version: 'the latest' is neither a version"),
        ({"dependency": 3}, "dependency: expected a string, got int"),
        ({"update_info": "  "}, "update_info: empty"),
    ],
)
def test_migration_rules(tmp_path: Path, change: dict, expected: str) -> None:
    path = _write(tmp_path, [GOOD, dict(GOOD, **change)])
    messages = _messages(path)
    assert len(messages) == 1 and messages[0].startswith(f"{path}:2: {expected}")


def test_missing_field_not_json_not_object_and_duplicates(tmp_path: Path) -> None:
    no_code = {k: v for k, v in GOOD.items() if k != "new_code"}
    path = _write(tmp_path, [GOOD, "{oops", no_code, "[1, 2]", GOOD])
    assert _messages(path) == [
        f"{path}:2: <row>: not valid JSON (Expecting property name enclosed in double quotes, column 2)",
        f"{path}:3: new_code: missing",
        f"{path}:4: <row>: expected a JSON object, got list",
        f"{path}:5: <row>: duplicate of line 1",
    ]


def test_whole_file_problems_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(RecodeError, match="no such file"):
        validate_file(tmp_path / "absent.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(RecodeError, match="the file is empty"):
        validate_file(empty)
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n\n")
    with pytest.raises(RecodeError, match="no rows found"):
        validate_file(blank)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(json.dumps(GOOD).encode() + b"\n" + '{"dependency": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(RecodeError, match=r"latin.jsonl:2: not UTF-8"):
        validate_file(latin)
    with pytest.raises(RecodeError, match="unknown kind"):
        validate_file(_write(tmp_path, [GOOD]), kind="images")


def test_parquet_and_json_array(tmp_path: Path) -> None:
    parquet = tmp_path / "d.parquet"
    datasets.Dataset.from_list([GOOD, dict(GOOD, new_code="x = (")]).to_parquet(str(parquet))
    assert _messages(parquet) == [
        f"{parquet}:2: new_code: does not parse as Python (line 1: '(' was never closed)"
    ]
    array = tmp_path / "d.json"
    array.write_text(json.dumps([GOOD]))
    assert validate_file(array).ok


def _arena_row() -> dict:
    update = {
        "description": "math.sin takes degrees",
        "rationale": "",
        "docstring": "math.sin(x, unit='radian')",
        "signature": "math.sin(x, unit='radian')",
        "imports": ["import math", "old_sin = math.sin"],
        "implementation": "def sin(x, unit='radian'):\n    return old_sin(x)",
        "update_type": "add-argument",
        "function_path": "math.sin",
        "package": "math",
        "update_id": "[math.sin]:[add-argument]:[update-0]",
    }
    example = {
        "scenario": "s",
        "problem": "p",
        "solution_signature": "def f(x):",
        "unit_tests": ["def test_a():\n    assert f(0) == 0"],
        "imports": ["import math"],
        "ref_solution": "def f(x):\n    return math.sin(x)",
        "prog_syn_id": "[math.sin]:[add-argument]:[update-0]:[prog_syn-0]",
    }
    return {
        "update": update,
        "prog_syn_examples": [example, dict(example, prog_syn_id=example["prog_syn_id"] + "b")],
    }


def test_arena_clean_and_autodetected(tmp_path: Path) -> None:
    report = validate_file(_write(tmp_path, [_arena_row()]))
    assert report.ok and report.kind == "arena" and (report.updates, report.examples) == (1, 2)
    assert report.summary().endswith("1 updates / 2 examples")


def test_arena_rules(tmp_path: Path) -> None:
    row = _arena_row()
    row["update"]["implementation"] = "def sin(:"
    row["prog_syn_examples"][1]["unit_tests"] = ["def test_b(:"]
    row["prog_syn_examples"][1]["prog_syn_id"] = row["prog_syn_examples"][0]["prog_syn_id"]
    del row["prog_syn_examples"][0]["ref_solution"]
    again = _arena_row()
    again["update"]["imports"] = 5
    path = _write(tmp_path, [row, again])
    messages = _messages(path)
    assert f"{path}:1: update.implementation: does not parse as Python (line 1: invalid syntax)" in messages
    assert f"{path}:1: prog_syn_examples[0].ref_solution: missing" in messages
    assert any(
        m.startswith(f"{path}:1: prog_syn_examples[1].unit_tests[0]: does not parse") for m in messages
    )
    assert any(m.startswith(f"{path}:1: prog_syn_examples[1].prog_syn_id: ") for m in messages)
    assert f"{path}:2: update.imports: expected a list of strings or a string, got int" in messages
    assert any(m.startswith(f"{path}:2: update.update_id: ") and "line 1" in m for m in messages)


def test_forced_kind_reports_missing_arena_fields(tmp_path: Path) -> None:
    path = _write(tmp_path, [GOOD])
    assert _messages(path, kind="arena") == [f"{path}:1: update: missing or not an object"]


def test_real_arena_file_is_clean(arena_file: Path) -> None:
    report = validate_file(arena_file)
    assert report.ok, report.problems[:5]
    assert (report.updates, report.examples) == (141, 577)
