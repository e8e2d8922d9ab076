"""The execution reward: run the migrated code (and the row's checks) in `recode.sandbox`.

Why: ReCode's paper names string matching as its own limitation: a correct migration spelled
differently from the target loses ES* reward. Running the code judges behaviour instead. A row may carry
`exec_setup` (run first, e.g. it installs a fake library's *new* API into `sys.modules`) and
`exec_tests` (run last: asserts that exercise the migrated code); both are optional.

Verdicts, best first (`ExecScores`, on ES*'s [-2, 2] scale so the two combine by weights):
- `passed` (+2.0): the code and every check ran to the end;
- `ran` (0.0): the code ran to the end but a check failed, or the row has no checks;
- `failed` (-1.5): the code raised, timed out or blew a limit;
- `invalid` (-2.0): no ```python fence or a syntax error (never sent to the sandbox);
- None ("not applicable", ignored by TRL): the row's own `exec_setup` failed, so the code was not judged.

Each part runs in one namespace (`__name__ == "__main__"`) through `exec(compile(...))`, so a
`from __future__` import in the code stays legal and a traceback names the part (`<solution>`,
`<exec_tests>`). Progress is proven by printing a random per-call nonce after each part, so `sys.exit(0)`
or `os._exit` can never pass as success (not proof against code that reads its own source).

The sandbox (a pool of fork-servers) is started on the first call that has code to run and reused
on every later call: rewards run on every training step.
"""

from __future__ import annotations

import atexit
import json
import logging
import secrets
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from recode.errors import RecodeError
from recode.rewards._batch import Reward, Scores, batch_or_single
from recode.rewards.extract import completion_text, extract_code, parses

if TYPE_CHECKING:
    from recode.sandbox import Sandbox, SandboxLimits, SandboxResult

log = logging.getLogger(__name__)

EXEC_LIMITS: dict[str, Any] = {"timeout_s": 5.0, "memory_mb": 1024, "output_bytes": 100_000}
"""Per-program limits for rollouts: migration snippets are small; a stuck rollout must not stall a step.
(A dict, not a `SandboxLimits`: `recode.sandbox` is imported only when code first runs, so importing
`recode.rewards`, e.g. for `extract`, never depends on the sandbox.)"""

_LIMIT_KEYS = ("timeout_s", "memory_mb", "output_bytes")

_PROGRAM = """\
import builtins as _recode_builtins, os as _recode_os
_recode_ns = {{"__name__": "__main__", "__builtins__": _recode_builtins}}
exec(compile({setup!r}, "<exec_setup>", "exec"), _recode_ns)
_recode_os.write(1, {setup_done!r})
exec(compile({code!r}, "<solution>", "exec"), _recode_ns)
_recode_os.write(1, {code_done!r})
exec(compile({tests!r}, "<exec_tests>", "exec"), _recode_ns)
_recode_os.write(1, {tests_done!r})
"""
"""Markers go straight to file descriptor 1, so code that replaces `sys.stdout` cannot hide them."""


VERDICTS = ("passed", "ran", "failed", "invalid", "setup_failed")


@dataclass(frozen=True)
class ExecScores:
    """Reward per verdict; the order passed > ran > failed >= invalid is what the reward means."""

    passed: float = 2.0
    ran: float = 0.0
    failed: float = -1.5
    invalid: float = -2.0

    def __post_init__(self) -> None:
        if not self.passed > self.ran > self.failed >= self.invalid:
            raise RecodeError(
                f"exec scores must satisfy passed > ran > failed >= invalid, got {self}",
                hint="e.g. ExecScores(passed=2.0, ran=0.0, failed=-1.5, invalid=-2.0)",
            )


def checks_text(value: Any) -> str:
    """An `exec_setup` / `exec_tests` cell as Python source.

    Accepts a string, a list of statements, or such a list JSON-encoded (how `recode data convert`
    stores nested extra columns for Arrow); None or empty means "no checks".
    """
    if value is None:
        return ""
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            try:
                decoded = json.loads(value)
            except json.JSONDecodeError:
                return value
            if isinstance(decoded, list) and all(isinstance(v, str) for v in decoded):
                return "\n".join(decoded)
        return value
    if isinstance(value, Sequence):
        return "\n".join(str(v) for v in value)
    return str(value)


def program(code: str, setup: str, tests: str, tag: str) -> str:
    """The sandbox program for one completion; `tag` (with a secret nonce) marks each finished part."""
    done = {f"{part}_done": f"\n{tag}{part}\n".encode() for part in ("setup", "code", "tests")}
    return _PROGRAM.format(setup=setup, code=code, tests=tests, **done)


def verdict(result: SandboxResult, tag: str, has_checks: bool) -> str:
    """`passed` / `ran` / `failed` / `setup_failed` from the markers printed and how the program ended.

    Passing needs the last marker *and* a clean exit (a program that printed it, then hung in an
    atexit hook or a thread, only ran). No setup marker means the code was never judged.
    """
    out = result.stdout
    if f"{tag}tests" in out and result.status == "ok":
        return "passed" if has_checks else "ran"
    if f"{tag}code" in out:
        return "ran"
    if f"{tag}setup" not in out:
        return "setup_failed"
    return "failed"


