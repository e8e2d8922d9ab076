"""RL (GRPO, DAPO) and SFT training on TRL, with DoRA adapters, for the ReCode method.

Public API (used by `recode train`/`recode sft`, the demo and the ablations):
`TrainConfig`, `SFTConfig` (`.from_yaml(path, overrides)`), `run_rl`, `run_sft`, `TrainResult`.
What is TRL's and what is ours is listed in docs/training.md.

Names resolve lazily: `recode.training.config` (and `--dry-run`) must not pay for importing torch and TRL.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recode.training.common import TrainResult
    from recode.training.config import SFTConfig, TrainConfig
    from recode.training.rl import run_rl
    from recode.training.sft import run_sft

_WHERE = {
    "TrainResult": "recode.training.common",
    "SFTConfig": "recode.training.config",
    "TrainConfig": "recode.training.config",
    "run_rl": "recode.training.rl",
    "run_sft": "recode.training.sft",
}

__all__ = ["SFTConfig", "TrainConfig", "TrainResult", "run_rl", "run_sft"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'recode.training' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
