"""Read HumanEval+ / MBPP+ (the EvalPlus release files) offline into typed tasks.

Why our own reader and not `evalplus.data`: the `evalplus` package pulls in many dependencies and downloads
to a cache on first use; recode only needs its *data format*. The files are read from a path the user gives
or from `$RECODE_DATA_DIR` (`humanevalplus/HumanEvalPlus.jsonl.gz`, `mbppplus/MbppPlus.jsonl.gz`).

MBPP+ stores some inputs as JSON lists where the functions expect tuples, sets or complex numbers; the
release documents, per task, which arguments to convert back. `_MBPP_INPUT_RULES` records those facts so a
solution sees the same argument types as under EvalPlus.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recode.data.loaders import data_dir
from recode.errors import RecodeError

DATASETS: dict[str, tuple[str, str]] = {
    "humaneval": ("humanevalplus", "HumanEvalPlus.jsonl.gz"),
    "mbpp": ("mbppplus", "MbppPlus.jsonl.gz"),
}
"""Dataset name -> (folder under the data dir, file name), as released by EvalPlus."""

RELEASE_URLS: dict[str, str] = {
    "humaneval": "https://github.com/evalplus/humanevalplus_release/releases/download/v0.1.10/HumanEvalPlus.jsonl.gz",
    "mbpp": "https://github.com/evalplus/mbppplus_release/releases/download/v0.2.0/MbppPlus.jsonl.gz",
}
"""Where each release file is published (the versions recode was checked against)."""

KNOWN_RELEASES: dict[str, str] = {
    "42526ec0e7d5f3ee0b06d6ced98f8c8bae3d76519151bfb3d36f79010645bd7f": "HumanEval+ v0.1.10",
    "b54e762755248ca411b523c917fa9f93c07b5ff2966bf60b3917b853926a3dad": "MBPP+ v0.2.0",
}
"""sha256 of the *decompressed* JSONL -> EvalPlus release, so results say which data they were scored on."""

ARENA_SAMPLE_RELATIVE = Path("codeupdatearena") / "sampled_humaneval_task_ids.json"


@dataclass(frozen=True)
class PlusTask:
    """One HumanEval+/MBPP+ problem: the prompt, the reference solution and the two input sets.

    `base_input` are the original benchmark's test inputs, `plus_input` the inputs EvalPlus added; the
    expected outputs are not stored in the release: they come from running `canonical_solution`.
    """

    task_id: str
    prompt: str
    entry_point: str
    canonical_solution: str
    base_input: list[Any]
    plus_input: list[Any]
    atol: float

    @property
    def reference_program(self) -> str:
        """The code EvalPlus runs to obtain expected outputs (prompt followed by the canonical body)."""
        return self.prompt + self.canonical_solution


@dataclass(frozen=True)
class PlusDataset:
    """A loaded release: its name, tasks in file order, source path and content hash."""

    name: str
    tasks: tuple[PlusTask, ...]
    path: Path
    sha256: str

    def select(self, task_ids: Sequence[str] | None = None, limit: int | None = None) -> PlusDataset:
        """A copy restricted to `task_ids` (file order kept) and/or the first `limit`.

        Why unknown ids fail: a typo in `--tasks` would otherwise silently score fewer tasks.
        """
        tasks = self.tasks
        if task_ids is not None:
            wanted = set(task_ids)
            unknown = sorted(wanted - {t.task_id for t in tasks})
            if unknown:
                raise RecodeError(
                    f"{len(unknown)} task id(s) not in {self.path.name}: {', '.join(unknown[:5])}",
                    hint=f"ids look like {tasks[0].task_id}",
                )
            tasks = tuple(t for t in tasks if t.task_id in wanted)
        if limit is not None:
            tasks = tasks[:limit]
        return PlusDataset(self.name, tasks, self.path, self.sha256)


def download_hint(dataset: str) -> str:
    """How to get the release file of `dataset`: the URL, where recode looks for it, or `--data`."""
    folder, filename = _spec(dataset)
    return f"download {RELEASE_URLS[dataset]} to $RECODE_DATA_DIR/{folder}/{filename}, or pass --data PATH"


def default_path(dataset: str) -> Path:
    """Where the release file of `dataset` lives under `$RECODE_DATA_DIR` (a clear error if it does not)."""
    folder, filename = _spec(dataset)
    root = data_dir()
    if root is None:
        raise RecodeError(
            f"no {dataset} data file given and $RECODE_DATA_DIR is not set", hint=download_hint(dataset)
        )
    path = root / folder / filename
    if not path.is_file():
        raise RecodeError(f"{path} does not exist", hint=download_hint(dataset))
    return path


def load_plus(dataset: str, path: str | Path | None = None) -> PlusDataset:
    """Load HumanEval+ (`dataset="humaneval"`) or MBPP+ (`"mbpp"`) from `path` or the data dir."""
    _spec(dataset)
    source = Path(path).expanduser() if path is not None else default_path(dataset)
    if not source.is_file():
        raise RecodeError(f"{source}: no such file", hint=download_hint(dataset))
    raw = gzip.decompress(source.read_bytes()) if source.suffix == ".gz" else source.read_bytes()
    tasks = []
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if line.strip():
            tasks.append(_parse_task(dataset, json.loads(line), f"{source}:{number}"))
    if not tasks:
        raise RecodeError(f"{source}: no tasks", hint=download_hint(dataset))
    return PlusDataset(dataset, tuple(tasks), source, hashlib.sha256(raw).hexdigest())


def arena_sample_ids(path: str | Path | None = None) -> list[str]:
    """HumanEval ids of CodeUpdateArena's specificity sample (`sampled_humaneval_task_ids.json`)."""
    if path is None:
        root = data_dir()
        if root is None:
            raise RecodeError(
                "the arena-sample subset needs $RECODE_DATA_DIR",
                hint=f"export RECODE_DATA_DIR=DIR containing {ARENA_SAMPLE_RELATIVE} "
                "(from github.com/leo-liuzy/CodeUpdateArena)",
            )
        path = root / ARENA_SAMPLE_RELATIVE
    path = Path(path)
    if not path.is_file():
        raise RecodeError(
            f"{path} does not exist",
            hint="it ships with the CodeUpdateArena repository (github.com/leo-liuzy/CodeUpdateArena)",
        )
    ids = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise RecodeError(f'{path}: expected a JSON list of task ids like "HumanEval/0"')
    return ids


