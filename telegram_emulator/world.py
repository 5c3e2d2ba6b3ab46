"""Everything the emulated Telegram knows, and how users change it.

The server's Bot API methods (:mod:`telegram_emulator.methods`) and the simulated users
(:mod:`telegram_emulator.client`) both work on one :class:`World`: chats and their messages, the
update queue, uploaded files, open callback queries, the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram_emulator.clock import Clock
from telegram_emulator.fixtures import (
    Ids,
    bot_user,
    inaccessible_message_object,
    message_object,
    private_chat_object,
    titled_chat_object,
    user_object,
)
from telegram_emulator.state import Chat, ChatState, StoredMessage
from telegram_emulator.updates import UpdateQueue


@dataclass
class StoredFile:
    """A file a user sent, downloadable by the bot through getFile and /file/."""

    file_id: str
    unique_id: str
    path: str
    data: bytes
    mime_type: str | None = None


@dataclass
class OpenQuery:
    """A callback query waiting for answerCallbackQuery."""

    user_id: int
    answered: bool = False


@dataclass
class Alert:
    """What answerCallbackQuery showed: a toast, or a modal alert when ``show_alert``."""

    text: str
    show_alert: bool = False


@dataclass
class World:
    """The emulated Telegram, seen from one bot."""

    bot_id: int
    bot_username: str
    bot_name: str
    clock: Clock = field(default_factory=Clock)
    state: ChatState = field(default_factory=ChatState)
    updates: UpdateQueue = field(default_factory=UpdateQueue)
    ids: Ids = field(default_factory=Ids)
    files: dict[str, StoredFile] = field(default_factory=dict)
    queries: dict[str, OpenQuery] = field(default_factory=dict)
    alerts: dict[int, list[Alert]] = field(default_factory=dict)
    commands: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def me(self) -> dict[str, Any]:
        """The getMe answer."""
        return bot_user(self.bot_id, self.bot_username, self.bot_name)

    @property
    def bot_sender(self) -> dict[str, Any]:
        """The bot as the ``from`` of its own messages."""
        return user_object(self.bot_id, self.bot_name, username=self.bot_username, is_bot=True)

    def now(self) -> int:
        """Emulated Unix time, whole seconds, as Telegram dates are."""
        return int(self.clock.now())

    # --- chats --------------------------------------------------------------------------------

    def new_user(self, first_name: str, **kwargs: Any) -> Chat:
        """A new user and the (still silent) private chat with the bot."""
        user = user_object(self.ids.user(), first_name, **kwargs)
        chat = Chat(id=user["id"], type="private", api=private_chat_object(user), user=user)
        return self.state.add(chat)

    def new_group(self, title: str, *, supergroup: bool = False) -> Chat:
        """A group (or supergroup) the bot is not yet in."""
        if supergroup:
            chat_id, chat_type = self.ids.supergroup(), "supergroup"
        else:
            chat_id, chat_type = self.ids.group(), "group"
        return self.state.add(
            Chat(chat_id, chat_type, titled_chat_object(chat_id, chat_type, title))
        )

    def new_channel(self, title: str) -> Chat:
        """A channel the bot is not yet in."""
        chat_id = self.ids.supergroup()
        return self.state.add(
            Chat(chat_id, "channel", titled_chat_object(chat_id, "channel", title))
        )

    def chat(self, chat_id: int) -> Chat | None:
        """A known chat."""
        return self.state.chats.get(chat_id)

    # --- what users do ------------------------------------------------------------------------

    def user_message(
        self,
        chat: Chat,
        sender: dict[str, Any] | None,
        *,
        kind: str = "text",
        text: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        payload: dict[str, Any] | None = None,
    ) -> tuple[StoredMessage, int | None]:
        """Store a message from a user (or a channel post) and queue its update."""
        message = StoredMessage(
            chat_id=chat.id,
            message_id=self.state.allocate_id(chat),
            date=self.now(),
            from_bot=False,
            sender=sender,
            kind=kind,
            text=text,
            raw_text=text,
            payload=dict(payload or {}),
        )
        if chat.type == "private":
            chat.user_wrote = True
            chat.blocked = False  # writing to a bot unblocks it, as on Telegram
        self.state.store(message)
        body = message_object(message, chat)
        if entities:
            body["entities" if kind == "text" else "caption_entities"] = entities
        update_kind = "channel_post" if chat.type == "channel" else "message"
        return message, self.updates.push(update_kind, body)

    def user_edit(self, chat: Chat, message_id: int, text: str) -> int | None:
        """A user edits her own text message: an edited_message update."""
        message = chat.get_visible(message_id)
        if message is None or message.from_bot or message.kind != "text":
            raise LookupError("no such message of this user to edit")
        message.text = message.raw_text = text
        message.edits += 1
        message.edit_date = self.now()
        self.state.notify("edit", message)
        kind = "edited_channel_post" if chat.type == "channel" else "edited_message"
        return self.updates.push(kind, message_object(message, chat))

    def callback(
        self, chat: Chat, user: dict[str, Any], message_id: int, data: str
    ) -> tuple[str, int | None]:
        """A user presses an inline button (or forges a press): ``(query id, update id)``."""
        query_id = self.ids.callback_query()
        self.queries[query_id] = OpenQuery(user["id"])
        message = chat.get_visible(message_id)
        body: dict[str, Any] = {
            "id": query_id,
            "from": user,
            # Stable per chat, opaque, as on Telegram; never derived from the user id alone.
            "chat_instance": str(abs(chat.id) * 7919 % 10**12),
            "data": data,
            "message": (
                message_object(message, chat)
                if message is not None
                else inaccessible_message_object(chat, message_id)
            ),
        }
        return query_id, self.updates.push("callback_query", body)

    def member_change(self, chat: Chat, by: dict[str, Any], old: str, new: str) -> int | None:
        """The bot's own membership changed: a my_chat_member update."""
        chat.bot_member = new in ("member", "administrator")
        me = self.bot_sender
        body = {
            "chat": chat.api,
            "from": by,
            "date": self.now(),
            "old_chat_member": {"status": old, "user": me},
            "new_chat_member": _member(new, me),
        }
        return self.updates.push("my_chat_member", body)

    def store_file(self, data: bytes, folder: str, ext: str, mime_type: str | None) -> StoredFile:
        """Keep an uploaded file for getFile."""
        file_id, unique_id = self.ids.file()
        path = f"{folder}/file_{len(self.files)}.{ext}"
        stored = StoredFile(file_id, unique_id, path, data, mime_type)
        self.files[file_id] = stored
        return stored


def _member(status: str, user: dict[str, Any]) -> dict[str, Any]:
    if status != "administrator":
        return {"status": status, "user": user}
    # ChatMemberAdministrator has many required rights; a channel admin bot may post only.
    rights = (
        "can_be_edited can_manage_chat can_delete_messages can_manage_video_chats "
        "can_restrict_members can_promote_members can_change_info can_invite_users "
        "can_post_stories can_edit_stories can_delete_stories can_send_welcome_messages "
        "is_anonymous"
    ).split()
    return {
        "status": status,
        "user": user,
        **dict.fromkeys(rights, False),
        "can_post_messages": True,
    }
