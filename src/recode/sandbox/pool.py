"""`Sandbox` (a pool of fork-servers), `run_program` (one program, fresh interpreter) and tier detection.

Why a pool of servers rather than one server forking concurrently: each server runs one program at a
time, so its supervision loop stays simple and a program that wrecks its server costs one restart, not
every program in flight. Parallelism is one server per core, each with the heavy modules preloaded.
"""

from __future__ import annotations

import functools
import os
import queue
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from types import TracebackType

from recode.errors import RecodeError
from recode.sandbox.forkserver import ForkServer
from recode.sandbox.isolation import FORCE_ENV, TIERS, tool_available
from recode.sandbox.result import SandboxLimits, SandboxResult

DEFAULT_PRELOAD = ("numpy", "torch", "sympy")
_PROBE = "import os\nprint('sandbox-probe', os.getcwd())\n"


@functools.lru_cache(maxsize=1)
def isolation_tier() -> str:
    """The strongest tier that actually runs a program here; detected once per process, then cached.

    Each candidate is proven by starting a real server and running a probe program, because a launcher
    that exists may still be refused by the kernel (e.g. user namespaces disabled in a container).
    """
    forced = os.environ.get(FORCE_ENV)
    if forced:
        if forced not in TIERS:
            raise _unknown_tier(forced, f"{FORCE_ENV}={forced!r}")
        return forced
    for tier in TIERS[:-1]:
        if tool_available(tier) and probe_tier(tier):
            return tier
    warnings.warn(
        "recode.sandbox: neither bubblewrap nor unshare namespaces work here; programs run as plain "
        "subprocesses with rlimits and an audit-hook guard only (no network/file-system isolation). "
        "Install bubblewrap (`apt install bubblewrap`) for real isolation.",
        RuntimeWarning,
        stacklevel=2,
    )
    return "subprocess"


def _unknown_tier(tier: str, where: str) -> RecodeError:
    hint = f"use one of {', '.join(TIERS)}"
    return RecodeError(f"unknown sandbox isolation tier {tier!r} (from {where})", hint)


def probe_tier(tier: str) -> bool:
    """Whether `tier` can start a server here and run a program in it (used once by detection)."""
    try:
        server = ForkServer(tier, sys.executable, ())
    except RecodeError:
        return False
    try:
        result = server.execute(_PROBE, SandboxLimits(timeout_s=30.0, memory_mb=256))
    finally:
        server.close()
    return result.status == "ok" and result.stdout.startswith("sandbox-probe")


def default_workers() -> int:
    """One server per usable core: programs are CPU-bound and each server runs one at a time."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class Sandbox:
    """Runs untrusted programs in a pool of isolated fork-servers with `preload` modules imported once.

    Use it as a context manager (`with Sandbox(limits) as box: box.run_many(sources)`); `close` stops
    the servers. `python=` runs programs under another interpreter (e.g. a per-library-version venv);
    `isolation=` forces a (weaker) tier instead of the detected one, e.g. to test it.
    Safe to call `run` from several threads: each call borrows an idle server.
    """

    def __init__(
        self,
        limits: SandboxLimits = SandboxLimits(),
        *,
        preload: Sequence[str] = DEFAULT_PRELOAD,
        workers: int | None = None,
        python: str | None = None,
        isolation: str | None = None,
    ) -> None:
        if workers is not None and workers < 1:
            raise RecodeError(f"sandbox workers must be at least 1, got {workers}")
        if isolation is not None and isolation not in TIERS:
            raise _unknown_tier(isolation, "isolation=")
        self.limits = limits
        self.python = str(python or sys.executable)
        self.isolation = isolation or isolation_tier()
        self.workers = workers or default_workers()
        self._idle: queue.SimpleQueue[ForkServer] = queue.SimpleQueue()
        self._servers: list[ForkServer] = []
        self._start(tuple(preload))

    def _start(self, preload: tuple[str, ...]) -> None:
        """Start all servers at once: their preloads overlap instead of adding up."""
        with ThreadPoolExecutor(self.workers) as pool:
            launch = functools.partial(ForkServer, self.isolation, self.python, preload)
            futures = [pool.submit(launch) for _ in range(self.workers)]
            for future in futures:
                try:
                    self._servers.append(future.result())
                except RecodeError:
                    self.close()
                    raise
        for server in self._servers:
            self._idle.put(server)

    @property
    def preloaded(self) -> list[str]:
        """Modules the servers actually imported (a module missing from the interpreter is skipped)."""
        return list(self._servers[0].info.get("preloaded", [])) if self._servers else []

    def run(self, source: str, limits: SandboxLimits | None = None) -> SandboxResult:
        """Run one program (as `__main__`, in a fresh scratch dir) and return its classified result."""
        if not self._servers:
            raise RecodeError("this Sandbox is closed", "create a new Sandbox (or use it inside `with`)")
        server = self._idle.get()
        try:
            return server.execute(source, limits or self.limits)
        finally:
            self._idle.put(server)

    def run_many(
        self, sources: Sequence[str], limits: SandboxLimits | None = None, *, progress: bool | str = True
    ) -> list[SandboxResult]:
        """Run programs in parallel (one per server); results come back in input order.

        `progress` shows a rich progress bar; a string is used as its label.
        """
        results: list[SandboxResult | None] = [None] * len(sources)
        with _progress(progress, len(sources)) as advance, ThreadPoolExecutor(self.workers) as pool:
            futures = {pool.submit(self.run, source, limits): i for i, source in enumerate(sources)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                advance()
        return [r for r in results if r is not None]

    def close(self) -> None:
        """Stop every server (idempotent)."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def run_program(
    source: str,
    limits: SandboxLimits = SandboxLimits(),
    *,
    python: str | None = None,
    isolation: str | None = None,
) -> SandboxResult:
    """Run one program in a fresh, isolated interpreter (nothing preloaded); for one-off runs.

    Many programs under the same interpreter are much faster through one `Sandbox` (fork-server).
    """
    with Sandbox(limits, preload=(), workers=1, python=python, isolation=isolation) as box:
        return box.run(source)


@contextmanager
def _progress(progress: bool | str, total: int) -> Iterator[Callable[[], None]]:
    if not progress or total <= 1:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    label = progress if isinstance(progress, str) else "sandbox"
    columns = (TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)
