"""Identifying input is refused at once: a shared location or contact is deleted, never stored."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message

from bot.conversation import Conversation
from bot.handlers import filters
from bot.sessions import Session
from flows.catalog import N_
from flows.engine import Notice

LOCATION_REMOVED = N_("common.location_removed")
CONTACT_REMOVED = N_("common.contact_removed")


async def refuse_identifying(
    message: Message, bot: Bot, session: Session, conversation: Conversation
) -> None:
    try:
        await message.delete()
        session.forget_message(message.message_id)
    except TelegramAPIError:
        pass  # still recorded, so the wipe tries again
    notice = Notice(CONTACT_REMOVED if message.contact else LOCATION_REMOVED)
    await conversation.show(bot, session, notice)


def router() -> Router:
    """A fresh router (routers attach to one dispatcher only)."""
    r = Router(name="identity")
    r.message.register(refuse_identifying, filters.identifying)
    return r
