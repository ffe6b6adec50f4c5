"""The one-line errors the `videobot` command ends with."""

from __future__ import annotations

USAGE_ERROR = 2


class CommandError(Exception):
    """A one-line error for the person at the terminal, with its exit code."""

    def __init__(self, message: str, code: int = USAGE_ERROR) -> None:
        super().__init__(message)
        self.code = code
