"""One isolated Python environment per (library, version), created once and reused.

Why per-version environments: a pair is only evidence of an API update if the legacy code runs on the
old release and the migrated code on the new one, and both cannot share an interpreter. Environments are
kept under a cache folder keyed by everything that decides their contents, so the second build of the
same library costs nothing. `uv` is used when it is found (on PATH, or next to this interpreter after
`pip install uv`): seconds instead of tens of seconds; otherwise `venv` without pip plus this
interpreter's pip pointed at it (`pip --python`).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from recode.errors import RecodeError

MARKER = "recode-env.json"
INSTALLERS: tuple[str, ...] = ("auto", "uv", "pip")


@dataclass(frozen=True)
class EnvSettings:
    """Where environments live and where packages come from."""

    root: Path = Path(".recode-build/envs")
    python: str = sys.executable  # base interpreter of every environment
    find_links: tuple[str, ...] = ()  # local wheel folders (offline builds, tests)
    index_url: str | None = None
    no_index: bool = False  # only --find-links, never an index
    extra_requirements: tuple[str, ...] = ()  # installed next to the library, e.g. "numpy<2"
    installer: str = "auto"  # "uv" | "pip" | "auto" (uv when found, see `find_uv`)
    timeout_s: float = 1800.0


class EnvCache:
    """Creates environments on first use; safe to call from many threads and processes at once."""

    def __init__(self, settings: EnvSettings) -> None:
        if settings.installer not in INSTALLERS:
            raise RecodeError(
                f"unknown installer {settings.installer!r}", hint=f"use one of: {', '.join(INSTALLERS)}"
            )
        self.settings = settings
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def python_for(self, package: str, version: str) -> Path:
        """The interpreter of an environment holding `package==version` (created if needed)."""
        requirement = f"{package}=={version}"
        path = self.settings.root.absolute() / self.env_name(package, version)
        python = path / "bin" / "python"
        with self._thread_lock(path.name), _file_lock(path.with_name(path.name + ".lock")):
            if (path / MARKER).is_file() and python.exists():
                return python
            shutil.rmtree(path, ignore_errors=True)  # a half-built env from a crash
            started = time.monotonic()
            self._create(path, requirement)
            record = {
                "requirements": [requirement, *self.settings.extra_requirements],
                "python": self.settings.python,
                "installer": self._installer(),
                "seconds": round(time.monotonic() - started, 1),
            }
            (path / MARKER).write_text(json.dumps(record, indent=1), encoding="utf-8")
        return python

    def env_name(self, package: str, version: str) -> str:
        """Folder name: readable prefix plus a hash of everything else that decides the contents."""
        key = json.dumps(
            [
                os.path.realpath(self.settings.python),
                sorted(self.settings.extra_requirements),
                self.settings.index_url,
            ],
            sort_keys=True,
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:8]
        return f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', package)}-{version}-{digest}"

    def _installer(self) -> str:
        if self.settings.installer != "auto":
            return self.settings.installer
        return "uv" if find_uv() else "pip"

    def _create(self, path: Path, requirement: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        python = str(path / "bin" / "python")
        sources = [f"--find-links={link}" for link in self.settings.find_links]
        if self.settings.index_url:
            sources.append(f"--index-url={self.settings.index_url}")
        if self.settings.no_index:
            sources.append("--no-index")
        requirements = [requirement, *self.settings.extra_requirements]
        if self._installer() == "uv":
            uv = find_uv() or "uv"  # not found: running it gives the clear "could not create" error
            self._run([uv, "venv", "--quiet", "--python", self.settings.python, str(path)], requirement)
            # uv skips byte-compiling by default; the sandbox mounts the env read-only, so without .pyc
            # files every run would recompile the library (measured: pandas import 3.4 s instead of 0.6 s)
            install = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", python]
            self._run([*install, *sources, *requirements], requirement)
        elif _host_pip_supports_python():
            self._run([self.settings.python, "-m", "venv", "--without-pip", str(path)], requirement)
            pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-input"]
            self._run([*pip, *sources, *requirements], requirement)
        else:
            self._run([self.settings.python, "-m", "venv", str(path)], requirement)
            pip = [python, "-m", "pip", "install", "--quiet", "--no-input"]
            self._run([*pip, *sources, *requirements], requirement)

    def _run(self, command: list[str], requirement: str) -> None:
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=self.settings.timeout_s, env=env, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RecodeError(
                f"could not create the environment for {requirement}: {exc}",
                hint="check --python and that pip/uv work, or raise the timeout",
            ) from None
        if done.returncode != 0:
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise RecodeError(
                f"could not install {requirement}: {tail}",
                hint="check that this version exists for this Python (`pip index versions NAME`), "
                "pick an interpreter it supports with --python, or pass --find-links DIR with local wheels",
            )

    def _thread_lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())


def find_uv() -> str | None:
    """`uv` on PATH, else the one `pip install uv` put next to this interpreter (a venv's `bin/` is often
    not on PATH when recode runs as `.venv/bin/recode`)."""
    beside = Path(sys.executable).parent / "uv"
    return shutil.which("uv") or (str(beside) if os.access(beside, os.X_OK) else None)


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialises creation of one env across processes (two builds started side by side)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _host_pip_supports_python() -> bool:
    """pip ≥ 22.3 can install into another interpreter (`--python`), which saves seeding pip per env."""
    if importlib.util.find_spec("pip") is None:
        return False
    from pip import __version__ as pip_version

    major, minor = (int(part) for part in pip_version.split(".")[:2])
    return (major, minor) >= (22, 3)
