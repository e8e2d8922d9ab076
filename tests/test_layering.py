"""The package's layers import one way only; this test is the guard that keeps it so.

Why a test and not a convention: an upward import (say, `sandbox` importing `evaluation`) works until it
creates a cycle or drags torch into a process that should start in milliseconds; failing here is cheaper.
"""

from __future__ import annotations

import ast
from pathlib import Path

import recode

PACKAGE = Path(recode.__file__).parent
BASE = {"errors"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "sandbox": BASE,
    "data": BASE | {"sandbox"},  # data.build verifies generated pairs by running them
    "rewards": BASE | {"data", "sandbox"},
    "evaluation": BASE | {"data", "sandbox", "rewards"},
    "training": BASE | {"data", "sandbox", "rewards"},
    "experiments": BASE | {"data", "sandbox", "rewards", "evaluation", "training"},
    "demo": BASE | {"data", "sandbox", "rewards", "evaluation", "training", "experiments"},
}


def _area(module_path: Path) -> str:
    parts = module_path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _recode_imports(source: str) -> set[str]:
    areas = set()
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        areas |= {name.split(".")[1] for name in names if name.startswith("recode.")}
    return areas


def test_imports_flow_downwards_only() -> None:
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        area = _area(path)
        if area not in ALLOWED:  # cli (top), __init__/__main__: may import anything
            continue
        upward = _recode_imports(path.read_text()) - ALLOWED[area] - {area}
        violations += [f"{path.relative_to(PACKAGE)} imports recode.{name}" for name in sorted(upward)]
    assert not violations, "layering broken:\n" + "\n".join(violations)


def test_the_guard_sees_imports() -> None:
    assert _recode_imports("from recode.rewards import es\nimport recode.data.schemas") == {"rewards", "data"}
