"""The one exception type that carries a message meant for a person.

Every layer raises `RecodeError` for bad input (missing file, malformed row, unknown reward name...)
with *what* went wrong, *where*, and *how to fix it*; the CLI prints it as one line and exits non-zero,
so no user ever sees a traceback for a mistake they can correct (`--debug` shows it anyway).
"""

from __future__ import annotations


class RecodeError(Exception):
    """A user-facing error: `str(err)` is the full message, `hint` (optional) says how to fix it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.hint})" if self.hint else base
