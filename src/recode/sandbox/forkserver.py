"""Host side of one fork-server: start it under an isolation tier, send programs, survive its death.

Why the host keeps its own deadline: the server enforces each program's limits, but a program may kill
or wedge the server itself (possible in the `subprocess` tier). The host then kills the server's whole
process tree, reports the program as `killed`/`timeout`, and starts a fresh server for the next one.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from collections.abc import Sequence
from typing import IO, Any

from recode.errors import RecodeError
from recode.sandbox.isolation import server_argv, server_env
from recode.sandbox.result import SandboxLimits, SandboxResult, from_outcome, supervisor_failure

_HEADER = struct.Struct(">I")
START_TIMEOUT_S = 180.0
"""Preloading torch takes ~1 s alone, but far longer on a loaded 2-core machine or a cold disk."""
_SLACK_S = 10.0
"""Host deadline beyond the program's own: the server needs up to ~2 s to drain pipes and reap."""


class ServerDied(Exception):
    """The fork-server stopped answering (it exited, or missed the host's deadline and was killed)."""

    def __init__(self, message: str, *, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class ForkServer:
    """One running fork-server process; `execute` is not thread-safe (one program at a time)."""

    def __init__(self, tier: str, python: str, preload: Sequence[str]) -> None:
        self.tier = tier
        self.python = python
        self.preload = tuple(preload)
        self.info: dict[str, Any] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._scratch: str | None = None
        self._buffer = b""
        self.start()

    # ------------------------------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Launch the server and wait for its `ready` message (raises RecodeError if it never comes)."""
        self._scratch = tempfile.mkdtemp(prefix="recode-sandbox-") if self.tier == "subprocess" else None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server; closed in close()
        self._buffer = b""
        try:
            self._proc = subprocess.Popen(
                server_argv(self.tier, self.python, self.preload, self._scratch),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
                env=server_env(self.python),
                cwd=self._scratch or "/",
                start_new_session=True,
            )
            self.info = self._recv(time.monotonic() + START_TIMEOUT_S)
        except (OSError, ServerDied) as exc:
            log = self._log_tail()
            self.close()
            raise RecodeError(
                f"the sandbox ({self.tier} isolation, {self.python}) failed to start: {exc}. {log}".strip(),
                "check with `recode sandbox run FILE`; force a tier with RECODE_SANDBOX_ISOLATION=subprocess",
            ) from exc

    def close(self) -> None:
        """Stop the server: EOF first (it exits cleanly), then SIGKILL its process tree if it lingers."""
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                if proc.stdin:
                    proc.stdin.close()
                proc.wait(timeout=2.0)
            except (OSError, subprocess.TimeoutExpired):
                pass
            _kill_tree(proc.pid)
            proc.wait()
            if proc.stdout:
                proc.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def restart(self) -> None:
        self.close()
        self.start()

    # ------------------------------------------------------------------------------------------- programs
    def execute(self, source: str, limits: SandboxLimits) -> SandboxResult:
        """Run one program; a dead or hung server is replaced and the program reported, never raised."""
        request = {
            "source": source,
            "timeout_s": limits.timeout_s,
            "memory_mb": limits.memory_mb,
            "output_bytes": limits.output_bytes,
        }
        start = time.monotonic()
        try:
            if self._proc is None:
                self.start()
            self._send(request)
            outcome = self._recv(start + limits.timeout_s + _SLACK_S)
        except ServerDied as exc:
            self.restart()
            return supervisor_failure(self.tier, time.monotonic() - start, str(exc), timed_out=exc.timed_out)
        return from_outcome(outcome, limits, self.tier)

    def _send(self, message: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        data = json.dumps(message).encode("utf-8")
        try:
            self._proc.stdin.write(_HEADER.pack(len(data)) + data)
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise ServerDied(f"the sandbox server is gone ({exc})", timed_out=False) from exc

    def _recv(self, deadline: float) -> dict[str, Any]:
        header = self._read(_HEADER.size, deadline)
        return json.loads(self._read(_HEADER.unpack(header)[0], deadline).decode("utf-8"))

    def _read(self, n: int, deadline: float) -> bytes:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while len(self._buffer) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _kill_tree(self._proc.pid)
                raise ServerDied("the sandbox server stopped answering and was killed", timed_out=True)
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise ServerDied("the sandbox server died while running the program", timed_out=False)
                self._buffer += chunk
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        text = self._log.read().decode("utf-8", errors="replace").strip()
        return f"Server said: {text[-1500:]}" if text else ""


def _kill_tree(root: int) -> None:
    """SIGKILL `root` and every descendant (repeatedly, so children forked meanwhile are caught too)."""
    for _ in range(50):
        victims = [root, *_descendants(root)]
        alive = False
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
                alive = True
            except ProcessLookupError:
                continue
        if not alive or len(victims) == 1:
            return
        time.sleep(0.01)


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                ppid = int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    found, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found
