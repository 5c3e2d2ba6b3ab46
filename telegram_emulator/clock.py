"""The emulator's wall clock, which tests may move forward.

Message dates and the 48-hour deletion rule read this clock, so a test can age a conversation
without waiting. Timeouts, long polling and the call log use the real monotonic clock instead,
because aiogram's own timers run on it.
"""

from __future__ import annotations

import time


class Clock:
    """Unix time plus an offset that only grows."""

    def __init__(self, start: float | None = None) -> None:
        self._offset = 0.0 if start is None else start - time.time()

    def now(self) -> float:
        """Current emulated Unix time in seconds."""
        return time.time() + self._offset

    def advance(self, seconds: float = 0.0, *, hours: float = 0.0) -> None:
        """Move the clock forward (never back: Telegram's dates only grow)."""
        delta = seconds + hours * 3600.0
        if delta < 0:
            raise ValueError("the clock only moves forward")
        self._offset += delta
