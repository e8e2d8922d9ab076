"""Step 2 of `recode data build`: ask an OpenAI-compatible model for a migration pair per entry.

Why our own retry/rate-limit/cache around the `openai` client: a build sends hundreds of requests to a
hosted API (rate limits, 5xx) or a local vLLM server (slow start), and is re-run after every prompt or
filter tweak. The on-disk cache keyed by model + prompt + sampling makes re-runs free, and stores the raw
reply so a better parser never needs a new request.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import random
import re
import string
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from recode.data.build.harvest import ReleaseEntry
from recode.errors import RecodeError

DEFAULT_TEMPLATE = "prompt_template.md"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "[::1]")
_TAGS = ("description", "update_info", "old_code", "new_code")


@dataclass(frozen=True)
class GeneratorConfig:
    """Where to send prompts and how hard to push the endpoint."""

    model: str
    base_url: str | None = None  # None: api.openai.com; a vLLM server: http://localhost:8000/v1
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.2
    max_tokens: int = 2048
    requests_per_minute: float = 60.0  # 0 disables the limiter (a local server)
    max_retries: int = 6
    timeout_s: float = 180.0
    cache_dir: Path = Path(".recode-build/cache")
    template: Path | None = None  # None: the packaged prompt_template.md


@dataclass(frozen=True)
class ParsedReply:
    """The fields read from a model reply; `skip_reason` is set when the model declined the entry."""

    description: str | None = None
    update_info: str | None = None
    old_code: str | None = None
    new_code: str | None = None
    skip_reason: str | None = None

    @property
    def complete(self) -> bool:
        return bool(self.old_code and self.new_code)


@dataclass(frozen=True)
class Generation:
    """One model reply for one entry, and what it cost."""

    reply: str
    prompt_sha256: str
    cached: bool
    usage: dict[str, int] = field(default_factory=dict)


class GenerationError(Exception):
    """A request for one entry failed for good (bad request, retries exhausted); the run goes on."""


@dataclass(frozen=True)
class PromptTemplate:
    """System and user message templates (`string.Template`, `${name}` placeholders) from one file."""

    system: str
    user: str

    @classmethod
    def load(cls, path: Path | None = None) -> PromptTemplate:
        """Read `[system]`/`[user]` sections; the leading `<!-- -->` comment documents the file."""
        if path is None:
            text = resources.files("recode.data.build").joinpath(DEFAULT_TEMPLATE).read_text("utf-8")
        elif not Path(path).is_file():
            raise RecodeError(f"{path}: no such prompt template", hint="copy the packaged prompt_template.md")
        else:
            text = Path(path).read_text("utf-8")
        text = re.sub(r"\A\s*<!--.*?-->", "", text, flags=re.S)
        match = re.search(r"^\[system\]\s*\n(.*?)^\[user\]\s*\n(.*)\Z", text, flags=re.S | re.M)
        if not match:
            raise RecodeError(
                f"{path or DEFAULT_TEMPLATE}: expected a `[system]` section followed by a `[user]` section",
                hint="keep the two section markers on lines of their own",
            )
        return cls(system=match.group(1).strip(), user=match.group(2).strip())

    def messages(self, entry: ReleaseEntry) -> list[dict[str, str]]:
        """Chat messages for `entry`; an unknown `${name}` in the template is a clear error."""
        values = {
            "library": entry.library,
            "old_version": entry.old_version,
            "new_version": entry.new_version,
            "kind": entry.kind,
            "section": entry.section,
            "entry": entry.text,
        }
        try:
            return [
                {"role": "system", "content": string.Template(self.system).substitute(values)},
                {"role": "user", "content": string.Template(self.user).substitute(values)},
            ]
        except (KeyError, ValueError) as exc:
            raise RecodeError(
                f"prompt template has an unknown or malformed placeholder: {exc}",
                hint="use only "
                + ", ".join(f"${{{name}}}" for name in values)
                + "; write $$ for a literal $",
            ) from None


class RateLimiter:
    """Spaces request starts evenly (thread-safe): N per minute means one every 60/N seconds."""

    def __init__(self, per_minute: float) -> None:
        self._interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        time.sleep(max(0.0, start - now))


class Generator:
    """Thread-safe: one instance serves all worker threads of a build."""

    def __init__(self, config: GeneratorConfig, template: PromptTemplate | None = None) -> None:
        self.config = config
        self.template = template or PromptTemplate.load(config.template)
        self._limiter = RateLimiter(config.requests_per_minute)
        self._client: Any = None
        self._client_lock = threading.Lock()
        # OpenAI's newer (reasoning) models refuse `max_tokens` and name `max_completion_tokens` instead;
        # switched once on that refusal, for every later request of the build
        self._length_param = "max_tokens"

    def request_key(self, entry: ReleaseEntry) -> str:
        """The cache key of the request for `entry`: changes with the model, prompt or sampling."""
        return cache_key(self.config, self.template.messages(entry))

    def generate(self, entry: ReleaseEntry) -> Generation:
        """The reply for `entry`, from the cache when this exact request was answered before."""
        messages = self.template.messages(entry)
        key = cache_key(self.config, messages)
        path = self.config.cache_dir / f"{key}.json"
        if path.is_file():
            try:
                cached = json.loads(path.read_text("utf-8"))
                return Generation(cached["reply"], key, cached=True, usage=cached.get("usage", {}))
            except (json.JSONDecodeError, KeyError):
                path.unlink(missing_ok=True)  # a torn write from a crash: ask again
        reply, usage = self._request(messages)
        _write_atomic(
            path, {"model": self.config.model, "messages": messages, "reply": reply, "usage": usage}
        )
        return Generation(reply, key, cached=False, usage=usage)

    def _request(self, messages: list[dict[str, str]]) -> tuple[str, dict[str, int]]:
        import openai

        client = self._openai_client()
        for attempt in range(self.config.max_retries + 1):
            self._limiter.wait()
            try:
                response = client.chat.completions.create(
                    model=self.config.model,
                    messages=messages,
                    temperature=self.config.temperature,
                    **{self._length_param: self.config.max_tokens},
                )
            except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as exc:
                raise RecodeError(
                    f"the endpoint refused the request ({type(exc).__name__}): {_short(exc)}",
                    hint=f"check --model {self.config.model!r}, --base-url and ${self.config.api_key_env}",
                ) from None
            except openai.BadRequestError as exc:
                if "max_completion_tokens" in str(exc) and self._length_param == "max_tokens":
                    self._length_param = "max_completion_tokens"
                    continue
                if "temperature" in str(exc):
                    raise RecodeError(
                        f"the model refuses the sampling temperature: {_short(exc)}",
                        hint="reasoning models accept only their default: pass --temperature 1",
                    ) from None
                raise GenerationError(f"bad request: {_short(exc)}") from None
            except (openai.RateLimitError, openai.APIConnectionError, openai.InternalServerError) as exc:
                if attempt == self.config.max_retries:
                    raise GenerationError(f"gave up after {attempt + 1} attempts: {_short(exc)}") from None
                time.sleep(_backoff(attempt, exc))
                continue
            except openai.APIStatusError as exc:  # other 4xx: this request is wrong, retrying won't help
                raise GenerationError(f"HTTP {exc.status_code}: {_short(exc)}") from None
            return _reply_text(response), _usage(response)
        raise AssertionError("unreachable")

    def _openai_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(
                    base_url=self.config.base_url,
                    api_key=resolve_api_key(self.config),
                    max_retries=0,  # retries are ours: they honour Retry-After and the rate limiter
                    timeout=self.config.timeout_s,
                )
            return self._client


def resolve_api_key(config: GeneratorConfig) -> str:
    """The key from `$api_key_env`; a local server (vLLM) needs none, so it gets a placeholder."""
    key = os.environ.get(config.api_key_env)
    if key:
        return key
    if config.base_url and any(f"//{host}" in config.base_url for host in LOCAL_HOSTS):
        return "EMPTY"
    raise RecodeError(
        f"no API key: ${config.api_key_env} is not set",
        hint=f"export {config.api_key_env}=... or name another variable with --api-key-env",
    )


def cache_key(config: GeneratorConfig, messages: list[dict[str, str]]) -> str:
    """Hash of everything that changes the reply: model, messages and sampling settings."""
    payload = {
        "model": config.model,
        "messages": messages,
        "temperature": config.temperature,
        "max_tokens": config.max_tokens,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def parse_reply(text: str) -> ParsedReply:
    """Read description, update_info, old_code and new_code from a reply, tolerating the usual drift.

    Tried in order: `<skip>`; the requested tags (a missing closing tag ends at the next tag); a JSON
    object with those keys; "old/before" and "new/after" labels followed by code blocks; finally the
    first two ```python blocks. Reasoning in `<think>` is ignored.
    """
    text = re.sub(r"<think>.*?</think>", "", text, flags=re.S | re.I).strip()
    skip = re.search(r"<skip>(.*?)(?:</skip>|\Z)", text, flags=re.S | re.I)
    if skip and "<old_code>" not in text.lower():
        return ParsedReply(skip_reason=skip.group(1).strip() or "declined")
    for reader in (_from_tags, _from_json, _from_labels, _from_fences):
        parsed = reader(text)
        if parsed.complete:
            return parsed
    return ParsedReply()


def check_syntax(code: str) -> str | None:
    """None if `code` parses, else `SyntaxError: message (line N)`: cheap to check before a sandbox run."""
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return f"SyntaxError: {exc.msg} (line {exc.lineno})"
    return None


def _from_tags(text: str) -> ParsedReply:
    found: dict[str, str] = {}
    for tag in _TAGS:
        match = re.search(rf"<{tag}>(.*?)(?=</{tag}>|<(?:{'|'.join(_TAGS)})>|\Z)", text, flags=re.S | re.I)
        if match:
            found[tag] = match.group(1).strip()
    return ParsedReply(
        description=found.get("description"),
        update_info=found.get("update_info"),
        old_code=_code(found.get("old_code")),
        new_code=_code(found.get("new_code")),
    )


def _from_json(text: str) -> ParsedReply:
    for match in re.finditer(r"\{.*\}", text, flags=re.S):
        try:
            obj = json.loads(match.group(0))
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            values = {tag: obj.get(tag) if isinstance(obj.get(tag), str) else None for tag in _TAGS}
            return ParsedReply(
                description=values["description"],
                update_info=values["update_info"],
                old_code=_code(values["old_code"]),
                new_code=_code(values["new_code"]),
            )
    return ParsedReply()


def _from_labels(text: str) -> ParsedReply:
    fence = r"```[ \t]*(?:python|py)?[ \t]*\n(.*?)```"
    old = re.search(rf"(?:old|legacy|before)[^\n`]*\n+\s*{fence}", text, flags=re.S | re.I)
    new = re.search(rf"(?:new|migrated|updated|after)[^\n`]*\n+\s*{fence}", text, flags=re.S | re.I)
    if not (old and new) or old.start() == new.start():
        return ParsedReply()
    return ParsedReply(old_code=old.group(1).strip("\n"), new_code=new.group(1).strip("\n"))


