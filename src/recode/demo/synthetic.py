"""A seeded generator of made-up library updates in the ReCode format, for the CPU demo.

Why synthetic: the demo must show, with nothing downloaded and in minutes on a laptop CPU, a model that
learns to *apply* the update notes in its prompt. Real libraries are too big for a tiny model; a family
of made-up APIs keeps every snippet a few lines long and every update checkable by execution.

Each update is one of the paper's kinds (rename, argument added / renamed / reordered, default changed,
function moved to another module, deprecated-then-replaced). For it we write a plain-language note, a
legacy snippet that calls the old API, the migrated target, and two pieces of Python for the exec reward:
`exec_setup` installs the fake *new* API into `sys.modules`, `exec_tests` asserts that the snippet returns
what the old code meant to compute. Legacy code fails those checks; the target passes them.

The notes name the old and the new spelling (e.g. "`zorp.load` was renamed to `zorp.fetch`"), so the rule
is learnable from the tokens. Train and held-out splits share no update and no *rule* (kind, old and new
spelling, `Update.rule`): only the kinds and the vocabulary the names are drawn from, so a held-out task
is solved by reading its note, not by remembering a training answer.
"""

from __future__ import annotations

import ast
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recode.data.schemas import MigrationExample
from recode.errors import RecodeError

KINDS: tuple[str, ...] = (
    "rename",
    "argument_added",
    "argument_renamed",
    "argument_reordered",
    "default_changed",
    "moved",
    "deprecated",
)
"""Update kinds, named after the paper's taxonomy of API changes."""

PACKAGES = ("zorp", "quill", "flux", "nimbus", "kelp", "tarn", "vexa", "brio")
SUBMODULES = ("io", "core", "util", "files", "net", "text", "ops", "base")
FUNCTIONS = (
    "load", "fetch", "read", "scan", "parse", "merge", "split", "pack",
    "send", "sync", "clip", "fold", "join", "sort", "push", "pull",
)  # fmt: skip
KEYWORDS = ("size", "length", "limit", "count", "depth", "scale", "step", "width", "level", "mode")
LITERALS = ("True", "False", "0", "1", "2", "3", '"fast"', '"safe"', '"raw"', '"full"')
VARIABLES = ("a", "b", "x", "y", "n", "k", "data", "items", "text", "value")
TASK_NAMES = ("run", "main", "task", "compute", "build", "handle", "apply", "process")
TEST_VALUES = (3, 5, 7, 11)


@dataclass(frozen=True)
class Update:
    """One API change of a made-up package: what the note says and how the new API behaves."""

    kind: str
    package: str
    version: str
    function: str
    old: str  # the spelling that disappears (function, keyword, module, default or parameter order)
    new: str  # the spelling that replaces it
    note: str

    @property
    def update_id(self) -> str:
        """Identifies the update: the change plus where it happens (package, version, function)."""
        return f"{self.package}-{self.version}-{self.kind}-{self.function}-{self.old}-{self.new}"

    @property
    def rule(self) -> tuple[str, str, str]:
        """The change itself, whatever package it happens in: the split keeps these apart, so a model
        cannot pass a held-out task by remembering that "`load` becomes `fetch`" from training."""
        return (self.kind, self.old, self.new)

    @property
    def reasoning(self) -> str:
        """The note restated as the one-line edit it asks for: what a model that *reads* the note
        writes in `<think>` before applying it (the warm start's applying targets begin with it)."""
        qualified = f"`{self.package}.{self.function}`"
        if self.kind in ("rename", "deprecated"):
            return f"{qualified} -> `{self.package}.{self.new}`"
        if self.kind == "moved":
            return f"`{self.package}.{self.old}` -> `{self.package}.{self.new}`"
        if self.kind == "argument_renamed":
            return f"{qualified}: `{self.old}` -> `{self.new}`"
        if self.kind == "argument_reordered":
            return f"{qualified}: swap the two arguments"
        return f"{qualified} needs `{self.new}`"  # argument_added, default_changed: pass it explicitly


