"""Helpers for the sandbox tests: find host processes by a marker in their command line.

Why by marker: a contained program's descendants must be gone when it ends, whatever PID namespace they
lived in; a random marker in their argv is visible host-wide through /proc and matches nothing else.
"""

from __future__ import annotations

import functools
import os
import time

from recode.sandbox.isolation import tool_available
from recode.sandbox.pool import probe_tier


@functools.cache
def tier_works(tier: str) -> bool:
    """Whether isolation `tier` has its tool here and passes the pool's own probe."""
    return tool_available(tier) and probe_tier(tier)


def processes_with(marker: str) -> list[int]:
    """PIDs (host-wide) whose command line contains `marker`."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as handle:
                    if marker.encode() in handle.read():
                        found.append(int(name))
            except OSError:
                continue
    return found


def wait_until_gone(marker: str, seconds: float = 3.0) -> list[int]:
    """Poll until no process carries `marker` (killing is asynchronous); returns the survivors."""
    end = time.monotonic() + seconds
    while (left := processes_with(marker)) and time.monotonic() < end:
        time.sleep(0.05)
    return left
