import pytest
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from recode.data.prompts import (
    CHATML_TEMPLATE,
    PREFILL,
    SYSTEM_PROMPT,
    arena_messages,
    migration_messages,
    render_messages,
)
from recode.data.schemas import ArenaExample, ArenaUpdate, MigrationExample
from recode.errors import RecodeError

EXAMPLE = MigrationExample(
    dependency="numpy",
    new_version="2.0",
    description="alias removed",
    update_info="`np.float_` was removed; use `np.float64`.\n",
    old_code="import numpy as np\nx = np.float_(1)\n",
    new_code="import numpy as np\nx = np.float64(1)",
)

GOLDEN_USER = """\
numpy performed an API update in version 2.0. The update is documented below:
<doc>
`np.float_` was removed; use `np.float64`.
</doc>
Rewrite the following code so that it works with numpy 2.0 and uses the updated API:
```python
import numpy as np
x = np.float_(1)
```
Show your reasoning inside <think></think> tags, then give the complete final code inside <answer></answer> \
tags as a single ```python code block."""

UPDATE = ArenaUpdate(
    description="d",
    rationale="r",
    docstring="Now takes `unit`.",
    signature="math.sin(x, unit='radian')",
    imports=("import math",),
    implementation="def sin(x, unit='radian'): ...",
    update_type="add-argument",
    function_path="math.sin",
    package="math",
    update_id="u",
)
TASK = ArenaExample(
    scenario="A robot arm.",
    problem="Compute the sine of an angle in degrees.",
    solution_signature="def arm(angle: float) -> float:",
    unit_tests=(),
    imports=(),
    ref_solution="",
    prog_syn_id="p",
)


def tiny_tokenizer(chat_template: str | None = None) -> PreTrainedTokenizerFast:
    """A word-level tokenizer built in memory: enough to exercise chat templates, nothing downloaded."""
    model = models.WordLevel({"[UNK]": 0, "<|im_start|>": 1, "<|im_end|>": 2}, unk_token="[UNK]")
    backend = Tokenizer(model)
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>")
    tokenizer.chat_template = chat_template
    return tokenizer


def test_migration_messages_golden() -> None:
    messages = migration_messages(EXAMPLE)
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert messages[0]["content"] == SYSTEM_PROMPT
    assert messages[1]["content"] == GOLDEN_USER
    assert messages[2]["content"] == PREFILL == "Let me solve this step by step.\n<think>"


@pytest.mark.parametrize("template", [None, CHATML_TEMPLATE])
def test_render_continues_the_prefill(template: str | None) -> None:
    text = render_messages(tiny_tokenizer(template), migration_messages(EXAMPLE))
    assert text.startswith("<|im_start|>system\n" + SYSTEM_PROMPT + "<|im_end|>\n<|im_start|>user\n")
    assert text.endswith("<|im_end|>\n<|im_start|>assistant\n" + PREFILL)


def test_render_without_prefill_adds_generation_prompt() -> None:
    text = render_messages(tiny_tokenizer(), migration_messages(EXAMPLE)[:2])
    assert text.endswith(GOLDEN_USER + "<|im_end|>\n<|im_start|>assistant\n")
    with pytest.raises(RecodeError):
        render_messages(tiny_tokenizer(), [])


def test_render_uses_the_tokenizers_own_template() -> None:
    own = "{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{% endfor %}"
    text = render_messages(tiny_tokenizer(own), migration_messages(EXAMPLE))
    assert text.startswith("[system]") and text.endswith("[assistant]" + PREFILL)


def test_arena_with_doc_and_without() -> None:
    with_doc = arena_messages(UPDATE, TASK, "with_doc")[1]["content"]
    assert with_doc.startswith("The API `math.sin` of the `math` package has been updated.")
    assert "```python\nmath.sin(x, unit='radian')\n```" in with_doc
    assert "<doc>\nNow takes `unit`.\n</doc>" in with_doc
    assert "A robot arm.\n\nCompute the sine" in with_doc
    assert "```python\ndef arm(angle: float) -> float:\n```" in with_doc
    no_doc = arena_messages(UPDATE, TASK, "no_doc")[1]["content"]
    assert no_doc.startswith("A robot arm.") and "<doc>" not in no_doc and "math.sin(x" not in no_doc
    assert with_doc.endswith(no_doc)


def test_arena_one_shot_has_a_demonstration_first() -> None:
    messages = arena_messages(UPDATE, TASK, "one_shot")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    assert "statistics.mean" in messages[1]["content"]
    assert messages[2]["content"].startswith(PREFILL) and "</answer>" in messages[2]["content"]
    assert messages[3]["content"] == arena_messages(UPDATE, TASK)[1]["content"]
    assert messages[-1]["content"] == PREFILL


def test_unknown_arena_style() -> None:
    with pytest.raises(RecodeError, match="unknown prompt style 'zero'"):
        arena_messages(UPDATE, TASK, "zero")
