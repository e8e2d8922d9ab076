"""Generation: prompts from the one template, robust reply parsing, cache, retries and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from build_helpers import FakeOpenAI, tagged_reply

from recode.data.build.generate import (
    GenerationError,
    Generator,
    GeneratorConfig,
    PromptTemplate,
    RateLimiter,
    cache_key,
    check_syntax,
    parse_reply,
    resolve_api_key,
)
from recode.data.build.harvest import ReleaseEntry
from recode.errors import RecodeError

ENTRY = ReleaseEntry(
    "fakelib", "1.0", "2.0", "`old_fn` was removed; use `new_fn`.", "removal", "Removed", "n.md"
)


def test_packaged_template_renders_every_field() -> None:
    system, user = PromptTemplate.load().messages(ENTRY)
    assert system["role"] == "system" and user["role"] == "user"
    for value in ("fakelib", "1.0", "2.0", "removal", "Removed", ENTRY.text, "<old_code>", "<skip>"):
        assert value in user["content"]
    assert "${" not in user["content"] and "<!--" not in system["content"]


def test_custom_template_errors(tmp_path: Path) -> None:
    bad = tmp_path / "t.md"
    bad.write_text("[system]\nhi\n[user]\n${unknown}\n")
    with pytest.raises(RecodeError, match="placeholder"):
        PromptTemplate.load(bad).messages(ENTRY)
    bad.write_text("no sections here")
    with pytest.raises(RecodeError, match=r"\[system\]"):
        PromptTemplate.load(bad)


def test_parse_tagged_reply_with_reasoning() -> None:
    reply = "<think>the entry says...<old_code>nope</old_code></think>\n" + tagged_reply(
        "import fakelib\nprint(fakelib.old_fn(2))", "import fakelib\nprint(fakelib.new_fn(2))", "desc", "info"
    )
    parsed = parse_reply(reply)
    assert parsed.old_code == "import fakelib\nprint(fakelib.old_fn(2))"
    assert parsed.new_code == "import fakelib\nprint(fakelib.new_fn(2))"
    assert (parsed.description, parsed.update_info) == ("desc", "info")


def test_parse_unclosed_tags_and_unfenced_code() -> None:
    parsed = parse_reply("<old_code>\nx = 1\n<new_code>\n```py\nx = 2\n```")
    assert (parsed.old_code, parsed.new_code) == ("x = 1", "x = 2")


def test_parse_json_reply() -> None:
    parsed = parse_reply('```json\n{"description": "d", "old_code": "a()", "new_code": "b()"}\n```')
    assert (parsed.description, parsed.old_code, parsed.new_code) == ("d", "a()", "b()")


def test_parse_labelled_and_bare_fences() -> None:
    labelled = parse_reply("Old code:\n```python\na()\n```\n\nNew code:\n```python\nb()\n```")
    assert (labelled.old_code, labelled.new_code) == ("a()", "b()")
    bare = parse_reply("Here:\n```python\na()\n```\nthen\n```python\nb()\n```")
    assert (bare.old_code, bare.new_code) == ("a()", "b()")


def test_parse_skip_and_garbage() -> None:
    assert parse_reply("<skip>build-system change only</skip>").skip_reason == "build-system change only"
    assert not parse_reply("I cannot help with that.").complete
    assert not parse_reply("```python\nonly_one()\n```").complete


def test_check_syntax() -> None:
    assert check_syntax("x = 1") is None
    assert check_syntax("def f(:\n  pass").startswith("SyntaxError")


def test_cache_key_depends_on_model_prompt_and_sampling(tmp_path: Path) -> None:
    messages = PromptTemplate.load().messages(ENTRY)
    base = GeneratorConfig(model="m", cache_dir=tmp_path)
    assert cache_key(base, messages) == cache_key(
        GeneratorConfig(model="m", cache_dir=tmp_path / "x"), messages
    )
    assert cache_key(base, messages) != cache_key(GeneratorConfig(model="m2", cache_dir=tmp_path), messages)
    assert cache_key(base, messages) != cache_key(GeneratorConfig(model="m", temperature=0.9), messages)
    assert cache_key(base, messages) != cache_key(base, messages[:1])


def test_generate_uses_cache_on_second_call(openai_server: FakeOpenAI, tmp_path: Path) -> None:
    openai_server.responder = lambda messages: tagged_reply("a()", "b()")
    config = GeneratorConfig(
        model="m", base_url=openai_server.base_url, cache_dir=tmp_path, requests_per_minute=0
    )
    first = Generator(config).generate(ENTRY)
    second = Generator(config).generate(ENTRY)
    assert (first.cached, second.cached) == (False, True)
    assert first.reply == second.reply and first.usage == {"prompt_tokens": 500, "completion_tokens": 200}
    assert len(openai_server.requests) == 1
    assert openai_server.requests[0]["model"] == "m" and openai_server.requests[0]["temperature"] == 0.2


def test_generate_retries_rate_limits_and_server_errors(openai_server: FakeOpenAI, tmp_path: Path) -> None:
    answers = iter([(429, "slow down"), (503, "overloaded"), tagged_reply("a()", "b()")])
    openai_server.responder = lambda messages: next(answers)
    config = GeneratorConfig(
        model="m", base_url=openai_server.base_url, cache_dir=tmp_path, requests_per_minute=0
    )
    assert parse_reply(Generator(config).generate(ENTRY).reply).new_code == "b()"
    assert len(openai_server.requests) == 3


def test_generate_gives_up_and_reports(openai_server: FakeOpenAI, tmp_path: Path) -> None:
    openai_server.responder = lambda messages: (429, "quota")
    config = GeneratorConfig(
        model="m", base_url=openai_server.base_url, cache_dir=tmp_path, requests_per_minute=0, max_retries=1
    )
    with pytest.raises(GenerationError, match="gave up after 2 attempts"):
        Generator(config).generate(ENTRY)
    assert not list(tmp_path.iterdir())  # failures are never cached


def test_auth_error_stops_with_a_hint(openai_server: FakeOpenAI, tmp_path: Path) -> None:
    openai_server.responder = lambda messages: (401, "invalid api key")
    config = GeneratorConfig(model="m", base_url=openai_server.base_url, cache_dir=tmp_path)
    with pytest.raises(RecodeError, match="AuthenticationError") as info:
        Generator(config).generate(ENTRY)
    assert "--model" in str(info.value.hint)


def test_api_key_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECODE_TEST_KEY", raising=False)
    local = GeneratorConfig(model="m", base_url="http://localhost:8000/v1", api_key_env="RECODE_TEST_KEY")
    assert resolve_api_key(local) == "EMPTY"
    hosted = GeneratorConfig(model="m", base_url="https://api.example.com/v1", api_key_env="RECODE_TEST_KEY")
    with pytest.raises(RecodeError, match="RECODE_TEST_KEY"):
        resolve_api_key(hosted)
    monkeypatch.setenv("RECODE_TEST_KEY", "sk-test")
    assert resolve_api_key(hosted) == "sk-test"


def test_rate_limiter_spaces_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("recode.data.build.generate.time.sleep", sleeps.append)
    limiter = RateLimiter(per_minute=120)  # one every 0.5 s
    for _ in range(3):
        limiter.wait()
    assert sleeps[0] == 0 and sleeps[2] == pytest.approx(1.0, abs=0.05)


def test_other_client_errors_fail_the_entry_without_retrying(
    openai_server: FakeOpenAI, tmp_path: Path
) -> None:
    openai_server.responder = lambda messages: (422, "prompt too long")
    config = GeneratorConfig(model="m", base_url=openai_server.base_url, cache_dir=tmp_path)
    with pytest.raises(GenerationError, match="HTTP 422"):
        Generator(config).generate(ENTRY)
    assert len(openai_server.requests) == 1


def test_newer_openai_models_get_max_completion_tokens(openai_server: FakeOpenAI, tmp_path: Path) -> None:
    """Reasoning models refuse `max_tokens` (naming the replacement) and any non-default temperature."""

    def answer(messages: list[dict[str, str]]) -> tuple[int, str] | str:
        body = openai_server.requests[-1]
        if "max_tokens" in body:
            return 400, "Unsupported parameter: 'max_tokens'. Use 'max_completion_tokens' instead."
        if body["temperature"] != 1:
            return 400, "Unsupported value: 'temperature' does not support 0.2 with this model."
        return tagged_reply("a()", "b()")

    openai_server.responder = answer
    config = GeneratorConfig(
        model="m", base_url=openai_server.base_url, cache_dir=tmp_path, requests_per_minute=0, temperature=1
    )
    generator = Generator(config)
    assert parse_reply(generator.generate(ENTRY).reply).new_code == "b()"
    assert openai_server.requests[-1]["max_completion_tokens"] == 2048 and len(openai_server.requests) == 2
    generator.generate(ReleaseEntry("fakelib", "1.0", "2.0", "other", "removal", "Removed", "n.md"))
    assert len(openai_server.requests) == 3  # the switch is remembered
    with pytest.raises(RecodeError, match="temperature") as info:
        Generator(
            GeneratorConfig(model="m", base_url=openai_server.base_url, cache_dir=tmp_path / "t")
        ).generate(ENTRY)
    assert "--temperature 1" in str(info.value.hint)