@dataclass(frozen=True)
class DemoTask:
    """A legacy snippet, its migration and its execution checks, for one update."""

    update: Update
    old_code: str
    new_code: str
    exec_setup: str
    exec_tests: str

    def to_example(self, split: str) -> MigrationExample:
        """The task as a ReCode training row; exec columns and the update kind ride in `extra`."""
        u = self.update
        return MigrationExample(
            dependency=u.package,
            new_version=u.version,
            description=f"{u.kind.replace('_', ' ')} in {u.package}.{u.function}",
            update_info=u.note,
            old_code=self.old_code,
            new_code=self.new_code,
            extra={
                "update_id": u.update_id,
                "update_kind": u.kind,
                "reasoning": u.reasoning,
                "split": split,
                "exec_setup": self.exec_setup,
                "exec_tests": self.exec_tests,
            },
        )


@dataclass(frozen=True)
class DemoData:
    """Train and held-out tasks; the two share no update."""

    train: list[DemoTask]
    heldout: list[DemoTask]

    def examples(self, split: str) -> list[MigrationExample]:
        tasks = {"train": self.train, "heldout": self.heldout}.get(split)
        if tasks is None:
            raise RecodeError(f"unknown demo split {split!r}", hint="use 'train' or 'heldout'")
        return [task.to_example(split) for task in tasks]

    def validation(self, n_val: int, seed: int) -> DemoData:
        """Carve a validation split out of the *train* tasks, as unseen as the held-out split is.

        Why: settings (sizes, steps, rates) must be chosen without looking at the held-out tasks. The
        result's `heldout` holds `n_val` train tasks, kinds balanced; its `train` is the other train
        tasks minus any that follow a validation rule, so validation rules are unseen in its training.
        The real held-out tasks are not in the result at all.
        """
        shuffled = list(self.train)
        random.Random(seed).shuffle(shuffled)
        by_kind = {kind: iter([t for t in shuffled if t.update.kind == kind]) for kind in KINDS}
        chosen: list[DemoTask] = []
        for index in range(n_val):
            kind = KINDS[index % len(KINDS)]
            task = next(by_kind[kind], None)
            if task is None:
                raise RecodeError(
                    f"too few {kind} train tasks to carve {n_val} validation tasks", hint="ask for fewer"
                )
            chosen.append(task)
        rules = {t.update.rule for t in chosen}
        rest = [t for t in self.train if t.update.rule not in rules]
        return DemoData(train=rest, heldout=chosen)


def generate(n_train: int = 400, n_heldout: int = 100, seed: int = 0) -> DemoData:
    """Draw `n_train` train and `n_heldout` held-out tasks, one per distinct update, kinds balanced.

    Held-out updates are drawn first; a train update may not repeat a held-out *rule* (kind, old and
    new spelling; see `Update.rule`), so every held-out task asks for a change the model never saw
    rewarded, spelled with names it knows. The same seed always gives the same data.
    """
    if n_train < 1 or n_heldout < 1:
        raise RecodeError("the demo needs at least one train and one held-out task")
    rng = random.Random(seed)
    seen: set[str] = set()
    heldout = _draw_updates(n_heldout, rng, seen, banned_rules=set())
    train = _draw_updates(n_train, rng, seen, banned_rules={u.rule for u in heldout})
    return DemoData(train=[make_task(u, rng) for u in train], heldout=[make_task(u, rng) for u in heldout])


def _draw_updates(
    count: int, rng: random.Random, seen: set[str], banned_rules: set[tuple[str, str, str]]
) -> list[Update]:
    """`count` updates cycling through `KINDS`, none in `seen` (updated) or following a banned rule."""
    updates: list[Update] = []
    attempts = 0
    while len(updates) < count:
        attempts += 1
        if attempts > 100 * count:
            raise RecodeError(
                f"cannot draw {count} distinct updates from the demo's name pools",
                hint="ask for fewer tasks",
            )
        update = _draw_update(KINDS[len(updates) % len(KINDS)], rng)
        if update.update_id in seen or update.rule in banned_rules:
            continue
        seen.add(update.update_id)
        updates.append(update)
    return updates


