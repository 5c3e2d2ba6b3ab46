"""Callback answers that ride on the webhook's HTTP response, one request fewer per tap.

In webhook mode Telegram lets the bot answer an update's POST with a method to run; it runs it but
never says how it went. That suits ``answerCallbackQuery`` (it only stops the button's spinner,
and its result is ``True``), and nothing else this bot sends: every message's id must come back
so the wipe can delete it.

The webhook holds a callback query's HTTP response open in a :class:`HeldResponse` while the
update is handled. The handler's ``callback.answer()`` (its first call on every path) is caught by
:class:`AnswerInResponse` and becomes the response's body. The response goes out without it when
the handler ends first, when the hold times out, or when the update would wait for her chat's
turn (:func:`let_go`): Telegram sends her next callback query only after this response, and the
quick exit may be that query.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.api_session import BotApiSession


class HeldResponse:
    """One callback query's webhook response, waiting for the handler's answer."""

    def __init__(self, callback_query_id: str) -> None:
        self.callback_query_id = callback_query_id
        self.body: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()

    def take(self, body: bytes) -> bool:
        """Carry ``body`` (the answer as JSON) in the response, if it has not gone out yet."""
        if self.body.done():
            return False
        self.body.set_result(body)
        return True

    def let_go(self) -> None:
        """Send the response now, without an answer (the handler will answer by request)."""
        if not self.body.done():
            self.body.set_result(None)


# The held response of the callback query whose update this task handles, if any.
HELD: ContextVar[HeldResponse | None] = ContextVar("held_response", default=None)


def let_go() -> None:
    """Release this update's held response, if any: it is about to wait for her chat's turn."""
    held = HELD.get()
    if held is not None:
        held.let_go()


def in_response_body(bot: Bot, method: TelegramMethod[Any]) -> bytes | None:
    """``method`` as a webhook response body (JSON with a ``method`` field), or None if it
    cannot be one (a file to upload)."""
    session = bot.session
    if not isinstance(session, BotApiSession):
        return None
    return session.json_body(bot, method, named=True)


class AnswerInResponse(BaseRequestMiddleware):
    """Put this update's callback answer into its held webhook response instead of a request."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        held = HELD.get()
        if (
            held is not None
            and isinstance(method, AnswerCallbackQuery)
            and method.callback_query_id == held.callback_query_id
            and not held.body.done()
        ):
            body = in_response_body(bot, method)
            if body is not None and held.take(body):
                return True  # what Telegram would answer; it is never read
        return await make_request(bot, method)
