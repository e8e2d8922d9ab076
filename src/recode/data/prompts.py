"""Every prompt recode sends to a model, in one module.

Why one module: the prompt *is* part of the experiment. Training (ReCode migration prompts) and evaluation
(CodeUpdateArena prompts) must agree on the answer format the rewards parse, and a reader comparing our
numbers with the paper's needs to see the exact wording in one place. Golden tests pin these strings.
"""

from __future__ import annotations

from typing import Any, Literal

from recode.data.schemas import ArenaExample, ArenaUpdate, MigrationExample
from recode.errors import RecodeError

Message = dict[str, str]
ArenaStyle = Literal["with_doc", "no_doc", "one_shot"]
ARENA_STYLES: tuple[str, ...] = ("with_doc", "no_doc", "one_shot")

PREFILL = "Let me solve this step by step.\n<think>"
"""Assistant pre-fill: the model continues from inside its reasoning block, as in ReCode."""

SYSTEM_PROMPT = (
    "You are a careful coding assistant. When a library changes its API, you update code so that it "
    "follows the new API exactly as the update information describes, even where it differs from what "
    "you remember. Reason about the update before writing code: put your reasoning inside "
    "<think></think> tags and then the final code inside <answer></answer> tags, in a ```python "
    "code block."
)

_ANSWER_FORMAT = (
    "Show your reasoning inside <think></think> tags, then give the complete final code inside "
    "<answer></answer> tags as a single ```python code block."
)

_MIGRATION_USER = """\
{dependency} performed an API update in version {new_version}. The update is documented below:
<doc>
{update_info}
</doc>
Rewrite the following code so that it works with {dependency} {new_version} and uses the updated API:
```python
{old_code}
```
{answer_format}"""

_ARENA_DOC = """\
The API `{function_path}` of the `{package}` package has been updated. Its new signature is:
```python
{signature}
```
Documentation of the update:
<doc>
{docstring}
</doc>
"""

_ARENA_TASK = """\
{scenario}

{problem}

Implement the solution with this signature:
```python
{solution_signature}
```
{answer_format}"""

# A made-up update and task (not from CodeUpdateArena, so it cannot leak a test answer) that shows the
# answer format once, the way the benchmark's own harness primes models with one demonstration.
_ONE_SHOT_UPDATE = ArenaUpdate(
    description="statistics.mean gains a `weights` argument.",
    rationale="Weighted means are common and were re-implemented by hand.",
    docstring=(
        "statistics.mean(data, weights=None) -> float\n"
        "If `weights` is given it must have the same length as `data`; the result is "
        "sum(w * x) / sum(w). With weights=None the behaviour is unchanged."
    ),
    signature="statistics.mean(data, weights=None) -> float",
    imports=("import statistics",),
    implementation="",
    update_type="add-argument",
    function_path="statistics.mean",
    package="statistics",
    update_id="one-shot-demo",
)
_ONE_SHOT_EXAMPLE = ArenaExample(
    scenario="A teacher combines exam scores where the final exam counts three times as much.",
    problem="Given the midterm and final scores, return the weighted average (final has weight 3).",
    solution_signature="def course_grade(midterm: float, final: float) -> float:",
    unit_tests=(),
    imports=("import statistics",),
    ref_solution="",
    prog_syn_id="one-shot-demo",
)
_ONE_SHOT_ANSWER = """\
Let me solve this step by step.
<think>
The updated statistics.mean accepts `weights`, so the weighted average is mean([midterm, final], \
weights=[1, 3]).
</think>
<answer>
```python
import statistics


def course_grade(midterm: float, final: float) -> float:
    return statistics.mean([midterm, final], weights=[1, 3])
```
</answer>"""


def migration_messages(example: MigrationExample) -> list[Message]:
    """ReCode training prompt: system, user (update notes + legacy code), assistant pre-fill."""
    user = _MIGRATION_USER.format(
        dependency=example.dependency,
        new_version=example.new_version,
        update_info=example.update_info.strip(),
        old_code=example.old_code.strip("\n"),
        answer_format=_ANSWER_FORMAT,
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user},
        {"role": "assistant", "content": PREFILL},
    ]


def arena_messages(
    update: ArenaUpdate, example: ArenaExample, style: ArenaStyle | str = "with_doc"
) -> list[Message]:
    """CodeUpdateArena prompt for one task.

    `with_doc` is the ReCode setting (update doc + new signature before the problem); `no_doc` is the
    baseline that leaves the model with its memory only; `one_shot` adds one worked demonstration first.
    """
    if style not in ARENA_STYLES:
        raise RecodeError(f"unknown prompt style {style!r}", hint=f"use one of: {', '.join(ARENA_STYLES)}")
    messages: list[Message] = [{"role": "system", "content": SYSTEM_PROMPT}]
    if style == "one_shot":
        messages += [
            {"role": "user", "content": arena_user_prompt(_ONE_SHOT_UPDATE, _ONE_SHOT_EXAMPLE, True)},
            {"role": "assistant", "content": _ONE_SHOT_ANSWER},
        ]
    messages += [
        {"role": "user", "content": arena_user_prompt(update, example, style != "no_doc")},
        {"role": "assistant", "content": PREFILL},
    ]
    return messages


def arena_user_prompt(
    update: ArenaUpdate | None, example: ArenaExample, with_doc: bool = True, extra_docs: str = ""
) -> str:
    """User turn of an arena prompt; `extra_docs` lets multi-update variants prepend more updates."""
    doc = arena_update_doc(update) if with_doc and update is not None else ""
    task = _ARENA_TASK.format(
        scenario=example.scenario.strip(),
        problem=example.problem.strip(),
        solution_signature=example.solution_signature.strip(),
        answer_format=_ANSWER_FORMAT,
    )
    return extra_docs + doc + ("\n" if doc else "") + task


def arena_update_doc(update: ArenaUpdate) -> str:
    """The documentation block for one update (reused by the multi-update variants)."""
    return _ARENA_DOC.format(
        function_path=update.function_path,
        package=update.package,
        signature=update.signature.strip(),
        docstring=update.docstring.strip(),
    )


CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""Fallback for tokenizers without a chat template (base models, tiny test tokenizers): ChatML."""


def render_messages(tokenizer: Any, messages: list[Message]) -> str:
    """Render chat messages to the exact prompt string the model sees.

    A final assistant message is a pre-fill: it is *continued* (no end-of-turn token after it), so the
    model's completion starts inside `<think>`; otherwise a generation prompt is appended.
    """
    if not messages:
        raise RecodeError("cannot render an empty conversation")
    prefill = messages[-1]["role"] == "assistant"
    template = None if getattr(tokenizer, "chat_template", None) else CHATML_TEMPLATE
    return tokenizer.apply_chat_template(
        messages,
        tokenize=False,
        add_generation_prompt=not prefill,
        continue_final_message=prefill,
        chat_template=template,
    )
