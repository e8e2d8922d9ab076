import json
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

from recode.data.convert import trl_rows, verl_rows, write_converted
from recode.data.prompts import PREFILL, migration_messages
from recode.data.schemas import MigrationExample
from recode.errors import RecodeError

A = MigrationExample(
    "numpy",
    "2.0",
    "d",
    "info",
    "x = np.float_(1)",
    "x = np.float64(1)",
    extra={"exec_tests": "assert x == 1", "provenance": {"model": "m"}},
)
B = MigrationExample("pandas", "2.0", "d", "info", "df.append(o)", "pd.concat([df, o])")


def test_trl_rows_carry_prompt_target_and_extras() -> None:
    rows = trl_rows([A, B])
    assert rows[0]["prompt"] == migration_messages(A) and rows[0]["prompt"][-1]["content"] == PREFILL
    assert rows[0]["target"] == A.new_code
    assert rows[0]["exec_tests"] == "assert x == 1"
    assert json.loads(rows[0]["provenance"]) == {"model": "m"}
    assert rows[1]["exec_tests"] is None  # every row has every column, as Arrow needs
    assert rows[0].keys() == rows[1].keys()


def test_verl_rows_layout() -> None:
    row = verl_rows([A], split="test")[0]
    assert row["data_source"] == "recode/migration"
    assert [m["role"] for m in row["prompt"]] == ["system", "user"]
    assert row["reward_model"] == {"style": "rule", "ground_truth": A.new_code}
    assert row["extra_info"]["prefill"] == PREFILL and row["extra_info"]["split"] == "test"


def test_write_trl_and_verl(tmp_path: Path) -> None:
    trl_dir = write_converted([A, B], tmp_path / "trl", "trl")
    loaded = datasets.load_from_disk(str(trl_dir))
    assert loaded.num_rows == 2 and loaded[1]["target"] == B.new_code
    parquet = write_converted([A, B], tmp_path / "verl", "verl")
    assert parquet == tmp_path / "verl" / "train.parquet"
    table = pq.read_table(parquet).to_pylist()
    assert table[1]["reward_model"]["ground_truth"] == B.new_code
    with pytest.raises(RecodeError, match="unknown output format"):
        write_converted([A], tmp_path / "x", "jax")
    with pytest.raises(RecodeError, match="nothing to convert"):
        write_converted([], tmp_path / "y", "trl")
