"""Generation through a backend is cached in a samples file and resumes without regenerating."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from recode.data.schemas import ArenaRecord
from recode.errors import RecodeError
from recode.evaluation.arena import read_samples
from recode.evaluation.backends import GenerationConfig
from recode.evaluation.generation import generate_candidates
from recode.evaluation.tasks import standard_tasks

pytestmark = pytest.mark.usefixtures("extraction")

TAGS = {"model": "fake", "prompt_style": "with_doc", "variant": "standard"}


class CountingBackend:
    """Answers every prompt with numbered fenced code and remembers how many prompts it saw."""

    name = "fake"

    def __init__(self) -> None:
        self.prompts_seen = 0

    def generate(self, prompts: Sequence[list[dict]], gen: GenerationConfig, *, progress: bool = True):
        self.prompts_seen += len(prompts)
        return [[f"<answer>\n```python\nanswer = {i}\n```\n</answer>" for i in range(gen.n)] for _ in prompts]


def test_generations_are_cached_and_reused(tmp_path: Path, records: list[ArenaRecord]) -> None:
    tasks = standard_tasks(records)
    cache = tmp_path / "gens.samples.jsonl"
    backend = CountingBackend()
    gen = GenerationConfig(n=2, batch_size=1)
    first = generate_candidates(backend, tasks, gen, cache=cache, tags=TAGS, progress=False)
    assert backend.prompts_seen == 3
    assert [c.code for c in first[tasks[0].task_id]] == ["answer = 0\n", "answer = 1\n"]
    again = generate_candidates(backend, tasks, gen, cache=cache, tags=TAGS, progress=False)
    assert backend.prompts_seen == 3 and again == first
    assert (
        read_samples(cache, [t.task_id for t in tasks]).keys() == first.keys()
    )  # the cache is a samples file


def test_an_interrupted_cache_resumes_where_it_stopped(tmp_path: Path, records: list[ArenaRecord]) -> None:
    tasks = standard_tasks(records)
    cache = tmp_path / "gens.samples.jsonl"
    generate_candidates(
        CountingBackend(), tasks[:2], GenerationConfig(n=1), cache=cache, tags=TAGS, progress=False
    )
    with cache.open("a", encoding="utf-8") as handle:
        handle.write('{"prog_syn_id": "cut sh')  # the process died mid-line
    backend = CountingBackend()
    result = generate_candidates(
        backend, tasks, GenerationConfig(n=1), cache=cache, tags=TAGS, progress=False
    )
    assert backend.prompts_seen == 1 and len(result) == 3
    third = CountingBackend()  # the cut line was dropped, so the appended rows read back cleanly
    assert generate_candidates(third, tasks, GenerationConfig(n=1), cache=cache, tags=TAGS, progress=False)
    assert third.prompts_seen == 0 and len(cache.read_text().splitlines()) == 3


def test_a_cache_from_another_model_is_refused(tmp_path: Path, records: list[ArenaRecord]) -> None:
    tasks = standard_tasks(records)
    cache = tmp_path / "gens.samples.jsonl"
    generate_candidates(
        CountingBackend(), tasks, GenerationConfig(n=1), cache=cache, tags=TAGS, progress=False
    )
    other = {**TAGS, "model": "other"}
    with pytest.raises(RecodeError, match=r"gens.samples.jsonl:1: cached generations were made with"):
        generate_candidates(
            CountingBackend(), tasks, GenerationConfig(n=1), cache=cache, tags=other, progress=False
        )
    assert json.loads(cache.read_text().splitlines()[0])["model"] == "fake"
