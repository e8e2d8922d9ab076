"""Offline fixtures for `recode data build`: a fake library as two local wheels, its two environments
(created once per session), and a local HTTP server that answers like an OpenAI chat endpoint."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from build_helpers import FAKELIB_V1, FAKELIB_V2, FakeOpenAI, write_wheel

from recode.data.build.envs import EnvCache, EnvSettings


@pytest.fixture
def sandbox() -> None:
    """Requested by tests that run code. `recode.sandbox` is written concurrently by its owner: until
    its `run_program` exists those tests skip with that reason instead of failing on an import."""
    try:
        from recode.sandbox import run_program  # noqa: F401
    except ImportError:
        pytest.skip("recode.sandbox.run_program is not available yet")


@pytest.fixture(scope="session")
def fake_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    write_wheel(folder, "fakelib", "1.0", FAKELIB_V1)
    write_wheel(folder, "fakelib", "2.0", FAKELIB_V2)
    return folder


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's `--work-dir`: its `envs/` are shared by every test, CLI runs included."""
    return tmp_path_factory.mktemp("build-work")


@pytest.fixture(scope="session")
def env_settings(work_dir: Path, fake_wheels: Path) -> EnvSettings:
    return EnvSettings(root=work_dir / "envs", find_links=(str(fake_wheels),), no_index=True, installer="pip")


@pytest.fixture(scope="session")
def fake_pythons(env_settings: EnvSettings) -> tuple[Path, Path]:
    """Interpreters with fakelib 1.0 and 2.0; created once, reused by every test (and the pipeline)."""
    cache = EnvCache(env_settings)
    return cache.python_for("fakelib", "1.0"), cache.python_for("fakelib", "2.0")


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    """`POST /v1/chat/completions` on 127.0.0.1; `responder(messages)` returns the reply text, or
    `(status, error_message)` to answer with an HTTP error (429s carry `Retry-After: 0`)."""
    state = FakeOpenAI(base_url="", responder=lambda messages: "")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append(body)
            answer = state.responder(body["messages"])
            if isinstance(answer, tuple):
                status, message = answer
                self._send(status, {"error": {"message": message, "type": "test"}}, {"Retry-After": "0"})
                return
            usage = {"prompt_tokens": 500, "completion_tokens": 200, "total_tokens": 700}
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": answer},
                "finish_reason": "stop",
            }
            reply = {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [choice],
                "usage": usage,
            }
            self._send(200, reply, {})

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
