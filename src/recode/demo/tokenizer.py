"""A small byte-level BPE tokenizer fitted to the demo corpus, with the fixed prompt text as single tokens.

Why train one: nothing may be downloaded, and a vocabulary fitted to the demo's few hundred words turns
every name (`zorp`, `fetch`, `size`) into one token, so sequences stay short and a tiny model can copy a
name from the update note into the code in one attention step. Why whole phrases as tokens: the
ReCode prompt's long fixed instructions and the answer scaffolding then cost one token each, a prompt
is about 60 tokens instead of 230, and that is what makes RL on a 2-core CPU fit in minutes.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from recode.data.prompts import CHATML_TEMPLATE, migration_messages
from recode.data.schemas import MigrationExample
from recode.training.sft import ANSWER_TEMPLATE

PAD_TOKEN = "<|endoftext|>"
BOS_TOKEN = "<|im_start|>"
EOS_TOKEN = "<|im_end|>"
ROLE_HEADERS = ("system\n", "user\n", "assistant\n")
"""What follows `<|im_start|>` in ChatML; one token each instead of a handful of letters."""
PIECES = Regex(rf"\b(?:{'|'.join(sorted(keyword.kwlist, key=len, reverse=True))}) (?=\w)|\w+|[^\w\s]+ ?|\s+")
"""Pre-tokenizer split: a Python keyword with the space after it (`def `, `import `, `return `), a
run of punctuation with the space after it (`, `), else words and runs of white space on their own.

Why: a name must be the same token wherever it appears, or copying it from the update note into the
code is a per-name lookup a tiny model must memorise instead of one attention step. GPT-2's split
glues the space before a word to it (`depth` in "`depth`" but ` depth` in "f(x, depth=1)"). And the
token before a name should say what the name is: after `def ` comes the function to copy from the
legacy code, which a lone space token would not tell apart from any other name.
"""


def prompt_phrases() -> list[str]:
    """The fixed text of a ReCode migration prompt and of the answer scaffolding, in pieces, longest first.

    Found by rendering a prompt whose fields are placeholders and cutting at them (and cutting the SFT
    answer template at its code), so the pieces follow `recode.data.prompts` and
    `recode.training.sft` if their wording changes.
    """
    hole = "\x00"
    example = MigrationExample(hole, hole, hole, hole, hole, hole)
    pieces = [piece for message in migration_messages(example) for piece in message["content"].split(hole)]
    pieces += ANSWER_TEMPLATE.split("{code}")
    pieces += ROLE_HEADERS
    return sorted({piece for piece in pieces if piece.strip()}, key=len, reverse=True)


def train_tokenizer(
    texts: Iterable[str], vocab_size: int = 1024, phrases: Iterable[str] = ()
) -> PreTrainedTokenizerFast:
    """Fit a byte-level BPE (any text round-trips) on `texts`; each of `phrases` becomes one token.

    The ChatML template of `recode.data.prompts` is set, so prompts render as for Qwen models and a
    final assistant pre-fill is continued.
    """
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(PIECES, behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[PAD_TOKEN, BOS_TOKEN, EOS_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    tokenizer.add_tokens([AddedToken(p, normalized=False, special=False) for p in phrases])
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=None,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        chat_template=CHATML_TEMPLATE,
        padding_side="left",
        model_max_length=1024,
    )
