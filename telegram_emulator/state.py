"""Chats as their members see them: every message of both sides, with its current state.

The server changes this state, the simulated users read it, and subscribers (the terminal chat,
tests) hear about every visible change. Nothing here speaks HTTP or builds Telegram JSON.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from flows.markup import Entity

ChangeKind = Literal["new", "edit", "delete"]
ChangeListener = Callable[[ChangeKind, int, "StoredMessage"], None]
Button = tuple[str, str | None]

log = logging.getLogger(__name__)

# Telegram lets anyone delete a message for everyone only while it is younger than this.
DELETE_WINDOW_SECONDS = 48 * 3600


@dataclass
class StoredMessage:
    """One message in one chat, as it currently stands."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    sender: dict[str, Any] | None  # the Telegram User object; None for a channel post
    kind: str = "text"  # text, photo, document, voice, sticker, location, contact, service
    text: str | None = None  # visible text (after entity parsing), or the caption
    raw_text: str | None = None  # as sent, before parse_mode was applied
    entities: tuple[Entity, ...] = ()
    parse_mode: str | None = None
    protect_content: bool = False
    disable_notification: bool = False
    reply_markup: dict[str, Any] | None = None
    payload: dict[str, Any] = field(default_factory=dict)  # photo/location/... Bot API fields
    edits: int = 0
    edit_date: int | None = None
    deleted: bool = False

    @property
    def buttons(self) -> list[list[Button]]:
        """Inline keyboard rows as ``(text, callback_data)``; data is None for URL buttons."""
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        return [
            [(str(b.get("text", "")), b.get("callback_data")) for b in row]
            for row in self.reply_markup["inline_keyboard"]
        ]

    @property
    def flat_buttons(self) -> list[Button]:
        """All inline buttons, row by row."""
        return [button for row in self.buttons for button in row]

    @property
    def has_keyboard(self) -> bool:
        """Whether the message carries at least one inline button."""
        return bool(self.flat_buttons)


@dataclass
class Chat:
    """A chat and its message list; ids grow monotonically and are never reused."""

    id: int
    type: str  # private, group, supergroup, channel
    api: dict[str, Any]  # the Telegram Chat object
    user: dict[str, Any] | None = None  # the other side of a private chat
    user_wrote: bool = False  # a bot may not write first
    blocked: bool = False  # the user blocked the bot
    bot_member: bool = False  # groups and channels: the bot is in the chat
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    pinned: list[int] = field(default_factory=list)  # pinned message ids, oldest first
    bot_changes: int = 0  # counts changes the bot made here, so a user can await a reply
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def allocate_id(self) -> int:
        """Reserve the next message id of this chat's own counter (supergroups and channels;
        private chats and basic groups draw from the bot's counter, see :class:`Numbering`)."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def visible(self) -> list[StoredMessage]:
        """Messages not deleted, oldest first."""
        return [m for m in self.messages.values() if not m.deleted]

    def get_visible(self, message_id: int) -> StoredMessage | None:
        """A message that exists and is not deleted."""
        message = self.messages.get(message_id)
        return None if message is None or message.deleted else message

    def pinned_message(self) -> StoredMessage | None:
        """The newest pinned message still there (deleting a message unpins it)."""
        for message_id in reversed(self.pinned):
            message = self.get_visible(message_id)
            if message is not None:
                return message
        return None

    def mark_bot_change(self) -> None:
        """Count a bot-made change and wake whoever waits for one."""
        self.bot_changes += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_bot_change(self, since: int, seconds: float) -> None:
        """Return once ``bot_changes`` exceeds ``since``; raise TimeoutError after ``seconds``."""
        async with asyncio.timeout(seconds):
            while self.bot_changes <= since:
                await self._changed.wait()


Numbering = Literal["per_bot", "per_chat"]
# Telegram numbers the messages of private chats and basic groups with one counter per account
# (the bot's own): ids in her chat jump by however many messages the bot saw elsewhere meanwhile.
# Only supergroups and channels count per chat. "per_chat" is the old, kinder model, kept by
# name for a test that needs ids it can predict.
PER_BOT: Numbering = "per_bot"
PER_CHAT: Numbering = "per_chat"


class ChatState:
    """All chats, and the listeners that hear every visible change."""

    def __init__(self, numbering: Numbering = PER_BOT) -> None:
        self.chats: dict[int, Chat] = {}
        self.numbering = numbering
        self._bot_counter = 1
        self._listeners: list[ChangeListener] = []
        self.listener_errors: list[BaseException] = []

    def subscribe(self, listener: ChangeListener) -> Callable[[], None]:
        """Call ``listener(kind, chat_id, message)`` on every visible change; returns unsubscribe.

        Listeners run synchronously inside the API call that made the change, so they see changes
        in order. An exception in a listener is kept in ``listener_errors`` rather than turned into
        an API error the bot would have to explain.
        """
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def allocate_id(self, chat: Chat) -> int:
        """The id of the next message in ``chat``, as Telegram numbers it (see ``Numbering``)."""
        if self.numbering == PER_CHAT or chat.type in ("supergroup", "channel"):
            return chat.allocate_id()
        message_id = self._bot_counter
        self._bot_counter += 1
        return message_id

    def add(self, chat: Chat) -> Chat:
        """Register a chat."""
        self.chats[chat.id] = chat
        return chat

    def store(self, message: StoredMessage) -> StoredMessage:
        """Append a new message to its chat and announce it."""
        chat = self.chats[message.chat_id]
        chat.messages[message.message_id] = message
        if message.from_bot:
            chat.mark_bot_change()
        self.notify("new", message)
        return message

    def notify(self, kind: ChangeKind, message: StoredMessage) -> None:
        """Tell every listener about a change (content never goes to the log)."""
        for listener in list(self._listeners):
            try:
                listener(kind, message.chat_id, message)
            except Exception as exc:  # a broken listener must not break the bot's API call
                self.listener_errors.append(exc)
                log.warning("emulator change listener failed: %s", type(exc).__name__)
