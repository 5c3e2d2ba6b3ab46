"""Outer middlewares every update passes, in order: private chats only, then the session.

They run before any handler: an update from a group never reaches a flow, and a flood is answered
before it can queue behind a chat's lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramServerError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, Update, User

from bot import incidents, replies
from bot.conversation import HEADER, WIPE_INCOMPLETE, Conversation
from bot.render import exit_anchor, notice_text
from bot.sessions import CURRENT, UNRECORDED, Session, SessionStore
from bot.tally import EVICTED, LATE
from bot.wipe import BATCH
from flows.catalog import N_
from flows.engine import Notice, is_exit_word
from flows.schema import LANGUAGES

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
FLOOD = N_("common.flood")
# Message ids held per conversation before the oldest are deleted early.
MAX_RECORDED = 2000
_LANGUAGE = {code: code for code in LANGUAGES}


class PrivateChatsOnly(BaseMiddleware):
    """Leave groups and channels at once; drop their updates and those sent by other bots.

    The one exception is the operator's staff chat (``STAFF_CHAT_ID``): the bot stays there to
    post new-report alerts, and ignores everything said in it.
    """

    def __init__(self, staff_chat_id: int | None = None) -> None:
        self.staff_chat_id = staff_chat_id

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        chat: Chat | None = data.get("event_chat")
        user: User | None = data.get("event_from_user")
        if chat is None:
            return None  # inline queries, polls and the like: nothing for this bot
        if chat.id == self.staff_chat_id and chat.type != "private":
            return None
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
        incidents.note("could not leave a group or channel", exc)


class SessionBinding(BaseMiddleware):
    """Find the chat's session, record her message for the wipe, enforce the flood limit, and run
    the handler under the session's lock so two quick taps cannot race.

    The quick exit is the exception: it never waits for the lock (a slow download or a retry must
    not hold her in the chat). A handler that was running when she left keeps its session as
    ``CURRENT``, so what it still sends is recorded there and wiped as soon as it returns.
    """

    def __init__(
        self, conversation: Conversation, *, flood_updates: int, flood_seconds: float
    ) -> None:
        self.conversation = conversation
        self.sessions = conversation.sessions
        self.flood_updates = flood_updates
        self.flood_seconds = flood_seconds
        self._background: set[asyncio.Future[object]] = set()
        self._in_flight = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self.closing = False

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        if self.closing or (event.message is None and event.callback_query is None):
            return None  # shutting down; or edits, member changes: nothing to answer
        chat: Chat = data["event_chat"]
        user: User = data["event_from_user"]
        bot: Bot = data["bot"]
        new = self.sessions.get(chat.id) is None
        session = self._session(bot, chat.id, event)
        if new and self.conversation.settings.exit_pin:
            await self._find_pin(bot, session)
        if session.preselect is None and user.language_code:
            code = user.language_code.split("-")[0].lower()
            # The shared constant, not her copy of it: one string less per session.
            session.preselect = _LANGUAGE.get(code)
        # The quick exit is never held back, not even in a flood, not even by her own lock.
        if _asks_to_exit(event):
            data["session"] = session
            with self.sessions.holding(session):  # the exit may await before it drops it
                return await handler(event, data)
        if self._flooded(session):
            with self.sessions.holding(session):
                await self._flood_answer(bot, session, event)
            return None
        self._in_flight += 1
        self._quiet.clear()
        try:
            if session.turn_taken:
                # She waits for her turn: in webhook mode, Telegram must not hold her next tap
                # (perhaps the exit) until this one has had it.
                replies.let_go()
            async with session.turn():
                if not session.closed:
                    return await self._run(handler, event, data, session, bot)
            # She left (exit, shutdown) while this waited: it belongs to the conversation she
            # left, and nothing may follow her exit. What of it reached the chat goes too.
            if session.message_ids:
                await self.conversation.wipe(bot, session, LATE)
            if event.callback_query is not None:
                await _answer_quietly(event.callback_query)
            return None
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._quiet.set()
            # Unless another of her updates runs or waits: that one parks it when done.
            self.sessions.park(session)

    async def _run(
        self, handler: Handler, event: Update, data: dict[str, Any], session: Session, bot: Bot
    ) -> Any:
        data["session"] = session
        token = CURRENT.set(session)
        try:
            return await handler(event, data)
        finally:
            CURRENT.reset(token)
            if session.closed and session.message_ids:
                # She left while this ran: whatever it sent since goes too.
                await self.conversation.wipe(bot, session, LATE)

    def _session(self, bot: Bot, chat_id: int, event: Update) -> Session:
        """The chat's session, with every message of this update recorded for the wipe."""
        session, evicted = self.sessions.touch(chat_id)
        for old in evicted:
            self._in_background(self.conversation.wipe(bot, old, EVICTED))
        if event.message is not None:
            session.record(event.message.message_id)
            if len(session.message_ids) > MAX_RECORDED:
                # A chat that floods without pause never goes idle: delete its oldest now, so
                # the list (and the final wipe) stay bounded.
                oldest = session.message_ids[:BATCH]
                del session.message_ids[:BATCH]
                self._in_background(self._delete_early(bot, session, oldest))
        callback = event.callback_query
        if callback is not None and callback.message is not None:
            # An old screen's exit button says where her conversation started (a restart).
            session.inherit(_anchor_on(callback.message))
            # The pressed message may predate this session (a restart): it is ours to delete.
            if callback.message.message_id not in session.message_ids:
                session.record(callback.message.message_id)
        return session

    async def _find_pin(self, bot: Bot, session: Session) -> None:
        """A new session: if her chat still has the bot's pinned first message, the bot lost
        this conversation (an unclean restart), which started there. One getChat per session."""
        try:
            chat = await bot.get_chat(chat_id=session.chat_id)
        except TelegramAPIError as exc:
            incidents.note("pinned message not read", exc)
            return
        pinned = chat.pinned_message
        if isinstance(pinned, Message) and pinned.text == HEADER and pinned.from_user is not None:
            if pinned.from_user.id == bot.id:
                session.pinned = True
                session.inherit(pinned.message_id)

    async def _delete_early(self, bot: Bot, session: Session, ids: list[int]) -> None:
        wiper = self.conversation.wiper_for(bot)
        note = notice_text(self.conversation.translator, session, Notice(WIPE_INCOMPLETE))
        await wiper.wipe(session.chat_id, ids, note=note)

    def close(self) -> None:
        """Take no more updates (graceful shutdown)."""
        self.closing = True

    async def drain(self, seconds: float) -> None:
        """Wait for running handlers and background wipes to finish, at most ``seconds``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._quiet.wait(), seconds)
        if self._background:
            await asyncio.wait(set(self._background), timeout=seconds)

    async def _flood_answer(self, bot: Bot, session: Session, event: Update) -> None:
        message = event.message
        if message is not None and (message.location or message.venue or message.contact):
            # Identifying input is removed at once, flood or not.
            with contextlib.suppress(TelegramAPIError):
                await message.delete()
                session.forget_message(message.message_id)
        if not session.flood_warned:
            session.flood_warned = True
            await self._warn(bot, session, event)
        elif event.callback_query is not None:
            await _answer_quietly(event.callback_query)

    def _flooded(self, session: Session) -> bool:
        now = self.sessions.clock()
        recent = session.recent
        recent.append(now)
        start = now - self.flood_seconds
        stale = next((i for i, t in enumerate(recent) if t > start), len(recent))
        # Bounded: never more than the limit plus one.
        del recent[: max(stale, len(recent) - self.flood_updates - 1)]
        if len(recent) > self.flood_updates:
            return True
        session.flood_warned = False
        return False

    async def _warn(self, bot: Bot, session: Session, event: Update) -> None:
        try:
            if event.callback_query is not None:
                text = notice_text(self.conversation.translator, session, Notice(FLOOD))
                await event.callback_query.answer(text)
            else:
                await self.conversation.say(bot, session, Notice(FLOOD))
        except TelegramAPIError:
            pass

    def _in_background(self, coro: Awaitable[object]) -> None:
        task: asyncio.Future[object] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _asks_to_exit(event: Update) -> bool:
    if event.callback_query is not None:
        return exit_anchor(event.callback_query.data) is not None
    text = event.message.text if event.message is not None else None
    if not text:
        return False
    return is_exit_word(text)


def _anchor_on(message: object) -> int:
    """The anchor of the exit button on ``message`` (0 when it has none)."""
    markup = getattr(message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", None) or ():
        for button in row:
            anchor = exit_anchor(button.callback_data)
            if anchor:
                return anchor
    return 0


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
        sends = method.__api_method__.startswith("send")
        chat_id = getattr(method, "chat_id", None)
        # The newest id of her chat known *before* this send: a message it delivers is newer.
        # (Taken after the failure, it might be one of hers that came in meanwhile.)
        before = None
        if sends and isinstance(chat_id, int) and not UNRECORDED.get():
            sender = self._session_of(chat_id)
            before = sender.newest_known() if sender is not None else None
        try:
            result = await make_request(bot, method)
        except (TelegramNetworkError, TelegramServerError):
            if before is not None and isinstance(chat_id, int):
                # No answer: it may have been delivered anyway, with an id above ``before``.
                session = self._session_of(chat_id)
                if session is not None:
                    session.lost_after(before, time.monotonic())
            raise
        # Only new messages: an edit returns the same message again.
        if not isinstance(result, Message) or not method.__api_method__.startswith("send"):
            return result
        if UNRECORDED.get():
            return result
        session = self._session_of(result.chat.id)
        if session is not None:
            session.bot_sent(result.message_id, time.monotonic())
            session.record(result.message_id)
        else:
            # Her conversation is already gone: a message sent now would outlive every wipe.
            with contextlib.suppress(TelegramAPIError):
                await bot.delete_message(chat_id=result.chat.id, message_id=result.message_id)
        return result

    def _session_of(self, chat_id: int) -> Session | None:
        """The conversation a message in ``chat_id`` belongs to: the running handler's own
        session (even if she has left meanwhile), else the chat's current one."""
        session = CURRENT.get()
        if session is None or session.chat_id != chat_id:
            session = self.sessions.get(chat_id)
        return session
