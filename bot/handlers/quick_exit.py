"""The quick exit: the exit button (from any message, even a stale one), /exit, and typed words."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, Message

from bot.conversation import Conversation
from bot.handlers import filters
from bot.render import exit_anchor
from bot.sessions import Session


async def is_exit_button(callback: CallbackQuery) -> bool | dict[str, Any]:
    """An exit button's tap; hands the handler the anchor it carries, if the pressed message
    really has that button (a forged anchor could make the wipe's span as wide as the bound)."""
    anchor = exit_anchor(callback.data)
    if anchor is None:
        return False
    return {"anchor": anchor if _on_pressed_message(callback) else 0}


def _on_pressed_message(callback: CallbackQuery) -> bool:
    markup = getattr(callback.message, "reply_markup", None)
    rows = getattr(markup, "inline_keyboard", None) or ()
    return any(button.callback_data == callback.data for row in rows for button in row)


async def exit_button(
    callback: CallbackQuery, bot: Bot, session: Session, conversation: Conversation, anchor: int
) -> None:
    # Answer first: the spinner stops at once, and the answer cannot fail on a deleted message.
    await callback.answer()
    if callback.message is not None and callback.message.message_id not in session.message_ids:
        # After a restart the session knows nothing yet: at least the screen she pressed goes.
        session.record(callback.message.message_id)
    await conversation.quick_exit(bot, session, anchor=anchor)


async def exit_typed(
    message: Message, bot: Bot, session: Session, conversation: Conversation
) -> None:
    await conversation.quick_exit(bot, session)


def router() -> Router:
    """A fresh router (routers attach to one dispatcher only)."""
    r = Router(name="quick_exit")
    r.callback_query.register(exit_button, is_exit_button)
    r.message.register(exit_typed, filters.exit_word)
    return r
