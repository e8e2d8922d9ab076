"""Small synthetic CodeUpdateArena records (stdlib only) so evaluator tests need no data or heavy imports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from recode.data.prompts import PREFILL
from recode.data.schemas import ArenaRecord


def _record(update: dict[str, Any], examples: list[dict[str, Any]]) -> dict[str, Any]:
    update = {"description": "d", "rationale": "r", "docstring": "doc", **update}
    update["update_id"] = f"[{update['function_path']}]:[{update['update_type']}]:[update-0]"
    for i, ex in enumerate(examples):
        ex.setdefault("scenario", "A scenario.")
        ex.setdefault("problem", "A problem.")
        ex["imports"] = update["imports"]
        ex["prog_syn_id"] = f"{update['update_id']}:[prog_syn-{i}]"
    return {"update": update, "prog_syn_examples": examples}


HYPOT = _record(
    {
        "signature": "math.hypot(*coordinates, scale=1.0)",
        "imports": ["import math", "old_hypot = math.hypot", "setattr(math, 'old_hypot', old_hypot)"],
        "implementation": "def hypot(*coordinates, scale=1.0):\n    return old_hypot(*coordinates) * scale\n",
        "update_type": "add-argument",
        "function_path": "math.hypot",
        "package": "math",
    },
    [
        {
            "solution_signature": "def scaled_distance(x: float, y: float, s: float) -> float:",
            "unit_tests": [
                "def test_scaled():\n    assert scaled_distance(3, 4, 2) == 10.0\n",
                "def test_zero():\n    assert scaled_distance(0, 0, 5) == 0.0\n",
            ],
            "ref_solution": (
                "import math\n\ndef scaled_distance(x, y, s):\n    return math.hypot(x, y, scale=s)\n"
            ),
        }
    ],
)

GCD = _record(
    {
        "signature": "math.greatest_common_divisor(*integers)",
        "imports": ["import math", "old_gcd = math.gcd", "setattr(math, 'old_gcd', old_gcd)"],
        "implementation": "def greatest_common_divisor(*integers):\n    return old_gcd(*integers)\n",
        "update_type": "modify-function-name",
        "function_path": "math.gcd",
        "package": "math",
    },
    [
        {
            "solution_signature": "def simplify(num: int, den: int) -> tuple[int, int]:",
            "unit_tests": [
                "def test_simplify():\n    assert simplify(6, 8) == (3, 4)\n",
                "def test_prime():\n    assert simplify(7, 5) == (7, 5)\n",
                "def test_whole():\n    assert simplify(9, 3) == (3, 1)\n",
            ],
            "ref_solution": (
                "import math\n\ndef simplify(num, den):\n"
                "    g = math.greatest_common_divisor(num, den)\n    return num // g, den // g\n"
            ),
        }
    ],
)

ISQRT = _record(
    {
        "signature": "math.isqrt_ceil(n, /)",
        "imports": ["import math", "old_isqrt = math.isqrt", "setattr(math, 'old_isqrt', old_isqrt)"],
        "implementation": "def isqrt_ceil(n):\n    r = old_isqrt(n)\n    return r if r * r == n else r + 1\n",
        "update_type": "add-function",
        "function_path": "math.isqrt",
        "package": "math",
    },
    [
        {
            "solution_signature": "def side_for_area(area: int) -> int:",
            "unit_tests": [
                "def test_side():\n    assert side_for_area(10) == 4\n    assert side_for_area(9) == 3\n"
            ],
            "ref_solution": "import math\n\ndef side_for_area(area):\n    return math.isqrt_ceil(area)\n",
        }
    ],
)


@pytest.fixture
def records() -> list[ArenaRecord]:
    """Three updates: add-argument (assign), rename (del + setattr), add-function (setattr)."""
    return [ArenaRecord.from_dict(row) for row in (HYPOT, GCD, ISQRT)]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    """A real fork-server sandbox with nothing preloaded (the synthetic tasks use only `math`)."""
    from recode.sandbox import Sandbox, SandboxLimits

    with Sandbox(SandboxLimits(timeout_s=10.0, memory_mb=1024), preload=(), workers=2) as box:
        yield box


@pytest.fixture
def extraction() -> None:
    """Skip (with the reason) tests that extract code from completions while the rewards area lacks it."""
    pytest.importorskip("recode.rewards.extract", reason="recode.rewards.extract is not implemented yet")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A byte-level BPE tokenizer and a 2-layer Qwen2, built and saved locally (nothing downloaded)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    path = tmp_path_factory.mktemp("tiny-qwen2")
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    backend.train_from_iterator(
        ["def solve(x):\n    return sorted(x)\n", PREFILL, "user assistant system"], trainer
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tokenizer.save_pretrained(path)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    Qwen2ForCausalLM(config).save_pretrained(path)
    return path
