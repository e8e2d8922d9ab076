"""Multi-update variants of CodeUpdateArena, derived deterministically from the single-update benchmark.

Why derived: the ReCode paper's 20 multi-API cases were never published, so we build two honest
substitutes from the public tasks (documented in docs/multi-update.md):

* `distractors`: a task's prompt carries its own update plus 1-3 updates of *other* functions, in a
  seeded random order. All of them are enacted when the tests run (the model lives in a world where every
  documented update happened), so using a distractor API by mistake fails like it would for real.
* `composite`: two tasks whose updates touch different functions are patched in together and solved in
  one answer; the answer must pass every test of both tasks.

Two updates are only combined when they can coexist in one program: different function paths and
names, no clashing top-level names, and neither task's code (reference, tests, update implementation)
touches the other update's function, so enacting one update cannot change what the other's tests expect.
"""

from __future__ import annotations

import ast
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from functools import cache

from recode.data.prompts import arena_messages, arena_update_doc, arena_user_prompt
from recode.data.schemas import ArenaExample, ArenaRecord, ArenaUpdate
from recode.errors import RecodeError
from recode.evaluation.programs import RENAME, new_function_name, top_level_names
from recode.evaluation.tasks import ArenaTask, standard_tasks

VARIANTS: tuple[str, ...] = ("standard", "distractors", "composite")
COMPOSITE_SEPARATOR = " && "
MAX_DISTRACTORS = 3


def distractor_tasks(
    records: Sequence[ArenaRecord], *, style: str = "with_doc", seed: int = 0
) -> list[ArenaTask]:
    """Every example once, its prompt padded with 1-3 compatible updates of other functions."""
    portable = _portable_updates(records)
    tasks = []
    for rec in records:
        for ex in rec.examples:
            rng = random.Random(f"{seed}:distractors:{ex.prog_syn_id}")
            pool = [u for u in portable if _compatible(rec.update, ex, u)]
            rng.shuffle(pool)
            wanted = rng.randint(1, MAX_DISTRACTORS)
            chosen: list[ArenaUpdate] = []
            for upd in pool:
                if len(chosen) == wanted:
                    break
                if all(_coexist(upd, other) for other in chosen):
                    chosen.append(upd)
            if not chosen:
                continue
            tasks.append(_distractor_task(rec.update, ex, chosen, rng, style))
    return tasks


def _distractor_task(
    own: ArenaUpdate, ex: ArenaExample, distractors: list[ArenaUpdate], rng: random.Random, style: str
) -> ArenaTask:
    shown = [own, *distractors]
    rng.shuffle(shown)
    return ArenaTask(
        task_id=ex.prog_syn_id,
        updates=(own, *distractors),
        imports=_merge_imports(ex.imports, *(d.imports for d in distractors)),
        unit_tests=ex.unit_tests,
        reference=ex.ref_solution,
        messages=_messages(own, ex, shown, style),
        extra={"variant": "distractors", "distractors": [d.update_id for d in distractors]},
    )


def composite_tasks(
    records: Sequence[ArenaRecord], *, style: str = "with_doc", seed: int = 0
) -> list[ArenaTask]:
    """Disjoint pairs of examples with coexisting updates, in a seeded order (each example used once)."""
    portable = set(_portable_updates(records))
    pairs = [(rec.update, ex) for rec in records for ex in rec.examples if rec.update in portable]
    random.Random(f"{seed}:composite").shuffle(pairs)
    used: set[int] = set()
    tasks = []
    for i, (upd_a, ex_a) in enumerate(pairs):
        if i in used:
            continue
        for j in range(i + 1, len(pairs)):
            upd_b, ex_b = pairs[j]
            if j not in used and _composable(upd_a, ex_a, upd_b, ex_b):
                used.update((i, j))
                tasks.append(composite_task(upd_a, ex_a, upd_b, ex_b, style=style))
                break
    return tasks


def composite_task(
    upd_a: ArenaUpdate, ex_a: ArenaExample, upd_b: ArenaUpdate, ex_b: ArenaExample, *, style: str = "with_doc"
) -> ArenaTask:
    """One task made of two: both updates enacted, one answer, all tests of both must pass."""
    combined = replace(
        ex_a,
        scenario=f"Task 1. {ex_a.scenario.strip()}\n{ex_a.problem.strip()}",
        problem=(
            f"Task 2. {ex_b.scenario.strip()}\n{ex_b.problem.strip()}\n\n"
            "Solve both tasks in one answer: define both functions in the same code block."
        ),
        solution_signature=f"{ex_a.solution_signature.strip()}\n{ex_b.solution_signature.strip()}",
        prog_syn_id=f"{ex_a.prog_syn_id}{COMPOSITE_SEPARATOR}{ex_b.prog_syn_id}",
    )
    return ArenaTask(
        task_id=combined.prog_syn_id,
        updates=(upd_a, upd_b),
        imports=_merge_imports(ex_a.imports, ex_b.imports),
        unit_tests=ex_a.unit_tests + ex_b.unit_tests,
        reference=f"{ex_a.ref_solution.rstrip()}\n\n\n{ex_b.ref_solution.strip()}\n",
        messages=_messages(upd_a, combined, [upd_a, upd_b], style),
        extra={"variant": "composite", "parts": [ex_a.prog_syn_id, ex_b.prog_syn_id]},
    )


