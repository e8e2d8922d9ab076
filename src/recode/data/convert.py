"""Turn ReCode-format migration examples into what trainers consume: TRL rows, a saved HF dataset, and
verl's parquet layout.

Why here and not in `training`: both our trainer and external ones (verl) need the same prompt and the
same ground truth; building them in one place keeps a TRL run and a verl run of one dataset comparable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from recode.data.prompts import PREFILL, migration_messages
from recode.data.schemas import MigrationExample
from recode.errors import RecodeError

VERL_DATA_SOURCE = "recode/migration"
CONVERT_FORMATS: tuple[str, ...] = ("trl", "verl")


def _scalar_extras(example: MigrationExample) -> dict[str, Any]:
    """Extra columns Arrow can store uniformly: scalars as-is, anything nested as a JSON string."""
    out: dict[str, Any] = {}
    for key, value in (example.extra or {}).items():
        scalar = value is None or isinstance(value, (str, int, float, bool))
        out[key] = value if scalar else json.dumps(value, ensure_ascii=False)
    return out


def trl_rows(examples: Iterable[MigrationExample]) -> list[dict[str, Any]]:
    """Rows for TRL's GRPO/SFT trainers: conversational `prompt` ending in the assistant pre-fill,
    `target` (the migrated code the correctness rewards compare against) and the other columns, which
    TRL passes to reward functions as keyword arguments (`exec_setup`, `exec_tests`, ...)."""
    rows = []
    for ex in examples:
        row = {"prompt": migration_messages(ex), "target": ex.new_code}
        row.update({"dependency": ex.dependency, "new_version": ex.new_version})
        row.update(_scalar_extras(ex))
        rows.append(row)
    keys = {key for row in rows for key in row}
    return [{key: row.get(key) for key in sorted(keys)} for row in rows]


def verl_rows(examples: Iterable[MigrationExample], split: str = "train") -> list[dict[str, Any]]:
    """Rows in verl's RL-dataset layout (`data_source`, `prompt`, `ability`, `reward_model`, `extra_info`).

    verl appends the generation prompt itself and cannot continue an assistant turn, so the pre-fill is
    left out of `prompt` and recorded in `extra_info.prefill`; `recode.training.verl_reward` accepts
    completions with or without it.
    """
    rows = []
    for index, ex in enumerate(examples):
        extra = {"split": split, "index": index, "prefill": PREFILL, **ex.to_dict()}
        rows.append(
            {
                "data_source": VERL_DATA_SOURCE,
                "prompt": migration_messages(ex)[:-1],
                "ability": "code-migration",
                "reward_model": {"style": "rule", "ground_truth": ex.new_code},
                "extra_info": {k: _jsonable(v) for k, v in extra.items()},
            }
        )
    return rows


def _jsonable(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else json.dumps(value)


def write_converted(examples: list[MigrationExample], out: Path, to: str, split: str = "train") -> Path:
    """Write `examples` as `to` ("trl": a `datasets` folder; "verl": one parquet file); return the path."""
    import datasets  # heavy import, only for the command that needs it

    if to not in CONVERT_FORMATS:
        raise RecodeError(f"unknown output format {to!r}", hint=f"use one of: {', '.join(CONVERT_FORMATS)}")
    if not examples:
        raise RecodeError("nothing to convert: the input has no rows")
    if to == "trl":
        datasets.Dataset.from_list(trl_rows(examples)).save_to_disk(str(out))
        return out
    if out.suffix != ".parquet":
        out = out / f"{split}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(verl_rows(examples, split)).to_parquet(str(out))
    return out