def _draw_update(kind: str, rng: random.Random) -> Update:
    """One update of `kind` with random names; its note names both the old and the new spelling."""
    package, function = rng.choice(PACKAGES), rng.choice(FUNCTIONS)
    version = f"{rng.randint(2, 9)}.{rng.randint(0, 9)}"
    qualified = f"{package}.{function}"
    if kind in ("rename", "deprecated"):
        new = rng.choice([f for f in FUNCTIONS if f != function])
        note = (
            f"`{qualified}` was renamed to `{package}.{new}`."
            if kind == "rename"
            else f"`{qualified}` is deprecated and now raises an error; use `{package}.{new}` instead."
        )
        return Update(kind, package, version, function, function, new, note)
    if kind == "moved":
        old, new = rng.sample(SUBMODULES, 2)
        note = f"`{function}` moved from `{package}.{old}` to `{package}.{new}`."
        return Update(kind, package, version, function, old, new, note)
    if kind == "argument_renamed":
        old, new = rng.sample(KEYWORDS, 2)
        note = f"The argument `{old}` of `{qualified}` was renamed to `{new}`."
        return Update(kind, package, version, function, old, new, note)
    if kind == "argument_reordered":
        first, second = rng.sample(VARIABLES, 2)
        old, new = f"{first}, {second}", f"{second}, {first}"
        note = f"`{qualified}({old})` now takes its arguments in the order `({new})`."
        return Update(kind, package, version, function, old, new, note)
    keyword = rng.choice(KEYWORDS)
    if kind == "argument_added":
        value = rng.choice(LITERALS)
        note = f"`{qualified}` has a new required argument `{keyword}`; pass `{keyword}={value}`."
        return Update(kind, package, version, function, "", f"{keyword}={value}", note)
    if kind == "default_changed":
        old, new = rng.sample(LITERALS, 2)
        while _literal(old) == _literal(new):  # True == 1: such a change would be invisible
            old, new = rng.sample(LITERALS, 2)
        note = (
            f"The default of `{keyword}` in `{qualified}` changed from `{old}` to `{new}`; "
            f"pass `{keyword}={old}` to keep the old result."
        )
        return Update(kind, package, version, function, f"{keyword}={new}", f"{keyword}={old}", note)
    raise RecodeError(f"unknown update kind {kind!r}", hint=f"use one of: {', '.join(KINDS)}")


def _literal(source: str) -> Any:
    """The value a literal from `LITERALS` stands for (to spot changes Python cannot tell apart)."""
    return ast.literal_eval(source)


def make_task(update: Update, rng: random.Random) -> DemoTask:
    """Legacy snippet, migrated target and exec checks for `update`, with fresh variable names."""
    builder = _BUILDERS[update.kind]
    task_name = rng.choice(TASK_NAMES)
    arity = 2 if update.kind in ("argument_renamed", "argument_reordered") else rng.randint(1, 2)
    params = rng.sample(VARIABLES, arity)
    old_call, new_call, header_old, header_new, api = builder(update, params)
    old_code = _snippet(header_old, task_name, params, old_call)
    new_code = _snippet(header_new, task_name, params, new_call)
    args = TEST_VALUES[:arity]
    expected = _expected(api, new_code, task_name, args)
    tests = (
        f"assert {task_name}({', '.join(map(str, args))}) == {expected!r}, 'wrong result under the new API'"
    )
    return DemoTask(update, old_code, new_code, api, tests)


def _snippet(header: str, task_name: str, params: list[str], call: str) -> str:
    return f"{header}\n\n\ndef {task_name}({', '.join(params)}):\n    return {call}\n"


