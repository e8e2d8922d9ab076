"""The demo tokenizer keeps prompts short (fixed text as single tokens) and round-trips any text."""

from __future__ import annotations

from recode.data.prompts import SYSTEM_PROMPT, migration_messages, render_messages
from recode.demo.evaluate import load_tokenizer
from recode.demo.pipeline import corpus
from recode.demo.synthetic import generate
from recode.demo.tokenizer import prompt_phrases, train_tokenizer
from recode.training.config import TinyModelSpec
from recode.training.sft import sft_completion
from recode.training.tiny import build_model


def test_prompt_is_short_and_text_round_trips() -> None:
    examples = generate(n_train=30, n_heldout=7, seed=0).examples("train")
    tokenizer = train_tokenizer(corpus(examples), vocab_size=400, phrases=prompt_phrases())
    assert SYSTEM_PROMPT in prompt_phrases()
    prompt = render_messages(tokenizer, migration_messages(examples[0]))
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    assert len(ids) < 100  # ~230 with a plain BPE: the phrases are what make CPU RL affordable
    assert tokenizer.decode(ids) == prompt
    completion = sft_completion(examples[0].new_code)
    assert tokenizer.decode(tokenizer(completion, add_special_tokens=False)["input_ids"]) == completion
    assert prompt.endswith("<think>")  # the pre-fill is continued, not closed
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token_id != tokenizer.eos_token_id


def test_saved_tokenizer_reloads_with_the_same_tokens(tmp_path) -> None:
    """Evaluation reloads the tokenizer from a saved Qwen2 model folder (config.json says `qwen2`, which
    `AutoTokenizer` answers with Qwen's own pre-tokenizer); it must split text as training did."""
    examples = generate(n_train=30, n_heldout=7, seed=0).examples("train")
    tokenizer = train_tokenizer(corpus(examples), vocab_size=400, phrases=prompt_phrases())
    spec = TinyModelSpec(hidden_size=8, num_layers=1, num_heads=1, intermediate_size=8, vocab_size=400)
    build_model(tokenizer, spec, max_positions=64, seed=0).config.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    reloaded = load_tokenizer(tmp_path)
    text = render_messages(tokenizer, migration_messages(examples[0])) + sft_completion(examples[0].old_code)
    assert reloaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert reloaded.padding_side == "left" and reloaded.pad_token == tokenizer.pad_token
