"""Generation backends: Hugging Face transformers, any OpenAI-compatible endpoint, and vLLM.

Why one protocol: every evaluator (CodeUpdateArena, HumanEval+, MBPP+) needs "n completions per chat
prompt", whatever serves the model. Prompts are chat messages; a final assistant message is a pre-fill
the model *continues* (ReCode's "Let me solve this step by step.\n<think>"), and the text returned is
only what the model generated after it. Heavy imports (torch, transformers, openai, vllm) happen when a
backend is built, so `import recode.evaluation.backends` stays cheap and vLLM stays optional.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from recode.data.prompts import render_messages
from recode.errors import RecodeError

Messages = list[dict[str, str]]


@dataclass
class GenerationConfig:
    """Sampling settings shared by all backends (`batch_size` counts prompts, each with `n` samples)."""

    n: int = 1
    max_new_tokens: int = 1024
    temperature: float = 0.8
    top_p: float = 0.95
    seed: int = 0
    batch_size: int = 8


class Backend(Protocol):
    """Anything that turns chat prompts into `n` completions each (text after the prompt/pre-fill)."""

    name: str

    def generate(
        self, prompts: Sequence[Messages], gen: GenerationConfig, *, progress: bool = True
    ) -> list[list[str]]: ...


def make_backend(kind: str, model: str, **options: Any) -> Backend:
    """Build a backend: `"hf"` (local path or hub id), `"openai"` (`base_url=`, `api_key=`), `"vllm"`."""
    factories: dict[str, Callable[..., Backend]] = {
        "hf": HFBackend,
        "openai": OpenAIBackend,
        "vllm": VLLMBackend,
    }
    if kind not in factories:
        raise RecodeError(f"unknown backend {kind!r}", hint=f"use one of: {', '.join(factories)}")
    factory = factories[kind]
    accepted = set(inspect.signature(factory).parameters) - {"model"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise RecodeError(
            f"backend {kind!r} does not take option(s) {', '.join(unknown)}",
            hint=f"it accepts: {', '.join(sorted(accepted))}",
        )
    return factory(model, **options)


@contextmanager
def progress_bar(enabled: bool, total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A rich bar over `total` prompts (a no-op when disabled), yielding an `advance(n)` callable."""
    if not enabled:
        yield lambda _n: None
        return
    columns = (TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


class HFBackend:
    """transformers `generate` on CPU or GPU, batched with left padding; loads PEFT adapter folders too."""

    name = "hf"

    def __init__(
        self, model: str, *, device: str | None = None, dtype: str = "auto", tokenizer: str | None = None
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if model.startswith(("/", ".", "~")) and not Path(model).expanduser().is_dir():
            raise RecodeError(f"no model folder at {model}", hint="pass a saved model folder or a hub id")
        adapter = Path(model).expanduser() / "adapter_config.json"
        try:
            if adapter.is_file():
                from peft import AutoPeftModelForCausalLM

                self.model = AutoPeftModelForCausalLM.from_pretrained(model, dtype=dtype)
                tokenizer = tokenizer or _adapter_tokenizer_source(Path(model))
            else:
                self.model = AutoModelForCausalLM.from_pretrained(model, dtype=dtype)
            self.tokenizer = AutoTokenizer.from_pretrained(tokenizer or model)
        except OSError as exc:
            raise RecodeError(
                f"could not load model {model!r}: {exc}".splitlines()[0],
                hint="pass a local model folder or a hub id you can download",
            ) from None
        self.model.to(self.device).eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    def generate(
        self, prompts: Sequence[Messages], gen: GenerationConfig, *, progress: bool = True
    ) -> list[list[str]]:
        import torch

        texts = [render_messages(self.tokenizer, list(m)) for m in prompts]
        outputs: list[list[str]] = []
        with progress_bar(progress, len(texts), "generating") as advance:
            for start in range(0, len(texts), gen.batch_size):
                batch = texts[start : start + gen.batch_size]
                torch.manual_seed(gen.seed + start)
                outputs += self._generate_batch(batch, gen)
                advance(len(batch))
        return outputs

    def _generate_batch(self, batch: list[str], gen: GenerationConfig) -> list[list[str]]:
        import torch

        enc = self.tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(
            self.device
        )
        greedy = gen.temperature <= 0
        # Greedy decoding gives one answer per prompt (transformers refuses n > 1 without sampling): it
        # is generated once and repeated, which is what n greedy samples are.
        per_prompt = 1 if greedy else gen.n
        sampling = {"do_sample": False} if greedy else {"do_sample": True, "temperature": gen.temperature}
        with torch.no_grad():
            out = self.model.generate(
                **enc,
                **sampling,
                **({} if greedy else {"top_p": gen.top_p}),
                max_new_tokens=gen.max_new_tokens,
                num_return_sequences=per_prompt,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        decoded = self.tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        return [
            decoded[i * per_prompt : (i + 1) * per_prompt] * (gen.n // per_prompt) for i in range(len(batch))
        ]


def _adapter_tokenizer_source(adapter_dir: Path) -> str:
    """An adapter folder's own tokenizer if saved there, else its base model's."""
    if (adapter_dir / "tokenizer_config.json").is_file():
        return str(adapter_dir)
    import json

    config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    return config["base_model_name_or_path"]


class OpenAIBackend:
    """Any OpenAI-compatible chat endpoint (OpenAI, vLLM/SGLang servers, ...), with retries.

    `prefill="continue"` sends the pre-fill as a final assistant message and asks the server to continue
    it (vLLM/SGLang's `continue_final_message`); `"drop"` omits it (needed for api.openai.com).
    `"auto"` (default) continues for self-hosted `base_url`s and drops for OpenAI itself.
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        max_retries: int = 5,
        timeout_s: float = 600.0,
        concurrency: int = 8,
        prefill: str = "auto",
    ) -> None:
        import openai

        if prefill not in ("auto", "continue", "drop"):
            raise RecodeError(f"prefill must be auto, continue or drop (got {prefill!r})")
        key = api_key or os.environ.get("OPENAI_API_KEY") or ("EMPTY" if base_url else None)
        if key is None:
            raise RecodeError(
                "no API key for the OpenAI backend",
                hint="export OPENAI_API_KEY, or pass --base-url for a self-hosted server",
            )
        self.model = model
        self.client = openai.OpenAI(
            base_url=base_url, api_key=key, max_retries=max_retries, timeout=timeout_s
        )
        self.concurrency = concurrency
        self.continue_prefill = prefill == "continue" or (prefill == "auto" and base_url is not None)
        self.base_url = base_url or "https://api.openai.com/v1"

    def generate(
        self, prompts: Sequence[Messages], gen: GenerationConfig, *, progress: bool = True
    ) -> list[list[str]]:
        with (
            progress_bar(progress, len(prompts), "generating") as advance,
            ThreadPoolExecutor(max_workers=self.concurrency) as pool,
        ):
            futures = [pool.submit(self._complete, list(m), gen) for m in prompts]
            outputs = []
            for future in futures:
                outputs.append(future.result())
                advance(1)
        return outputs

    def _complete(self, messages: Messages, gen: GenerationConfig) -> list[str]:
        import openai

        has_prefill = messages[-1]["role"] == "assistant"
        extra: dict[str, Any] = {}
        if has_prefill and self.continue_prefill:
            extra = {"continue_final_message": True, "add_generation_prompt": False}
        elif has_prefill:
            messages = messages[:-1]
        texts: list[str] = []
        try:
            while len(texts) < gen.n:  # some servers ignore `n`: ask again until we have enough
                response = self.client.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    n=gen.n - len(texts),
                    max_tokens=gen.max_new_tokens,
                    temperature=gen.temperature,
                    top_p=gen.top_p,
                    seed=gen.seed + len(texts),
                    extra_body=extra or None,
                )
                if not response.choices:
                    raise RecodeError(f"{self.base_url} returned no choices for model {self.model!r}")
                texts += [choice.message.content or "" for choice in response.choices]
        except openai.APIError as exc:
            raise RecodeError(
                f"OpenAI-compatible endpoint {self.base_url} failed for model {self.model!r}: {exc}",
                hint="check --base-url, --model and the API key; transient errors were already retried",
            ) from None
        return texts[: gen.n]


class VLLMBackend:
    """vLLM offline inference (optional `recode[gpu]` extra); prompts rendered with the model's template."""

    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.85,
        max_model_len: int | None = None,
        dtype: str = "auto",
    ) -> None:
        try:
            import vllm
        except ImportError:
            raise RecodeError(
                "the vLLM backend needs the optional `vllm` package",
                hint="pip install 'recode[gpu]' on a CUDA machine, or use --backend hf / openai",
            ) from None
        self.llm = vllm.LLM(
            model=model,
            tensor_parallel_size=tensor_parallel_size,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            dtype=dtype,
        )
        self.tokenizer = self.llm.get_tokenizer()

    def generate(
        self, prompts: Sequence[Messages], gen: GenerationConfig, *, progress: bool = True
    ) -> list[list[str]]:
        import vllm

        params = vllm.SamplingParams(
            n=gen.n,
            temperature=gen.temperature,
            top_p=gen.top_p,
            max_tokens=gen.max_new_tokens,
            seed=gen.seed,
        )
        # Token ids, not text: the rendered template already holds BOS, so vLLM must not add another.
        inputs = [
            {
                "prompt_token_ids": self.tokenizer(
                    render_messages(self.tokenizer, list(m)), add_special_tokens=False
                )["input_ids"]
            }
            for m in prompts
        ]
        results = self.llm.generate(inputs, params, use_tqdm=progress)
        return [[choice.text for choice in result.outputs] for result in results]
