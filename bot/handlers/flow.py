"""Everything else: updates become engine events; the conversation shows what comes next."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message

from bot.conversation import Conversation
from bot.handlers import filters
from bot.render import Tap, notice_text
from bot.reports import ReportDesk
from bot.sessions import Session
from flows.catalog import N_
from flows.engine import Command as CommandEvent
from flows.engine import Media, Notice, Press, Start, Text
from flows.schema import QuestionKind

EXPIRED = N_("common.expired")
MEDIA_NOT_NEEDED = N_("common.media_not_needed")

# Telegram allows 4096 characters per message; anything longer is not a real typed answer.
MAX_TYPED = 4096


async def start(message: Message, bot: Bot, session: Session, conversation: Conversation) -> None:
    await conversation.handle(bot, session, Start(), dispose=(message.message_id,))


async def known_command(
    message: Message, command: CommandObject, bot: Bot, session: Session, conversation: Conversation
) -> None:
    await conversation.handle(
        bot, session, CommandEvent(command.command.lower()), dispose=(message.message_id,)
    )


async def other_command(
    message: Message, bot: Bot, session: Session, conversation: Conversation
) -> None:
    await conversation.handle(bot, session, CommandEvent("unknown"), dispose=(message.message_id,))


async def press(
    callback: CallbackQuery,
    callback_data: Tap,
    bot: Bot,
    session: Session,
    conversation: Conversation,
) -> None:
    pressed = callback.message.message_id if callback.message else None
    if callback_data.n != session.nonce:
        if callback_data.n == session.previous_nonce and pressed == session.live_message_id:
            # A double tap: the first one already changed this screen; nothing has expired.
            await callback.answer()
            return
        await _expired(callback, bot, session, conversation, pressed)
        return
    await callback.answer()
    await conversation.handle(bot, session, Press(callback_data.i), pressed_message_id=pressed)


async def forged(
    callback: CallbackQuery, bot: Bot, session: Session, conversation: Conversation
) -> None:
    pressed = callback.message.message_id if callback.message else None
    await _expired(callback, bot, session, conversation, pressed)


async def _expired(
    callback: CallbackQuery,
    bot: Bot,
    session: Session,
    conversation: Conversation,
    pressed: int | None,
) -> None:
    notice = Notice(EXPIRED)
    await callback.answer(notice_text(conversation.translator, session, notice))
    await conversation.show(bot, session, notice, edit=pressed)


async def text(message: Message, bot: Bot, session: Session, conversation: Conversation) -> None:
    typed = (message.text or "")[:MAX_TYPED]
    await conversation.handle(bot, session, Text(typed), answer_message_id=message.message_id)


async def anything_else(
    message: Message,
    bot: Bot,
    session: Session,
    conversation: Conversation,
    desk: ReportDesk | None = None,
) -> None:
    """Evidence where a question asks for it; elsewhere a kind answer, never silence."""
    question = conversation.question(session)
    if desk is None or question is None or question.kind is not QuestionKind.MEDIA:
        await conversation.show(bot, session, Notice(MEDIA_NOT_NEEDED))
        return
    refused = conversation.refuses_media(session)
    if refused is not None:  # over the limit: nothing is downloaded
        dispose = (message.message_id,) if question.conceal else ()
        await conversation.show(bot, session, refused, dispose=dispose)
        return
    taken = await desk.take_evidence(bot, session, message)
    if isinstance(taken, Notice):
        dispose = (message.message_id,) if question.conceal else ()
        await conversation.show(bot, session, taken, dispose=dispose)
        return
    await conversation.handle(bot, session, Media(taken), answer_message_id=message.message_id)


def router() -> Router:
    """A fresh router (routers attach to one dispatcher only). Order matters: first match wins."""
    r = Router(name="flow")
    r.message.register(start, CommandStart(ignore_case=True))
    r.message.register(known_command, Command("menu", "language", "back", ignore_case=True))
    r.message.register(other_command, filters.command_like)
    r.callback_query.register(press, Tap.filter())
    r.callback_query.register(forged)
    r.message.register(text, filters.has_text)
    r.message.register(anything_else)
    return r
