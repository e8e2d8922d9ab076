import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recode.cli import app

runner = CliRunner()

GOOD = {
    "dependency": "numpy",
    "new_version": "2.0",
    "description": "d",
    "update_info": "`np.float_` was removed; use `np.float64`.",
    "old_code": "x = np.float_(1)",
    "new_code": "x = np.float64(1)",
}


def _file(tmp_path: Path, *rows: object) -> Path:
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_help_teaches_each_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "data" in result.output
    for command in ("validate", "show", "convert"):
        result = runner.invoke(app, ["data", command, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output


def test_validate_clean_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "validate", str(_file(tmp_path, GOOD))])
    assert result.exit_code == 0
    assert "OK" in result.output and "1 rows" in result.output


def test_validate_malformed_file_lists_problems_without_traceback(tmp_path: Path) -> None:
    path = _file(tmp_path, GOOD, dict(GOOD, new_code="x = ("), "nope")
    result = runner.invoke(app, ["data", "validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:2: new_code: does not parse as Python" in result.output
    assert f"{path}:3: <row>: not valid JSON" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("content", "message"), [(b"", "the file is empty"), (b"\xff\n", "not UTF-8")])
def test_validate_unusable_files_get_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    result = runner.invoke(app, ["data", "validate", str(path)])
    assert result.exit_code == 1 and message in result.output
    assert "Traceback" not in result.output
    missing = runner.invoke(app, ["data", "validate", str(tmp_path / "absent.jsonl")])
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_validate_real_arena(arena_file: Path) -> None:
    result = runner.invoke(app, ["data", "validate", str(arena_file)])
    assert result.exit_code == 0, result.output
    assert "141 updates / 577 examples" in result.output


def test_show_and_prompt(tmp_path: Path) -> None:
    path = _file(tmp_path, GOOD)
    result = runner.invoke(app, ["data", "show", str(path), "--prompt"])
    assert result.exit_code == 0, result.output
    assert "np.float64" in result.output and "Let me solve this step by step." in result.output
    out_of_range = runner.invoke(app, ["data", "show", str(path), "--index", "3"])
    assert out_of_range.exit_code == 1 and "out of range" in out_of_range.output


def test_show_arena(arena_file: Path) -> None:
    result = runner.invoke(app, ["data", "show", str(arena_file), "--index", "2", "--prompt"])
    assert result.exit_code == 0, result.output
    assert "<doc>" in result.output


def test_convert_both_formats(tmp_path: Path) -> None:
    path = _file(tmp_path, GOOD)
    trl = runner.invoke(app, ["data", "convert", str(path), "--to", "trl", "--out", str(tmp_path / "trl")])
    assert trl.exit_code == 0 and (tmp_path / "trl" / "dataset_info.json").is_file()
    verl = runner.invoke(
        app, ["data", "convert", str(path), "--to", "verl", "-o", str(tmp_path / "v.parquet")]
    )
    assert verl.exit_code == 0 and (tmp_path / "v.parquet").is_file()
    bad = runner.invoke(app, ["data", "convert", str(path), "--to", "onnx", "-o", str(tmp_path / "z")])
    assert bad.exit_code == 1 and "unknown output format" in bad.output


def test_unexpected_errors_are_one_line_and_debug_shows_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("disk on fire")

    monkeypatch.setattr("recode.cli.data.validate_file", broken)
    path = _file(tmp_path, GOOD)
    result = runner.invoke(app, ["data", "validate", str(path)])
    assert result.exit_code == 1
    assert "ValueError: disk on fire" in result.output and "Traceback" not in result.output
    debug = runner.invoke(app, ["--debug", "data", "validate", str(path)])
    assert debug.exit_code == 1 and "Traceback" in debug.output