def _module_source(package: str, functions: str, submodule: str | None = None) -> str:
    """Python that installs a fake package (optionally a submodule holding the functions)."""
    lines = ["import sys", "import types", f"_pkg = types.ModuleType({package!r})"]
    target = "_pkg"
    if submodule:
        name = f"{package}.{submodule}"
        lines += [
            f"_sub = types.ModuleType({name!r})",
            f"_pkg.{submodule} = _sub",
            f"sys.modules[{name!r}] = _sub",
        ]
        target = "_sub"
    lines += [f"sys.modules[{package!r}] = _pkg", functions, "for _k, _v in list(locals().items()):"]
    lines += ["    if _k.startswith('api_'):", f"        setattr({target}, _k[4:], _v)"]
    return "\n".join(lines) + "\n"


Built = tuple[str, str, str, str, str]


def _build_rename(u: Update, params: list[str]) -> Built:
    args = ", ".join(params)
    api = f"def api_{u.new}(*args):\n    return ({u.new!r}, *args)\n"
    if u.kind == "deprecated":
        api += (
            f"def api_{u.old}(*args):\n"
            f"    raise RuntimeError('{u.package}.{u.old} was removed; use {u.package}.{u.new}')\n"
        )
    header = f"import {u.package}"
    call = f"{u.package}.{{}}({args})"
    return call.format(u.old), call.format(u.new), header, header, _module_source(u.package, api)


def _build_moved(u: Update, params: list[str]) -> Built:
    args = ", ".join(params)
    api = f"def api_{u.function}(*args):\n    return ({u.function!r}, *args)\n"
    header = f"from {u.package}.{{}} import {u.function}"
    call = f"{u.function}({args})"
    return call, call, header.format(u.old), header.format(u.new), _module_source(u.package, api, u.new)


def _build_argument_renamed(u: Update, params: list[str]) -> Built:
    first, second = params
    api = f"def api_{u.function}({first}, {u.new}=None):\n    return ({first}, {u.new})\n"
    call = f"{u.package}.{u.function}({first}, {{}}={second})"
    header = f"import {u.package}"
    return call.format(u.old), call.format(u.new), header, header, _module_source(u.package, api)


def _build_argument_reordered(u: Update, params: list[str]) -> Built:
    p, q = u.old.split(", ")
    api = f"def api_{u.function}({q}, {p}):\n    return ({p}, {q})\n"
    first, second = params
    header = f"import {u.package}"
    old_call = f"{u.package}.{u.function}({first}, {second})"
    new_call = f"{u.package}.{u.function}({second}, {first})"
    return old_call, new_call, header, header, _module_source(u.package, api)


def _build_keyword(u: Update, params: list[str]) -> Built:
    """argument_added and default_changed: the migrated call passes `keyword=value` explicitly."""
    keyword, value = u.new.split("=", 1)
    default = "" if u.kind == "argument_added" else f"={u.old.split('=', 1)[1]}"
    api = f"def api_{u.function}(*args, {keyword}{default}):\n    return (*args, {keyword})\n"
    args = ", ".join(params)
    header = f"import {u.package}"
    old_call = f"{u.package}.{u.function}({args})"
    new_call = f"{u.package}.{u.function}({args}, {keyword}={value})"
    return old_call, new_call, header, header, _module_source(u.package, api)


_BUILDERS: dict[str, Callable[[Update, list[str]], Built]] = {
    "rename": _build_rename,
    "deprecated": _build_rename,
    "moved": _build_moved,
    "argument_renamed": _build_argument_renamed,
    "argument_reordered": _build_argument_reordered,
    "argument_added": _build_keyword,
    "default_changed": _build_keyword,
}


def _expected(setup: str, code: str, task_name: str, args: tuple[int, ...]) -> Any:
    """What the migrated code returns under the new API: our own generated code, run in-process.

    Only generator-written code runs here (never model output); `sys.modules` is restored afterwards.
    """
    saved = dict(sys.modules)
    try:
        namespace: dict[str, Any] = {}
        exec(setup, namespace)
        exec(code, namespace)
        return namespace[task_name](*args)
    finally:
        sys.modules.clear()
        sys.modules.update(saved)
