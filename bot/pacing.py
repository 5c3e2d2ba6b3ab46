"""One budget for every wipe's ``deleteMessages`` calls, across all conversations.

Telegram answers a bot that calls too fast with flood waits that hold back all its calls,
everyone's wipes included. A token bucket keeps the bot under that line: ``rate`` calls a second
on average, ``burst`` at once. The first exit of a conversation never waits for a token (it may
take one in advance, which later calls then wait for); every other wipe waits its turn. A flood
wait Telegram still sends (``retry_after``) pauses every call that waits for a token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

Clock = Callable[[], float]

# Telegram documents about 30 messages a second for a bot across chats; wipes keep below that,
# so the sends of everyone else's conversations still fit beside them.
RATE = 20.0
BURST = 20


class Pacer:
    """A token bucket shared by all wipes."""

    def __init__(self, rate: float = RATE, burst: int = BURST, clock: Clock = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._tokens = float(burst)
        self._stamp = clock()
        self._paused_until = 0.0
        self.taken = 0  # calls paced so far (read by tests and the benchmark)

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def _pause_left(self) -> float:
        return max(0.0, self._paused_until - self.clock())

    def wait_needed(self) -> float:
        """Seconds until a call that waits its turn may go (0 when it may go now)."""
        self._refill()
        shortfall = max(0.0, (1.0 - self._tokens) / self.rate)
        return max(self._pause_left(), shortfall)

    async def take(self, *, urgent: bool = False) -> None:
        """Wait for a token (at once when ``urgent``), then spend it."""
        # Even the first exit waits out a flood wait: Telegram would refuse it until then.
        # A timed wait for a known moment, not a poll for an event another task would set.
        wait = self._pause_left() if urgent else self.wait_needed()
        while wait > 0:
            await asyncio.sleep(wait)
            wait = self._pause_left() if urgent else self.wait_needed()
        self._refill()
        self._tokens -= 1.0
        self.taken += 1

    def pause(self, seconds: float) -> None:
        """Telegram asked for a flood wait: no call that waits its turn goes before it ends."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)