def _limits(values: Mapping[str, Any]) -> SandboxLimits:
    """`SandboxLimits` from plain values (validated there: a bad limit is a RecodeError)."""
    from recode.sandbox import SandboxLimits

    return SandboxLimits(**values)


class ExecReward:
    """A TRL reward function (`fn(completions, target=None, **columns)`) that owns a lazily started sandbox.

    `limits` default to `EXEC_LIMITS`. `preload` defaults to nothing: the fork-server then starts in
    well under a second; name heavy modules the checks import (e.g. `("numpy",)`) to pay their import
    once instead of per program.
    `python=` runs the programs under another interpreter (e.g. a venv with the library's new version).
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        scores: ExecScores = ExecScores(),
        preload: Sequence[str] = (),
        workers: int | None = None,
        python: str | None = None,
        name: str = "exec",
    ) -> None:
        self.limits = limits
        self.scores = scores
        self.preload = tuple(preload)
        self.workers = workers
        self.python = python
        self.__name__ = name
        self._sandbox: Sandbox | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ExecReward:
        """Build one from a config section, e.g. `{timeout_s: 3, preload: [numpy], scores: {ran: 0.5}}`.

        Unknown keys are an error that lists the known ones (a typo would otherwise be ignored silently).
        """
        known = {*_LIMIT_KEYS, "scores", "preload", "workers", "python"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise RecodeError(
                f"unknown option(s) for the exec reward: {', '.join(unknown)}",
                hint=f"known: {', '.join(sorted(known))}",
            )
        limits = {key: options[key] for key in _LIMIT_KEYS if key in options}
        scores = dict(options.get("scores") or {})
        unknown = sorted(set(scores) - set(VERDICTS[:4]))
        if unknown:
            raise RecodeError(f"unknown exec score(s): {', '.join(unknown)}", hint=f"known: {VERDICTS[:4]}")
        return cls(
            _limits({**EXEC_LIMITS, **limits}),
            scores=ExecScores(**{key: float(value) for key, value in scores.items()}),
            preload=tuple(options.get("preload", ())),
            workers=options.get("workers"),
            python=options.get("python"),
        )

    def __call__(self, completions: Any, target: Any = None, **kwargs: Any) -> Scores:
        columns = {"exec_setup": kwargs.get("exec_setup"), "exec_tests": kwargs.get("exec_tests")}
        verdicts: list[str] = []

        def score(batch: list[Any], aligned: dict[str, list[Any]]) -> list[Reward]:
            verdicts.extend(self.judge(batch, aligned["exec_setup"], aligned["exec_tests"]))
            return [self._value(v) for v in verdicts]

        scores = batch_or_single(score, completions, columns, self.__name__)
        log_metric = kwargs.get("log_metric")
        if callable(log_metric) and verdicts:
            counts = Counter(verdicts)
            for key in VERDICTS:
                log_metric(f"{self.__name__}/{key}", counts.get(key, 0) / len(verdicts))
        return scores

    def judge(self, completions: Sequence[Any], setups: Sequence[Any], tests: Sequence[Any]) -> list[str]:
        """One verdict from `VERDICTS` per completion; all programs of the batch run in parallel."""
        tag = f"__recode_exec_{secrets.token_hex(8)}_"
        verdicts = ["invalid"] * len(completions)
        jobs: list[tuple[int, str, bool]] = []
        for i, (completion, setup, test) in enumerate(zip(completions, setups, tests, strict=True)):
            code = extract_code(completion_text(completion))
            if code is None or not parses(code):
                continue
            setup_src, tests_src = checks_text(setup), checks_text(test)
            jobs.append((i, program(code, setup_src, tests_src, tag), bool(tests_src.strip())))
        if jobs:
            results = self.sandbox().run_many([source for _, source, _ in jobs], progress=False)
            for (i, _, has_checks), result in zip(jobs, results, strict=True):
                verdicts[i] = verdict(result, tag, has_checks)
                if verdicts[i] == "setup_failed":
                    log.warning(
                        "exec reward: a row's exec_setup did not finish (%s: %s); its reward is left out",
                        result.error_type or result.status,
                        result.error_message,
                    )
        return verdicts

    def _value(self, outcome: str) -> Reward:
        return None if outcome == "setup_failed" else float(getattr(self.scores, outcome))

    def sandbox(self) -> Sandbox:
        """The shared sandbox, started on first use (thread-safe)."""
        with self._lock:
            if self._sandbox is None:
                from recode.sandbox import Sandbox

                self._sandbox = Sandbox(
                    self.limits or _limits(EXEC_LIMITS),
                    preload=self.preload,
                    workers=self.workers,
                    python=self.python,
                )
            return self._sandbox

    def close(self) -> None:
        """Stop the sandbox's servers; a later call starts a new one."""
        with self._lock:
            sandbox, self._sandbox = self._sandbox, None
        if sandbox is not None:
            sandbox.close()


exec_reward = ExecReward()
"""The registry's `exec`: default limits and scores, sandbox shared by every caller in the process."""
atexit.register(exec_reward.close)
