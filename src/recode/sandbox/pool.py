"""`Sandbox` (pools of fork-servers), `run_program` (one program, fresh interpreter) and tier detection.

Why pools of servers rather than one server forking concurrently: each server runs one program at a
time, so its supervision loop stays simple and a program that wrecks its server costs one restart, not
every program in flight. Parallelism is one program per core; each program goes to the lightest pool
that preloads the modules it names.
"""

from __future__ import annotations

import functools
import os
import queue
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
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


class _Pool:
    """`workers` fork-servers that all preload the same modules; started on first use."""

    def __init__(self, sandbox: Sandbox, preload: tuple[str, ...]) -> None:
        self.sandbox = sandbox
        self.preload = preload
        self.servers: list[ForkServer] = []
        self.idle: queue.SimpleQueue[ForkServer] = queue.SimpleQueue()
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start all servers at once (their preloads overlap instead of adding up); idempotent."""
        with self._lock:
            if self.servers:
                return
            box = self.sandbox
            launch = functools.partial(ForkServer, box.isolation, box.python, self.preload)
            with ThreadPoolExecutor(box.workers) as pool:
                futures = [pool.submit(launch) for _ in range(box.workers)]
                started = [_result_or_none(f) for f in futures]
            if None in started:
                for server in filter(None, started):
                    server.close()
                futures[started.index(None)].result()  # re-raises the start-up error
            self.servers = [s for s in started if s is not None]
            for server in self.servers:
                self.idle.put(server)

    def close(self) -> None:
        with self._lock:
            servers, self.servers = self.servers, []
        for server in servers:
            server.close()


def _result_or_none(future: Future[ForkServer]) -> ForkServer | None:
    try:
        return future.result()
    except RecodeError:
        return None


def route(source: str, preload: Sequence[str]) -> tuple[str, ...]:
    """The shortest prefix of `preload` that covers every preloaded module `source` names.

    Why: forking a server with torch loaded costs ~20 ms (page tables of ~250 MB), one with only numpy
    ~2 ms, and most programs never touch torch. Listing `preload` from light to heavy lets each program
    run on the lightest server that has what it names. A program that imports a module indirectly still
    works on a lighter server, only paying that import itself.
    """
    last = -1
    for index, name in enumerate(preload):
        if re.search(rf"\b{re.escape(name.split('.')[0])}\b", source):
            last = index
    return tuple(preload[: last + 1])


class Sandbox:
    """Runs untrusted programs in isolated fork-servers with `preload` modules imported once.

    Use it as a context manager (`with Sandbox(limits) as box: box.run_many(sources)`); `close` stops
    the servers. Each program runs on the lightest server that preloads what it names (see `route`);
    servers for each such preload set start on first use, `workers` of them. At most `workers` programs
    run at once, whatever the number of calling threads. `python=` runs programs under another
    interpreter (e.g. a per-library-version venv); `isolation=` forces a (weaker) tier instead of the
    detected one, e.g. to test it.
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
        self.preload = tuple(preload)
        self.python = str(python or sys.executable)
        self.isolation = isolation or isolation_tier()
        self.workers = workers or default_workers()
        self._pools: dict[tuple[str, ...], _Pool] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.workers)
        self._closed = False
        self._pool(())  # fail here, not mid-run, if the interpreter or the isolation cannot start

    def _pool(self, preload: tuple[str, ...]) -> _Pool:
        with self._lock:
            if self._closed:
                raise RecodeError("this Sandbox is closed", "create a new Sandbox (or use it inside `with`)")
            pool = self._pools.setdefault(preload, _Pool(self, preload))
        pool.start()
        return pool

    @property
    def preloaded(self) -> list[str]:
        """Modules the started servers actually imported (one missing from the interpreter is skipped)."""
        servers = [server for pool in list(self._pools.values()) for server in pool.servers]
        found = {name for server in servers for name in server.info["preloaded"]}
        return [name for name in self.preload if name in found]

    def run(self, source: str, limits: SandboxLimits | None = None) -> SandboxResult:
        """Run one program (as `__main__`, in a fresh scratch dir) and return its classified result."""
        pool = self._pool(route(source, self.preload))
        with self._slots:
            server = pool.idle.get()
            try:
                return server.execute(source, limits or self.limits)
            finally:
                pool.idle.put(server)

    def run_many(
        self, sources: Sequence[str], limits: SandboxLimits | None = None, *, progress: bool | str = True
    ) -> list[SandboxResult]:
        """Run programs in parallel (`workers` at a time); results come back in input order.

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
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

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