def release_name(dataset: PlusDataset) -> str | None:
    """The EvalPlus release this file is byte-identical to (decompressed), or None for a modified copy."""
    return KNOWN_RELEASES.get(dataset.sha256)


def _spec(dataset: str) -> tuple[str, str]:
    if dataset not in DATASETS:
        raise RecodeError(f"unknown dataset {dataset!r}", hint=f"choose one of {', '.join(DATASETS)}")
    return DATASETS[dataset]


def _parse_task(dataset: str, row: dict[str, Any], where: str) -> PlusTask:
    try:
        task_id = row["task_id"]
        base, plus = row["base_input"], row["plus_input"]
        if dataset == "mbpp":
            base, plus = mbpp_restore_inputs(task_id, base), mbpp_restore_inputs(task_id, plus)
        return PlusTask(
            task_id=task_id,
            prompt=row["prompt"],
            entry_point=row["entry_point"],
            canonical_solution=row["canonical_solution"],
            base_input=base,
            plus_input=plus,
            atol=float(row.get("atol") or 0.0),
        )
    except KeyError as exc:
        raise RecodeError(
            f"{where}: missing field {exc.args[0]!r}", hint="is this an EvalPlus release file?"
        ) from None


def _tuples(value: Any) -> tuple[Any, ...]:
    return tuple(value)


def _deep_tuples(value: Any) -> Any:
    return tuple(_deep_tuples(v) for v in value) if isinstance(value, list) else value


def _each_arg(fn: Callable[[Any], Any]) -> Callable[[list[Any]], Any]:
    return lambda args: [fn(a) for a in args]


def _first_arg(fn: Callable[[Any], Any]) -> Callable[[list[Any]], Any]:
    return lambda args: [fn(args[0]), *args[1:]]


def _mbpp_sets(items: list[Any]) -> list[Any]:
    # The release turns empty lists into `{}` (an empty dict); expected outputs were computed that way.
    return [set(item) if isinstance(item, list) and item else {} for item in items]


_RULES: dict[str, Callable[[list[Any]], Any]] = {
    "each_arg_tuple": _each_arg(_tuples),
    "each_arg_list_of_tuples": _each_arg(lambda lst: [tuple(x) for x in lst]),
    "each_arg_tuple_of_tuples": _each_arg(lambda lst: tuple(tuple(x) for x in lst)),
    "first_arg_list_of_tuples": _first_arg(lambda lst: [tuple(x) for x in lst]),
    "first_arg_tuple": _first_arg(_tuples),
    "second_arg_tuple": lambda args: [args[0], tuple(args[1]), *args[2:]],
    "first_arg_sets": lambda args: [_mbpp_sets(args[0])],
    "float_complex": lambda args: (float(args[0]), complex(args[1])),
    "complex": lambda args: [complex(args[0])],
    "first_arg_tuple_of_mixed": lambda args: [tuple(tuple(x) if isinstance(x, list) else x for x in args[0])],
    "dict_values_tuple": lambda args: [{k: tuple(v) for k, v in args[0].items()}, *args[1:]],
    "all_tuples": _deep_tuples,
}

_MBPP_INPUT_RULES: dict[int, str] = {
    **dict.fromkeys(
        (
            2,
            116,
            132,
            143,
            222,
            261,
            273,
            394,
            399,
            421,
            424,
            429,
            470,
            560,
            579,
            596,
            616,
            630,
            726,
            740,
            744,
            809,
        ),
        "each_arg_tuple",
    ),
    **dict.fromkeys(
        (63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780), "each_arg_list_of_tuples"
    ),
    **dict.fromkeys((75, 413, 444, 753), "first_arg_list_of_tuples"),
    **dict.fromkeys((106, 750), "second_arg_tuple"),
    115: "first_arg_sets",
    124: "float_complex",
    **dict.fromkeys((250, 405, 446, 617, 720, 763, 808), "first_arg_tuple"),
    **dict.fromkeys((259, 401, 445), "each_arg_tuple_of_tuples"),
    278: "first_arg_tuple_of_mixed",
    307: "first_arg_tuple",
    722: "dict_values_tuple",
    252: "complex",
    **dict.fromkeys((580, 615, 791), "all_tuples"),
}
"""MBPP+ task number -> how its JSON inputs become the argument types the task was written for."""


def mbpp_restore_inputs(task_id: str, inputs: list[Any]) -> list[Any]:
    """Convert one MBPP+ task's JSON inputs back to tuples/sets/complex where the release says so."""
    rule = _MBPP_INPUT_RULES.get(int(task_id.rsplit("/", 1)[-1]))
    return inputs if rule is None else [_RULES[rule](args) for args in inputs]
