"""A progress bar on stderr, drawn only when stderr is a terminal (never in pipes or logs)."""

from __future__ import annotations

import time
from types import TracebackType
from typing import TextIO

_WIDTH = 30
_MIN_INTERVAL = 0.1  # seconds between redraws: drawing must not slow the work down


class Progress:
    """`with Progress(total, stream) as bar: bar.advance()`. Silent unless `stream.isatty()`."""

    def __init__(self, total: int, stream: TextIO, label: str = "") -> None:
        self.total = max(total, 0)
        self.done = 0
        self._stream = stream
        self._label = label
        self._enabled = stream.isatty() and total > 0
        self._last_draw = 0.0

    def advance(self, step: int = 1) -> None:
        """Count `step` more items done."""
        self.done += step
        now = time.monotonic()
        if self._enabled and (now - self._last_draw >= _MIN_INTERVAL or self.done >= self.total):
            self._last_draw = now
            self._draw()

    def _draw(self) -> None:
        filled = _WIDTH * min(self.done, self.total) // self.total
        bar = "#" * filled + "-" * (_WIDTH - filled)
        self._stream.write(f"\r{self._label}[{bar}] {self.done}/{self.total}")
        self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._enabled:
            self._stream.write("\n")
            self._stream.flush()
