"""Outer middlewares every update passes, in order: private chats only, then the session.

They run before any handler: an update from a group never reaches a flow, and a flood is answered
before it can queue behind a chat's lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, Update, User

from bot.conversation import Conversation
from bot.render import QuickExit
from bot.sessions import Session, SessionStore
from flows.catalog import N_
from flows.engine import Notice, is_exit_word
from flows.schema import LANGUAGES

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
FLOOD = N_("common.flood")


class PrivateChatsOnly(BaseMiddleware):
    """Leave groups and channels at once; drop their updates and those sent by other bots."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        chat: Chat | None = data.get("event_chat")
        user: User | None = data.get("event_from_user")
        if chat is None:
            return None  # inline queries, polls and the like: nothing for this bot
        if chat.type != "private":
            if event.my_chat_member is None or event.my_chat_member.new_chat_member.status in (
                "member",
                "administrator",
                "restricted",
            ):
                await _leave(data["bot"], chat.id)
            return None
        if user is None or user.is_bot:
            return None
        return await handler(event, data)


async def _leave(bot: Bot, chat_id: int) -> None:
    try:
        await bot.leave_chat(chat_id=chat_id)
    except TelegramAPIError as exc:
        log.warning("could not leave a non-private chat (%s)", type(exc).__name__)


class SessionBinding(BaseMiddleware):
    """Find the chat's session, record her message for the wipe, enforce the flood limit, and run
    the handler under the session's lock so two quick taps cannot race."""

    def __init__(
        self, conversation: Conversation, *, flood_updates: int, flood_seconds: float
    ) -> None:
        self.conversation = conversation
        self.sessions = conversation.sessions
        self.flood_updates = flood_updates
        self.flood_seconds = flood_seconds
        self._background: set[asyncio.Task[None]] = set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        if event.message is None and event.callback_query is None:
            return None  # edits, member changes: nothing to answer, no session to open
        chat: Chat = data["event_chat"]
        user: User = data["event_from_user"]
        bot: Bot = data["bot"]
        session, evicted = self.sessions.touch(chat.id)
        for old in evicted:
            self._in_background(self.conversation.wipe(bot, old))
        if session.preselect is None and user.language_code:
            code = user.language_code.split("-")[0].lower()
            session.preselect = code if code in LANGUAGES else None
        if event.message is not None:
            session.record(event.message.message_id)
        # The quick exit is never held back, not even in a flood.
        if not _asks_to_exit(event) and self._flooded(session):
            if not session.flood_warned:
                session.flood_warned = True
                await self._warn(bot, session, event)
            elif event.callback_query is not None:
                await _answer_quietly(event.callback_query)
            return None
        data["session"] = session
        async with session.lock:
            return await handler(event, data)

    def _flooded(self, session: Session) -> bool:
        now = self.sessions.clock()
        recent = session.recent
        recent.append(now)
        while recent and recent[0] <= now - self.flood_seconds:
            recent.popleft()
        if len(recent) > self.flood_updates:
            while len(recent) > self.flood_updates + 1:
                recent.popleft()  # bounded: never more than the limit plus one
            return True
        session.flood_warned = False
        return False

    async def _warn(self, bot: Bot, session: Session, event: Update) -> None:
        try:
            if event.callback_query is not None:
                text = self.conversation.translator.text(
                    session.state.locale or session.preselect, FLOOD
                )
                await event.callback_query.answer(text)
            else:
                await self.conversation.say(bot, session, Notice(FLOOD))
        except TelegramAPIError:
            pass

    def _in_background(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _asks_to_exit(event: Update) -> bool:
    if event.callback_query is not None:
        return event.callback_query.data == QuickExit().pack()
    text = event.message.text if event.message is not None else None
    if not text:
        return False
    return is_exit_word(text)


async def _answer_quietly(callback: CallbackQuery) -> None:
    try:
        await callback.answer()
    except TelegramAPIError:
        pass


class RecordSentMessages(BaseRequestMiddleware):
    """Record the id of every message the bot sends, whatever sent it, for the wipe."""

    def __init__(self, sessions: SessionStore) -> None:
        self.sessions = sessions

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        result = await make_request(bot, method)
        # Only new messages: an edit returns the same message again.
        if isinstance(result, Message) and method.__api_method__.startswith("send"):
            session = self.sessions.get(result.chat.id)
            if session is not None:
                session.record(result.message_id)
        return result
