"""Fixtures for the sandbox tests: one small fork-server pool per isolation tier that works here.

Why every tier: the weaker tiers are what users without bubblewrap get, so each containment test runs
against each tier this machine supports (a tier that does not work here is skipped, with the reason).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox_helpers import tier_works

from recode.sandbox import Sandbox, SandboxLimits
from recode.sandbox.isolation import TIERS

LIMITS = SandboxLimits(timeout_s=5.0, memory_mb=256, output_bytes=10_000)


@pytest.fixture(scope="session", params=TIERS)
def box(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A two-server pool with nothing preloaded, under each tier in turn."""
    tier = request.param
    if not tier_works(tier):
        pytest.skip(f"isolation tier {tier!r} does not work on this machine")
    with Sandbox(LIMITS, preload=(), workers=2, isolation=tier) as sandbox:
        yield sandbox