def _from_fences(text: str) -> ParsedReply:
    blocks = re.findall(r"```[ \t]*(?:python|py)[ \t]*\n(.*?)```", text, flags=re.S | re.I)
    if len(blocks) != 2:
        return ParsedReply()
    return ParsedReply(old_code=blocks[0].strip("\n"), new_code=blocks[1].strip("\n"))


def _code(value: str | None) -> str | None:
    """Code inside a ``` fence if there is one, else the text itself; None when empty."""
    if not value:
        return None
    match = re.search(r"```[ \t]*[\w+-]*[ \t]*\n(.*?)(?:```|\Z)", value, flags=re.S)
    code = (match.group(1) if match else value).strip("\n")
    return code if code.strip() else None


def _reply_text(response: Any) -> str:
    choices = getattr(response, "choices", None) or []
    content = choices[0].message.content if choices else None
    if not content:
        raise GenerationError("the endpoint returned an empty reply")
    return str(content)


def _usage(response: Any) -> dict[str, int]:
    usage = getattr(response, "usage", None)
    if usage is None:
        return {}
    return {
        "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
        "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
    }


def _backoff(attempt: int, exc: Exception) -> float:
    """Retry-After when the server sends it, else exponential (1, 2, 4 … 60 s) with jitter."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    try:
        return min(120.0, float(headers.get("retry-after")))
    except (TypeError, ValueError):
        return min(60.0, 2.0**attempt) * random.uniform(0.5, 1.0)


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


def _write_atomic(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
