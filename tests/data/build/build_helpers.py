"""Test helpers for `recode data build`: a fake library written as wheels, and the fake LLM's pieces."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FAKELIB_V1 = '''\
"""fakelib 1.0"""
import warnings

def old_fn(x):
    return x * 2

def other_fn(x):
    return x + 1

def legacy_fn(x):
    return x - 1
'''

FAKELIB_V2 = '''\
"""fakelib 2.0: old_fn removed in favour of new_fn, other_fn renamed, legacy_fn deprecated."""
import warnings

def new_fn(x):
    return x * 2

def another_fn(x):
    return x + 1

def legacy_fn(x):
    warnings.warn("legacy_fn is deprecated, use new_fn", DeprecationWarning, stacklevel=2)
    return x - 1
'''


def write_wheel(folder: Path, name: str, version: str, init_source: str) -> Path:
    """A minimal pure-Python wheel written as a zip (no build backend, no network needed)."""
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": init_source.encode(),
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: recode-tests\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }

    def digest(data: bytes) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    record = "".join(f"{path},sha256={digest(data)},{len(data)}\n" for path, data in files.items())
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(f"{dist_info}/RECORD", record + f"{dist_info}/RECORD,,\n")
    return wheel


Responder = Callable[[list[dict[str, str]]], "tuple[int, str] | str"]


@dataclass
class FakeOpenAI:
    """Handle on the running server: its base URL, the requests it got, and who answers them."""

    base_url: str
    responder: Responder
    requests: list[dict[str, Any]] = field(default_factory=list)


def tagged_reply(old_code: str, new_code: str, description: str = "d", update_info: str = "u") -> str:
    """A reply in the format the packaged prompt asks for."""
    return (
        f"<description>{description}</description>\n<update_info>{update_info}</update_info>\n"
        f"<old_code>\n```python\n{old_code}\n```\n</old_code>\n<new_code>\n```python\n{new_code}\n```\n</new_code>"
    )
