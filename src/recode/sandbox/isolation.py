"""How a fork-server is launched for each isolation tier: the command line, its environment, its view of
the file system.

Tiers, strongest first:
- `bwrap`: bubblewrap builds a new root holding only the system directories and the interpreter's own
  paths, read-only (so `/root`, `/home`, data directories are simply absent); private `/tmp` and `/dev`;
  no network, IPC, UTS or PID sharing with the host. The server keeps CAP_SYS_ADMIN (root only) so it can
  give each program its own PID namespace; programs drop every capability before they run.
- `unshare`: util-linux namespaces (network, mount, PID, IPC, UTS); the server itself remounts the host
  read-only and mounts a private `/tmp`. Files stay readable (read-only), unlike `bwrap`.
- `subprocess`: no namespaces; rlimits, a process-tree reaper, and an audit-hook guard against sockets and
  writes outside the scratch dir. A determined program can get around the guard, hence the warning.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from recode.errors import RecodeError

TIERS = ("bwrap", "unshare", "subprocess")
FORCE_ENV = "RECODE_SANDBOX_ISOLATION"
"""Set to one of `TIERS` to skip detection (e.g. to test a weaker tier, or where probing is unwanted)."""

SERVER = Path(__file__).with_name("_server.py")
TMPFS_BYTES = 1 << 30
"""Private /tmp size per server: bounds what programs can write (scratch is wiped after each program)."""

_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
_MASKED = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers")
_MASKED_DIRS = ("/etc/ssh", "/etc/sudoers.d")
_SYS_READABLE = ("/sys/devices/system/cpu", "/sys/fs/cgroup")
_WIPE = ("--wipe", "/tmp", "--wipe", "/dev/shm")
"""Private tmpfs dirs the server empties after every program (namespaced tiers only)."""
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def server_env(python: str) -> dict[str, str]:
    """The scrubbed environment every server (hence every program) starts with: nothing of the caller's.

    One BLAS/OpenMP thread per program because parallelism comes from running several servers at once.
    """
    env = {
        "PATH": f"{os.path.dirname(os.path.abspath(python))}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_OFFLINE": "1",
    }
    env.update({name: "1" for name in _THREAD_VARS})
    return env


def server_argv(tier: str, python: str, preload: Sequence[str], scratch_root: str | None) -> list[str]:
    """Full command that starts one fork-server under `tier` (`scratch_root` only for `subprocess`)."""
    server = [python, "-I", str(SERVER), "--preload", ",".join(preload)]
    if tier == "bwrap":
        return [*_bwrap_prefix(python), *server, "--pid-ns", *_WIPE, "--scratch-root", "/tmp"]
    if tier == "unshare":
        keep = [arg for path in _under_tmp(interpreter_paths(python)) for arg in ("--keep", path)]
        flags = ["--isolate-mounts", "--tmpfs-bytes", str(TMPFS_BYTES), "--pid-ns", *_WIPE, *keep]
        return [*_unshare_prefix(), *server, *flags, "--scratch-root", "/tmp"]
    if tier == "subprocess":
        return [*server, "--guard", "--scratch-root", str(scratch_root)]
    raise RecodeError(f"unknown sandbox isolation tier {tier!r}", f"use one of {', '.join(TIERS)}")


def tool_available(tier: str) -> bool:
    """Whether the tier's launcher exists at all (detection then proves it works by running a program)."""
    return tier == "subprocess" or shutil.which(tier) is not None


@functools.lru_cache(maxsize=32)
def interpreter_paths(python: str) -> tuple[str, ...]:
    """Directories `python` needs to start and import its packages (prefixes and `sys.path`), asked once.

    Why ask the interpreter: with `python=` it may be a venv anywhere (even under the host's /tmp) whose
    layout recode cannot guess; only these paths are made visible inside `bwrap`.
    """
    probe = (
        "import json, sys; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, "
        "sys.base_exec_prefix, sys.executable] + sys.path))"
    )
    try:
        done = subprocess.run(
            [python, "-I", "-c", probe], capture_output=True, text=True, timeout=60, env=server_env(python)
        )
        paths = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise RecodeError(
            f"cannot start the interpreter {python!r} for the sandbox: {exc}",
            "pass `python=` an existing Python executable (e.g. ENV/bin/python)",
        ) from exc
    exe = os.path.realpath(paths[4])
    found = {os.path.abspath(p) for p in paths[:4] + paths[5:] if p and os.path.isdir(p)}
    found |= {os.path.dirname(os.path.dirname(exe)), os.path.dirname(os.path.abspath(python))}
    return _outermost(found)


def _outermost(paths: set[str]) -> tuple[str, ...]:
    """Drop paths nested in another one of the set (binding the outer one covers them)."""
    ordered = sorted(paths)
    kept: list[str] = []
    for path in ordered:
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return tuple(kept)


def _under_tmp(paths: Sequence[str]) -> list[str]:
    return [p for p in paths if p == "/tmp" or p.startswith("/tmp/")]


def _bwrap_prefix(python: str) -> list[str]:
    argv = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    argv += ["--unshare-cgroup-try"]
    argv += ["--new-session"]  # no --die-with-parent: it fires when the *thread* that spawned bwrap exits
    if os.geteuid() == 0:
        argv += ["--cap-add", "CAP_SYS_ADMIN"]
    for path in _SYSTEM_DIRS:
        argv += _bind(path)
    argv += [arg for path in _MASKED if os.path.isfile(path) for arg in ("--ro-bind", "/dev/null", path)]
    argv += [arg for path in _MASKED_DIRS if os.path.isdir(path) for arg in ("--tmpfs", path)]
    argv += [arg for path in _SYS_READABLE for arg in ("--ro-bind-try", path, path)]
    argv += ["--dev", "/dev", "--proc", "/proc"]
    argv += [arg for path in ("/tmp", "/dev/shm") for arg in ("--size", str(TMPFS_BYTES), "--tmpfs", path)]
    extra = set(interpreter_paths(python)) | {str(SERVER.parent)}
    for path in _outermost(extra):
        if not any(path == d or path.startswith(d + "/") for d in _SYSTEM_DIRS):
            argv += ["--ro-bind", path, path]
    # the new root is bwrap's own tmpfs: read-only, or programs could leave files there for the next one
    return [*argv, "--remount-ro", "/", "--chdir", "/tmp"]


def _bind(path: str) -> list[str]:
    """Recreate a top-level system path as the host has it: merged-/usr symlinks stay symlinks."""
    if os.path.islink(path):
        return ["--symlink", os.readlink(path), path]
    if os.path.isdir(path):
        return ["--ro-bind", path, path]
    return []


def _unshare_prefix() -> list[str]:
    argv = ["unshare", "--net", "--mount", "--pid", "--fork", "--mount-proc", "--ipc", "--uts"]
    argv += ["--kill-child"]
    if os.geteuid() != 0:
        argv.insert(1, "--map-root-user")
    return argv
