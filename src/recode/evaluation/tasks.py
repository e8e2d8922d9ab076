"""What one CodeUpdateArena task is, independent of how it is prompted for or judged.

Why a separate record: the standard benchmark, the multi-update variants (`multi_update`) and every
candidate source share one shape (updates to enact, imports, unit tests, reference, prompt), so the
program builder and the scorer never need to know which variant they are looking at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from recode.data.prompts import arena_messages
from recode.data.schemas import ArenaRecord, ArenaUpdate


@dataclass(frozen=True)
class ArenaTask:
    """Everything needed to prompt for and judge one (possibly multi-update) CodeUpdateArena task.

    `updates` are all enacted in the program (the first one is the task's own, used for grouping);
    `unit_tests` are single-function test sources run one by one; `reference` is the oracle solution.
    """

    task_id: str
    updates: tuple[ArenaUpdate, ...]
    imports: tuple[str, ...]
    unit_tests: tuple[str, ...]
    reference: str
    messages: tuple[dict[str, str], ...] = field(compare=False)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def package(self) -> str:
        return "+".join(dict.fromkeys(u.package for u in self.updates))

    @property
    def update_type(self) -> str:
        return "+".join(dict.fromkeys(u.update_type for u in self.updates))


def standard_tasks(records: Sequence[ArenaRecord], style: str = "with_doc") -> list[ArenaTask]:
    """One task per program-synthesis example, with its own update enacted (the benchmark as published)."""
    return [
        ArenaTask(
            task_id=ex.prog_syn_id,
            updates=(rec.update,),
            imports=ex.imports,
            unit_tests=ex.unit_tests,
            reference=ex.ref_solution,
            messages=tuple(arena_messages(rec.update, ex, style)),
        )
        for rec in records
        for ex in rec.examples
    ]
