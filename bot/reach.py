"""At start, wait until the Bot API answers: an outage delays the bot, it never crashes it.

aiogram's polling already rides out failed ``getUpdates`` with a back-off, but the ``getMe`` it
makes first raises straight out of ``start_polling``: a server that boots before its network,
or a Telegram outage during a restart, would stop the bot for good. So the first contact is made
here, again and again with a growing pause, and each failure is one line without the token.
A refused token is no outage: it stops the bot at once (the caller says why).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiohttp import InvalidURL

log = logging.getLogger(__name__)

FIRST_PAUSE = 1.0  # seconds
LONGEST_PAUSE = 60.0

Sleep = Callable[[float], Awaitable[None]]


def why(exc: BaseException) -> str:
    """A failure in a few words, never its message (which may carry the URL, and the token in
    it): the type of what went wrong underneath."""
    cause = exc.__cause__ or exc
    return type(cause).__name__


async def reach_api(
    bot: Bot,
    base: str,
    *,
    first_pause: float = FIRST_PAUSE,
    longest_pause: float = LONGEST_PAUSE,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Return once ``getMe`` succeeds (aiogram keeps the answer for the polling that follows)."""
    pause = first_pause
    while True:
        try:
            await bot.me()
            return
        except TelegramRetryAfter as exc:
            pause = max(pause, float(exc.retry_after))
            reason = "asked to wait"
        except (TelegramNetworkError, TelegramServerError) as exc:
            if isinstance(exc.__cause__, InvalidURL):
                raise  # no pause will mend a malformed URL
            reason = why(exc)
        log.warning("cannot reach the Bot API at %s (%s); next try in %g s", base, reason, pause)
        await sleep(pause)
        pause = min(pause * 2, longest_pause)
