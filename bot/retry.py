"""Ride out brief trouble with Telegram, without ever showing her something twice.

A request middleware on the bot's HTTP session:

- "Too Many Requests" means the call did nothing: it is repeated after ``retry_after``, if that is
  short. A long wait is not taken here, because the chat's lock is held meanwhile and the quick
  exit must not queue behind it (the wipe has its own, longer patience).
- A server error, a timeout or a dropped connection may or may not have taken effect. Calls that
  are safe to repeat (edits, deletions, file look-ups) are repeated; a ``sendMessage`` is not, so
  a message can never appear twice. The caller hears the failure instead.
- A callback answer only stops the button's spinner: failing it must not lose her press.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType

from bot import incidents

ATTEMPTS = 3
MAX_RETRY_AFTER = 5.0  # seconds; longer flood waits surface to the caller at once
# Repeating these can only lead to the same end state ("not modified" is handled by the caller).
REPEATABLE = frozenset(
    {
        "editMessageText",
        "editMessageReplyMarkup",
        "deleteMessage",
        "deleteMessages",
        "getFile",
        "getMe",
        "leaveChat",
    }
)
NOT_FATAL = frozenset({"answerCallbackQuery"})


class RetryBriefly(BaseRequestMiddleware):
    """Repeat a call after a short flood wait, or after a transient fault when repeating is safe."""

    def __init__(
        self,
        *,
        attempts: int = ATTEMPTS,
        max_retry_after: float = MAX_RETRY_AFTER,
        backoff: float = 0.2,
    ) -> None:
        self.attempts = attempts
        self.max_retry_after = max_retry_after
        self.backoff = backoff

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        name = method.__api_method__
        if name == "getUpdates":
            return await make_request(bot, method)  # polling has its own backoff
        for attempt in range(self.attempts):
            last = attempt == self.attempts - 1
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if last or exc.retry_after > self.max_retry_after:
                    return _give_up(name, exc)
                await asyncio.sleep(exc.retry_after)
            except (TelegramServerError, TelegramNetworkError) as exc:
                if last or name not in REPEATABLE:
                    return _give_up(name, exc)
                await asyncio.sleep(self.backoff * 2**attempt)
            except TelegramAPIError as exc:
                return _give_up(name, exc)
        raise AssertionError("unreachable: the last attempt returns or raises")


def _give_up(name: str, exc: TelegramAPIError) -> Any:
    if name in NOT_FATAL:
        incidents.note(f"{name} failed", exc)
        return True
    raise exc
