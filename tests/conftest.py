"""Fixtures shared by every area: where the shared data lives, and small offline tokenizers."""

from __future__ import annotations

from pathlib import Path

import pytest

from recode.data.loaders import ARENA_RELATIVE, data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`$RECODE_DATA_DIR` (set by `make test`); tests needing it skip with the reason when absent."""
    root = data_dir()
    if root is None or not root.is_dir():
        pytest.skip("RECODE_DATA_DIR is not set to the shared data folder (run through `make test`)")
    return root


@pytest.fixture(scope="session")
def arena_file(shared_data: Path) -> Path:
    path = shared_data / ARENA_RELATIVE
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


@pytest.fixture(autouse=True)
def _no_debug_between_tests() -> None:
    """`recode --debug` sets a process-wide flag (a real run is one process, so it never leaks there);
    in one pytest worker it would leak into later CLI tests and turn their one-line errors into
    tracebacks, depending on how xdist happens to order the tests."""
    from recode.cli.common import state

    state.debug = False
