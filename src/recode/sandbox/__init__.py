"""Run untrusted (model-written) Python safely and fast: `recode.sandbox`.

Every program runs in a separate, isolated process tree, never in the caller: wall-clock, memory and
output limits, a private scratch directory as cwd, a scrubbed environment, no network, and every
descendant killed when it ends. The strongest available isolation tier (`bwrap` -> `unshare` ->
`subprocess`) is detected once and reported in every result. A fork-server with numpy/torch/sympy
preloaded makes a program cost milliseconds instead of a second of imports.

This is the bottom layer: it imports only the standard library and `recode.errors`, and its server
(`_server.py`) only the standard library, so it can run under any interpreter (`python=`).
"""

from recode.sandbox.pool import DEFAULT_PRELOAD, Sandbox, isolation_tier, run_program
from recode.sandbox.result import STATUSES, SandboxLimits, SandboxResult

__all__ = [
    "DEFAULT_PRELOAD",
    "STATUSES",
    "Sandbox",
    "SandboxLimits",
    "SandboxResult",
    "isolation_tier",
    "run_program",
]