def variant_tasks(
    records: Sequence[ArenaRecord], variant: str, *, style: str = "with_doc", seed: int = 0
) -> list[ArenaTask]:
    """Tasks for `standard`, `distractors` or `composite`."""
    if variant == "standard":
        return standard_tasks(records, style)
    if variant == "distractors":
        return distractor_tasks(records, style=style, seed=seed)
    if variant == "composite":
        return composite_tasks(records, style=style, seed=seed)
    raise RecodeError(f"unknown variant {variant!r}", hint=f"use one of: {', '.join(VARIANTS)}")


def _messages(
    own: ArenaUpdate, ex: ArenaExample, shown: Sequence[ArenaUpdate], style: str
) -> tuple[dict[str, str], ...]:
    """The standard prompt for `style`, its last user turn carrying every shown update's documentation."""
    messages = arena_messages(own, ex, style)
    if style != "no_doc":
        docs = "\n".join(arena_update_doc(u) for u in shown) + "\n"
        messages[-2] = {"role": "user", "content": arena_user_prompt(None, ex, False, extra_docs=docs)}
    return tuple(messages)


def _portable_updates(records: Sequence[ArenaRecord]) -> list[ArenaUpdate]:
    """Updates that can be enacted in another task's program: their imports need nothing beyond the
    standard library and the benchmark's own packages (one update imports `scipy`, some `pytest`)."""
    allowed = set(sys.stdlib_module_names) | {r.update.package.split(".")[0] for r in records}
    return [r.update for r in records if _imported_modules(r.update.imports) <= allowed]


def _imported_modules(imports: Sequence[str]) -> set[str]:
    return {m.group(1) for line in imports if (m := re.match(r"\s*(?:from|import)\s+(\w+)", line))}


def _merge_imports(*groups: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(line for group in groups for line in group))


def _compatible(own: ArenaUpdate, ex: ArenaExample, other: ArenaUpdate) -> bool:
    """`other` can be enacted beside `own` without changing what `ex`'s tests expect: besides
    coexisting, none of the names `other` binds (its function, a `def sum` that shadows the builtin
    `sum`, ...) is used anywhere in `ex`'s code, as a bare name or as an attribute."""
    return _coexist(own, other) and not (_bound_names(other) & _used_names(own, ex))


def _composable(upd_a: ArenaUpdate, ex_a: ArenaExample, upd_b: ArenaUpdate, ex_b: ArenaExample) -> bool:
    if not (_compatible(upd_a, ex_a, upd_b) and _compatible(upd_b, ex_b, upd_a)):
        return False
    if _solution_name(ex_a) == _solution_name(ex_b):
        return False
    return not (_defined(ex_a.ref_solution) & _defined(ex_b.ref_solution))


def _coexist(a: ArenaUpdate, b: ArenaUpdate) -> bool:
    """Two updates fit in one program: different functions, no clashing names or import bindings."""
    if a.function_path == b.function_path or _bound_names(a) & _bound_names(b):
        return False
    if RENAME in (a.update_type, b.update_type) and a.package != b.package:
        return False  # a rename deletes the old name, which other libraries may import lazily
    bound_a, bound_b = _import_bindings(a.imports), _import_bindings(b.imports)
    return all(bound_a[name] == bound_b[name] for name in bound_a.keys() & bound_b.keys())


@cache
def _bound_names(update: ArenaUpdate) -> frozenset[str]:
    """Names an update's implementation and enforcement bind at module level."""
    names = {update.function_name, new_function_name(update)} | top_level_names(update.implementation)
    return frozenset(names)


@cache
def _used_names(update: ArenaUpdate, ex: ArenaExample) -> frozenset[str]:
    """Every name a task's code mentions: bare names, attributes (`np.sum` -> `sum`), imported names."""
    used: set[str] = set()
    for source in (update.implementation, ex.ref_solution, *ex.unit_tests, *ex.imports):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            used.update(re.findall(r"\w+", source))
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.Attribute):
                used.add(node.attr)
            elif isinstance(node, ast.alias):
                used.update(node.name.split(".") + ([node.asname] if node.asname else []))
    return frozenset(used)


@cache
def _import_bindings(imports: tuple[str, ...]) -> dict[str, str]:
    """Name -> the statement binding it (`old_sin = math.sin`, `import numpy as np`, `from x import y`)."""
    bound: dict[str, str] = {}
    for line in imports:
        try:
            tree = ast.parse(line)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign):
                bound.update({t.id: line for t in node.targets if isinstance(t, ast.Name)})
            elif isinstance(node, ast.ImportFrom):
                bound.update({a.asname or a.name: line for a in node.names})
            elif isinstance(node, ast.Import):  # plain `import x` binds x to the same module everywhere
                bound.update({a.asname: line for a in node.names if a.asname})
    return bound


def _solution_name(ex: ArenaExample) -> str:
    match = re.search(r"def\s+(\w+)", ex.solution_signature)
    return match.group(1) if match else ex.solution_signature


def _defined(source: str) -> set[str]:
    try:
        return top_level_names(source)
    except SyntaxError:
        return {"<unparseable>"}
