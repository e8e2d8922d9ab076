"""Generate candidates through a backend, cached in a samples file so an interrupted run resumes.

Why the cache *is* a samples file: the rows (`prog_syn_id`, `completion`, plus `model`, `prompt_style`,
`variant`) are exactly what `recode eval arena --samples` reads, so generations can be re-scored,
shared or inspected without a model. Rows are appended after each chunk of prompts; on restart, tasks
that already have `n` completions are not sent again.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from recode.errors import RecodeError
from recode.evaluation.arena import Candidate
from recode.evaluation.backends import Backend, GenerationConfig, progress_bar
from recode.evaluation.execution import drop_partial_line
from recode.evaluation.tasks import ArenaTask


def generate_candidates(
    backend: Backend,
    tasks: Sequence[ArenaTask],
    gen: GenerationConfig,
    *,
    cache: Path,
    tags: dict[str, str],
    progress: bool = True,
) -> dict[str, list[Candidate]]:
    """`gen.n` candidates per task, generating only what `cache` does not already hold.

    `tags` (model, prompt style, variant) are written with every row and must match the rows already
    in the cache, so a cache from another model is never silently mixed in.
    """
    done = _read_cache(cache, tags)
    todo = [t for t in tasks if len(done.get(t.task_id, [])) < gen.n]
    chunk = max(gen.batch_size, 1) * 4
    cache.parent.mkdir(parents=True, exist_ok=True)
    with progress_bar(progress and bool(todo), len(todo), "generating") as advance:
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            outputs = backend.generate([list(t.messages) for t in part], gen, progress=False)
            _append(cache, part, outputs, tags)
            for task, texts in zip(part, outputs, strict=True):
                done[task.task_id] = texts
            advance(len(part))
    return {t.task_id: [Candidate.from_completion(c) for c in done[t.task_id][: gen.n]] for t in tasks}


def _read_cache(cache: Path, tags: dict[str, str]) -> dict[str, list[str]]:
    done: dict[str, list[str]] = defaultdict(list)
    if not cache.is_file():
        return done
    drop_partial_line(cache)
    for number, line in enumerate(cache.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise RecodeError(f"{cache}:{number}: generation cache is not valid JSON") from None
        clash = {k: (row.get(k), v) for k, v in tags.items() if row.get(k) != v}
        if clash:
            raise RecodeError(
                f"{cache}:{number}: cached generations were made with different settings {clash}",
                hint="pass another --generations file, or delete this one to regenerate",
            )
        done[row["prog_syn_id"]].append(row["completion"])
    return done


def _append(cache: Path, tasks: Sequence[ArenaTask], outputs: list[list[str]], tags: dict[str, Any]) -> None:
    with cache.open("a", encoding="utf-8") as handle:
        for task, texts in zip(tasks, outputs, strict=True):
            for text in texts:
                handle.write(json.dumps({"prog_syn_id": task.task_id, "completion": text, **tags}) + "\n")
