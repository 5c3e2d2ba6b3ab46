"""Telegram objects built from emulator state: users, chats, messages, callback queries.

Ids are unique per emulator and shaped like Telegram's (private chat id == user id, groups
negative, supergroups and channels ``-100…``), so code that branches on the sign still works.
"""

from __future__ import annotations

import itertools
import secrets
from typing import Any

from telegram_emulator.state import Chat, StoredMessage


class Ids:
    """Counters for every kind of id the emulator hands out."""

    def __init__(self) -> None:
        self._users = itertools.count(700_000_001)
        self._groups = itertools.count(4_000_001)
        self._channels = itertools.count(1_900_000_001)
        self._files = itertools.count(1)
        self._queries = itertools.count(1)

    def user(self) -> int:
        """A fresh user id (also the id of the private chat with that user)."""
        return next(self._users)

    def group(self) -> int:
        """A fresh basic-group id (negative)."""
        return -next(self._groups)

    def supergroup(self) -> int:
        """A fresh supergroup or channel id (``-100`` prefix)."""
        return -(1_000_000_000_000 + next(self._channels))

    def file(self) -> tuple[str, str]:
        """A fresh ``(file_id, file_unique_id)`` pair."""
        n = next(self._files)
        return f"EMU{n:08d}{secrets.token_hex(8)}", f"U{n:08d}"

    def callback_query(self) -> str:
        """A fresh callback query id (a string, as on Telegram)."""
        return f"{next(self._queries)}{secrets.randbelow(10**9):09d}"


def user_object(
    user_id: int,
    first_name: str,
    *,
    last_name: str | None = None,
    username: str | None = None,
    language_code: str | None = None,
    is_bot: bool = False,
) -> dict[str, Any]:
    """A Bot API ``User``."""
    user: dict[str, Any] = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if last_name:
        user["last_name"] = last_name
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    return user


def bot_user(bot_id: int, username: str, first_name: str) -> dict[str, Any]:
    """The ``getMe`` answer: the bot's own ``User`` with the bot-only flags."""
    return {
        **user_object(bot_id, first_name, username=username, is_bot=True),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def private_chat_object(user: dict[str, Any]) -> dict[str, Any]:
    """The ``Chat`` of a private conversation with ``user``."""
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    for key in ("last_name", "username"):
        if key in user:
            chat[key] = user[key]
    return chat


def titled_chat_object(chat_id: int, chat_type: str, title: str) -> dict[str, Any]:
    """The ``Chat`` of a group, supergroup or channel."""
    return {"id": chat_id, "type": chat_type, "title": title}


def chat_full_info(chat: Chat) -> dict[str, Any]:
    """The ``getChat`` answer (``ChatFullInfo``) with the fields aiogram requires."""
    return {
        **chat.api,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


def message_object(message: StoredMessage, chat: Chat) -> dict[str, Any]:
    """A Bot API ``Message`` for the current state of ``message``."""
    out: dict[str, Any] = {
        "message_id": message.message_id,
        "date": message.date,
        "chat": chat.api,
    }
    if message.sender is not None:
        out["from"] = message.sender
    elif chat.type == "channel":
        out["sender_chat"] = chat.api
    if message.text is not None:
        text_key, entities_key = (
            ("text", "entities") if message.kind == "text" else ("caption", "caption_entities")
        )
        out[text_key] = message.text
        if message.entities:
            out[entities_key] = [e.to_api() for e in message.entities]
    out.update(message.payload)
    if message.reply_markup and "inline_keyboard" in message.reply_markup:
        out["reply_markup"] = message.reply_markup  # only inline keyboards travel with a message
    if message.protect_content:
        out["has_protected_content"] = True
    if message.edit_date is not None:
        out["edit_date"] = message.edit_date
    return out


def inaccessible_message_object(chat: Chat, message_id: int) -> dict[str, Any]:
    """What a callback query carries when its message is gone (``date`` 0)."""
    return {"chat": chat.api, "message_id": message_id, "date": 0}


def command_entities(text: str) -> list[dict[str, Any]]:
    """The ``bot_command`` entity Telegram adds when a message starts with ``/command``."""
    if not text.startswith("/") or len(text) < 2:
        return []
    length = len(text.split(maxsplit=1)[0])
    return [{"type": "bot_command", "offset": 0, "length": length}]
