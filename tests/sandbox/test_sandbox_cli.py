"""`recode sandbox run FILE`: the verdict a user reruns by hand, and the JSON line scripts read."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from recode.cli.sandbox import app

runner = CliRunner()


def _program(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "prog.py"
    path.write_text(source)
    return path


def test_json_last_line_is_the_result(tmp_path: Path) -> None:
    path = _program(tmp_path, "print('hello')\n")
    result = runner.invoke(app, ["run", str(path), "--timeout", "5", "--memory-mb", "256", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output.strip().splitlines()[-1])
    assert (record["status"], record["returncode"], record["stdout"]) == ("ok", 0, "hello\n")
    assert {"duration_s", "stderr", "isolation", "truncated", "error_type"} <= set(record)


def test_failing_program_exits_1_with_its_reason(tmp_path: Path) -> None:
    path = _program(tmp_path, "while True:\n    pass\n")
    result = runner.invoke(app, ["run", str(path), "--timeout", "0.5", "--memory-mb", "256", "--json"])
    assert result.exit_code == 1
    record = json.loads(result.output.strip().splitlines()[-1])
    assert (record["status"], record["error_type"]) == ("timeout", "Timeout")


def test_human_output_names_status_and_error(tmp_path: Path) -> None:
    path = _program(tmp_path, "print('partial')\nraise ValueError('bad input')\n")
    result = runner.invoke(app, ["run", str(path), "--timeout", "5", "--memory-mb", "256"])
    assert result.exit_code == 1
    assert "error" in result.output and "ValueError" in result.output and "partial" in result.output


def test_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tmp_path / "absent.py")])
    assert result.exit_code == 1 and "cannot read" in result.output and "Traceback" not in result.output
