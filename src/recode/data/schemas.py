"""Typed records for the two dataset kinds recode works with.

Why dataclasses and not dicts: every layer above (prompts, rewards, evaluation, training) reads these
fields, and a typo in a dict key fails late and silently; a frozen dataclass fails at construction,
where the loader can say which file and line was wrong.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any

_TEST_BOUNDARY = re.compile(r"\n\s*\n(?=(?:#[^\n]*\n)*def )")

MIGRATION_FIELDS: tuple[str, ...] = (
    "dependency",
    "new_version",
    "description",
    "update_info",
    "old_code",
    "new_code",
)
"""Required fields of a ReCode training row, in the order the paper's release uses."""


@dataclass(frozen=True)
class MigrationExample:
    """One version-migration pair: legacy code plus update notes in, migrated code out.

    `extra` keeps any further columns of the source row (ids, `provenance`, checks for the exec reward)
    so that nothing a dataset carries is lost on the way to the trainer.
    """

    dependency: str
    new_version: str
    description: str
    update_info: str
    old_code: str
    new_code: str
    extra: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> MigrationExample:
        """Build from a raw row; unknown keys go to `extra`. Raises KeyError naming a missing field."""
        missing = [name for name in MIGRATION_FIELDS if name not in row]
        if missing:
            raise KeyError(f"missing field(s): {', '.join(missing)}")
        extra = {k: v for k, v in row.items() if k not in MIGRATION_FIELDS and k != "extra"}
        if isinstance(row.get("extra"), dict):
            extra.update(row["extra"])
        return cls(**{name: row[name] for name in MIGRATION_FIELDS}, extra=extra or None)

    def to_dict(self) -> dict[str, Any]:
        """Flat row in the ReCode format (extra columns inlined), the inverse of `from_dict`."""
        row = {name: getattr(self, name) for name in MIGRATION_FIELDS}
        row.update(self.extra or {})
        return row


ARENA_UPDATE_FIELDS: tuple[str, ...] = (
    "description",
    "rationale",
    "docstring",
    "signature",
    "imports",
    "implementation",
    "update_type",
    "function_path",
    "package",
    "update_id",
)

ARENA_EXAMPLE_FIELDS: tuple[str, ...] = (
    "scenario",
    "problem",
    "solution_signature",
    "unit_tests",
    "imports",
    "ref_solution",
    "prog_syn_id",
)


@dataclass(frozen=True)
class ArenaUpdate:
    """A (fictitious) API update from CodeUpdateArena: its documentation and the code that enacts it.

    `imports` are statements (they also save the old function, e.g. `old_sin = math.sin`) that must run
    before `implementation`; `function_path` is the dotted path the update replaces (e.g. `math.sin`).
    """

    description: str
    rationale: str
    docstring: str
    signature: str
    imports: tuple[str, ...]
    implementation: str
    update_type: str
    function_path: str
    package: str
    update_id: str

    @property
    def function_name(self) -> str:
        """Last component of `function_path` (`sin` for `math.sin`)."""
        return self.function_path.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class ArenaExample:
    """A program-synthesis task that can only be solved by using its update."""

    scenario: str
    problem: str
    solution_signature: str
    unit_tests: tuple[str, ...]
    imports: tuple[str, ...]
    ref_solution: str
    prog_syn_id: str


@dataclass(frozen=True)
class ArenaRecord:
    """One update with all its program-synthesis examples (one line of `arena.jsonl`)."""

    update: ArenaUpdate
    examples: tuple[ArenaExample, ...]

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> ArenaRecord:
        """Build from the benchmark's nested JSON (`update`, `prog_syn_examples`).

        `imports` and `unit_tests` may be lists (GitHub release) or joined strings (hub release:
        imports joined by newlines, tests by blank lines); both become tuples of statements/tests.
        """
        upd = {name: row["update"][name] for name in ARENA_UPDATE_FIELDS}
        upd["imports"] = _split_imports(upd["imports"])
        examples = []
        for ex in row["prog_syn_examples"]:
            fields_ = {name: ex[name] for name in ARENA_EXAMPLE_FIELDS}
            fields_["imports"] = _split_imports(fields_["imports"])
            fields_["unit_tests"] = _split_tests(fields_["unit_tests"])
            examples.append(ArenaExample(**fields_))
        return cls(update=ArenaUpdate(**upd), examples=tuple(examples))

    def to_dict(self) -> dict[str, Any]:
        """The benchmark's nested JSON shape, so records round-trip through files."""
        update = asdict(self.update)
        update["imports"] = list(self.update.imports)
        examples = []
        for ex in self.examples:
            d = {f.name: getattr(ex, f.name) for f in fields(ex)}
            d["unit_tests"], d["imports"] = list(ex.unit_tests), list(ex.imports)
            examples.append(d)
        return {"update": update, "prog_syn_examples": examples}


def _split_imports(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(line for line in value.splitlines() if line.strip())
    return tuple(value)


def _split_tests(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Joined test strings are split at blank lines before a `def` (or its comments), never inside a test.

    Trailing whitespace is dropped in both shapes so the two releases give identical records.
    """
    parts = _TEST_BOUNDARY.split(value) if isinstance(value, str) else value
    return tuple(part.strip("\n").rstrip() for part in parts if part.strip())
