"""What the bot has done, as counts only: the figures behind ``/metrics`` (bot/metrics.py).

Nothing here says who, or when: a kind of update, a reason for a wipe, and how many. The counts
are cumulative for the life of the process, as Prometheus counters are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

# Why a conversation was wiped.
EXIT = "exit"  # she asked (button, command or word)
IDLE = "idle"  # quiet for IDLE_MINUTES
SHUTDOWN = "shutdown"  # the bot stopped gracefully
EVICTED = "evicted"  # the store was full; the oldest conversation made room
LATE = "late"  # what a handler sent after she had already left


class Tally:
    """Counts of updates by kind and of wipes by reason."""

    def __init__(self) -> None:
        self.updates: Counter[str] = Counter()
        self.wipes: Counter[str] = Counter()

    def wiped(self, reason: str) -> None:
        """One conversation wiped, for ``reason``."""
        self.wipes[reason] += 1


class CountUpdates(BaseMiddleware):
    """The outermost middleware: count every update Telegram sent, by kind only."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        kind = (
            "message"
            if event.message is not None
            else "callback_query"
            if event.callback_query is not None
            else "other"
        )
        self.tally.updates[kind] += 1
        return await handler(event, data)
