"""Keep a terminal readable while TRL trains: library bars and notices off, printed log dicts to a file.

Why: transformers and TRL print every logged dict, draw a tqdm bar for each model saved or loaded, and
raise FutureWarnings; a command that trains several runs (`recode ablate`, `recode demo`) would bury its
own progress and tables under them. Nothing is lost: the same logs are in `log_history.jsonl` and in
the log file, and everything is restored on exit (a test process gets its settings back).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """Silence transformers' and datasets' progress bars and info logs, then restore them."""
    import datasets
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_bars, ds_bars = hf_logging.is_progress_bar_enabled(), datasets.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if hf_bars:
            hf_logging.enable_progress_bar()
        if ds_bars:
            datasets.enable_progress_bars()


@contextmanager
def printed_logs_to(log_file: Path) -> Iterator[None]:
    """Send what the trainers print (log dicts) and their warnings to `log_file`, appending."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("a", encoding="utf-8") as sink, redirect_stdout(sink), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
