"""A tiny Qwen2 model and a byte-level BPE tokenizer built offline from the training texts.

Why: the `*_tiny-cpu.yaml` recipes and the tests must run the exact code path of the 7B recipes (same
architecture family, PEFT targets, TRL trainers) on a 2-core CPU with nothing downloaded. The pair is
saved under the run's output folder so the trained adapter can be reloaded on the same base later.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

from recode.data.prompts import CHATML_TEMPLATE
from recode.training.config import TinyModelSpec

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
"""Qwen's pad / turn-start / turn-end tokens, so prompts render the same way as for the real models."""


def build_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE (any text round-trips) with ChatML special tokens on `texts`."""
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<|endoftext|>", eos_token="<|im_end|>", bos_token=None
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def build_model(
    tokenizer: PreTrainedTokenizerFast, spec: TinyModelSpec, max_positions: int, seed: int
) -> Qwen2ForCausalLM:
    """A seeded, randomly initialised Qwen2 whose vocabulary and special ids match `tokenizer`."""
    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_heads,
        intermediate_size=spec.intermediate_size,
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def build_tiny(
    texts: Iterable[str], spec: TinyModelSpec, out_dir: Path, max_positions: int, seed: int = 0
) -> Path:
    """Build (or reuse, when resuming) the tiny base model and tokenizer saved in `out_dir`.

    Why a staging folder renamed into place: under `torchrun`/`accelerate launch` every process gets here
    at once; the rename is atomic, so no process loads a half-written folder, and the losers of the race
    drop their (identical, same-seed) copy and load the winner's.
    """
    if (out_dir / "config.json").is_file():
        return out_dir
    tokenizer = build_tokenizer(texts, spec.vocab_size)
    model = build_model(tokenizer, spec, max_positions, seed)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    try:
        staging.rename(out_dir)
    except OSError:  # another process of this launch renamed its copy first
        shutil.rmtree(staging)
    return out_dir
