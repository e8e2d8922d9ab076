"""Generation backends: a tiny Qwen2 built offline (HF), a local OpenAI-compatible server, vLLM's error."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from recode.data.prompts import PREFILL
from recode.errors import RecodeError
from recode.evaluation.backends import GenerationConfig, make_backend

PROMPTS = [
    [{"role": "user", "content": "Write a function."}, {"role": "assistant", "content": PREFILL}],
    [
        {"role": "user", "content": "Sort a list of numbers please."},
        {"role": "assistant", "content": PREFILL},
    ],
    [{"role": "user", "content": "Hi"}],
]


def test_hf_backend_returns_n_continuations_per_prompt(tiny_model_dir: Path) -> None:
    backend = make_backend("hf", str(tiny_model_dir), device="cpu")
    gen = GenerationConfig(n=3, max_new_tokens=6, temperature=1.0, batch_size=2, seed=7)
    outputs = backend.generate(PROMPTS, gen, progress=False)
    assert [len(o) for o in outputs] == [3, 3, 3]
    assert all(isinstance(text, str) for group in outputs for text in group)
    assert backend.generate(PROMPTS, gen, progress=False) == outputs  # seeded


def test_hf_backend_batches_like_single_prompts(tiny_model_dir: Path) -> None:
    """Left padding and prompt slicing: greedy output in a batch equals the prompt run alone."""
    backend = make_backend("hf", str(tiny_model_dir), device="cpu")
    gen = GenerationConfig(n=1, max_new_tokens=8, temperature=0.0, batch_size=3)
    batched = backend.generate(PROMPTS, gen, progress=False)
    alone = [backend.generate([p], gen, progress=False)[0] for p in PROMPTS]
    assert batched == alone
    assert all(PREFILL not in group[0] for group in batched)
    repeated = backend.generate(PROMPTS[:1], GenerationConfig(n=2, max_new_tokens=8, temperature=0.0))
    assert repeated == [batched[0] * 2]  # n greedy samples are the one greedy answer, n times


def test_unknown_backend_and_option_are_clear_errors() -> None:
    with pytest.raises(RecodeError, match="unknown backend 'tgi'"):
        make_backend("tgi", "m")
    with pytest.raises(RecodeError, match=r"does not take option.*temperature") as info:
        make_backend("openai", "m", temperature=0.1)
    assert "base_url" in str(info.value.hint)


def test_vllm_without_the_extra_says_how_to_install() -> None:
    pytest.importorskip("recode")  # always there; vLLM is what must be absent
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(RecodeError, match="optional `vllm` package") as info:
            make_backend("vllm", "m")
        assert "recode[gpu]" in str(info.value.hint)
    else:
        pytest.skip("vLLM is installed here")


class _FakeChatServer(BaseHTTPRequestHandler):
    """`/v1/chat/completions`: fails once with 500 when asked to, ignores `n` when asked to."""

    requests: list[dict[str, Any]]
    fail_first: list[bool]
    ignore_n: bool

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(body)
        if self.fail_first and self.fail_first.pop():
            self._send(500, {"error": {"message": "try again", "type": "server_error"}})
            return
        if body["model"] == "missing":
            self._send(404, {"error": {"message": "no such model", "type": "invalid_request_error"}})
            return
        count = 1 if self.ignore_n else body.get("n", 1)
        choices = [
            {
                "index": i,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": f"c{len(self.requests)}.{i}"},
            }
            for i in range(count)
        ]
        self._send(
            200,
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": choices,
            },
        )

    def _send(self, code: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def chat_server() -> Iterator[tuple[str, type[_FakeChatServer]]]:
    handler = type("Handler", (_FakeChatServer,), {"requests": [], "fail_first": [], "ignore_n": False})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    server.shutdown()
    server.server_close()


def test_openai_backend_continues_the_prefill_on_a_self_hosted_server(chat_server: Any) -> None:
    url, handler = chat_server
    backend = make_backend("openai", "tiny", base_url=url, concurrency=1)
    outputs = backend.generate(PROMPTS[:2], GenerationConfig(n=2, max_new_tokens=5, seed=3), progress=False)
    assert [len(o) for o in outputs] == [2, 2]
    first = handler.requests[0]
    assert first["messages"][-1] == {"role": "assistant", "content": PREFILL}
    assert first["continue_final_message"] is True and first["add_generation_prompt"] is False
    assert (first["n"], first["max_tokens"], first["seed"]) == (2, 5, 3)


def test_openai_backend_can_drop_the_prefill(chat_server: Any) -> None:
    url, handler = chat_server
    backend = make_backend("openai", "tiny", base_url=url, prefill="drop")
    backend.generate(PROMPTS[:1], GenerationConfig(n=1), progress=False)
    assert handler.requests[0]["messages"][-1]["role"] == "user"
    assert "continue_final_message" not in handler.requests[0]


def test_openai_backend_retries_and_tops_up_when_n_is_ignored(chat_server: Any) -> None:
    url, handler = chat_server
    handler.fail_first.append(True)
    handler.ignore_n = True
    backend = make_backend("openai", "tiny", base_url=url, max_retries=2)
    (texts,) = backend.generate(PROMPTS[:1], GenerationConfig(n=3), progress=False)
    assert len(texts) == 3
    assert len(handler.requests) == 4  # one 500, then three single-choice answers
    assert [r["n"] for r in handler.requests[1:]] == [3, 2, 1]


def test_openai_backend_errors_name_the_endpoint(chat_server: Any) -> None:
    url, _ = chat_server
    backend = make_backend("openai", "missing", base_url=url, max_retries=0)
    with pytest.raises(RecodeError, match=f"{url}.*'missing'"):
        backend.generate(PROMPTS[:1], GenerationConfig(n=1), progress=False)


def test_hf_backend_loads_a_peft_adapter_folder(tiny_model_dir: Path, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    adapter = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    adapter.save_pretrained(tmp_path / "adapter")  # no tokenizer saved: it comes from the base model
    backend = make_backend("hf", str(tmp_path / "adapter"), device="cpu")
    outputs = backend.generate(PROMPTS[:1], GenerationConfig(n=2, max_new_tokens=3), progress=False)
    assert [len(o) for o in outputs] == [2]
