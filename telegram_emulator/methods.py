"""The Bot API methods the emulator implements, with Telegram's rules and error texts.

Each method takes :class:`~telegram_emulator.params.Params` and returns the ``result`` value or
raises :class:`~telegram_emulator.errors.ApiError`. :data:`METHODS` maps lower-cased names
(Telegram matches method names case-insensitively) to canonical names; anything not listed is a
404.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from telegram_emulator.errors import bad_request, forbidden
from telegram_emulator.fixtures import chat_full_info, message_object
from telegram_emulator.params import Params, parse_markup, parse_text
from telegram_emulator.state import DELETE_WINDOW_SECONDS, Chat, StoredMessage
from telegram_emulator.world import Alert, World

if TYPE_CHECKING:
    from telegram_emulator.webhook import WebhookDelivery

Method = Callable[["BotApi", Params], Awaitable[Any]]

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
_CHAT_ACTIONS = frozenset(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note".split()
)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


class BotApi:
    """Bot API methods bound to one :class:`World`."""

    def __init__(self, world: World) -> None:
        self.world = world
        # Set by the Emulator: setWebhook, deleteWebhook and getWebhookInfo act on it.
        self.webhook: WebhookDelivery | None = None

    # --- lookups shared by the methods ----------------------------------------------------------

    def _chat(self, params: Params) -> Chat:
        chat_id = params.opt_int("chat_id")
        if chat_id is None:
            raise bad_request("chat_id is empty")
        chat = self.world.chat(chat_id)
        if chat is None or (chat.type == "private" and not chat.user_wrote):
            # The bot has never seen this user: Telegram does not reveal the chat exists.
            if chat is not None:
                raise forbidden("bot can't initiate conversation with a user")
            raise bad_request("chat not found")
        return chat

    def _writable_chat(self, params: Params) -> Chat:
        chat = self._chat(params)
        if chat.type == "private":
            assert chat.user is not None
            if chat.user.get("is_bot"):
                raise forbidden("bot can't send messages to bots")
            if chat.blocked:
                raise forbidden("bot was blocked by the user")
        elif not chat.bot_member:
            raise forbidden(f"bot is not a member of the {_kind(chat)} chat")
        return chat

    def _bot_message(self, chat: Chat, message_id: int) -> StoredMessage:
        message = chat.get_visible(message_id)
        if message is None:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    def _deletable(self, chat: Chat, message: StoredMessage | None) -> str | None:
        """Why ``message`` cannot be deleted, or None when it can."""
        if message is None or message.deleted:
            return "message to delete not found"
        if self.world.now() - message.date >= DELETE_WINDOW_SECONDS:
            return "message can't be deleted for everyone"
        if chat.type != "private" and not message.from_bot:
            return "message can't be deleted"  # the bot is not an admin there
        return None

    def _delete(self, message: StoredMessage) -> None:
        message.deleted = True
        self.world.state.notify("delete", message)
        self.world.state.chats[message.chat_id].mark_bot_change()

    # --- methods ------------------------------------------------------------------------------

    async def get_me(self, params: Params) -> Any:
        """getMe."""
        return self.world.me

    async def get_updates(self, params: Params) -> Any:
        """getUpdates: offset confirms, timeout long-polls, limit caps, allowed_updates filters."""
        limit = params.opt_int("limit") or 100
        timeout = params.opt_int("timeout") or 0
        allowed = params.json_value("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise bad_request("can't parse allowed_updates JSON object")
        return await self.world.updates.get(
            params.opt_int("offset"), min(max(limit, 1), 100), max(timeout, 0), allowed
        )

    async def delete_webhook(self, params: Params) -> Any:
        """deleteWebhook: polling works again; drop_pending_updates forgets what is queued."""
        if self.webhook is None:
            if params.flag("drop_pending_updates"):
                self.world.updates.drop_pending()
            return True
        self.webhook.delete_webhook(params.flag("drop_pending_updates"))
        return True

    async def set_webhook(self, params: Params) -> Any:
        """setWebhook with Telegram's checks (see :mod:`telegram_emulator.webhook`)."""
        if self.webhook is None:
            raise bad_request("webhooks are not enabled in this emulator")
        await self.webhook.set_webhook(params)
        return True

    async def get_webhook_info(self, params: Params) -> Any:
        """getWebhookInfo: the url ("" when polling), pending updates, the last error."""
        if self.webhook is None:
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        return self.webhook.info()

    async def set_my_commands(self, params: Params) -> Any:
        """setMyCommands with Telegram's command and description limits."""
        commands = params.json_value("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse commands JSON object")
            if not _COMMAND.fullmatch(str(command.get("command", "")).lower()):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("command description is empty")
        self.world.commands[_commands_key(params)] = commands
        return True

    async def delete_my_commands(self, params: Params) -> Any:
        """deleteMyCommands."""
        self.world.commands.pop(_commands_key(params), None)
        return True

    async def send_message(self, params: Params) -> Any:
        """sendMessage: text rules, keyboard rules, no first contact, membership."""
        chat = self._writable_chat(params)
        parse_mode = params.opt_str("parse_mode")
        parsed = parse_text(params.opt_str("text"), parse_mode)
        markup = parse_markup(params.json_value("reply_markup"), inline_only=False)
        message = StoredMessage(
            chat_id=chat.id,
            message_id=self.world.state.allocate_id(chat),
            date=self.world.now(),
            from_bot=True,
            sender=None if chat.type == "channel" else self.world.bot_sender,
            text=parsed.text,
            raw_text=params.opt_str("text"),
            entities=parsed.entities,
            parse_mode=parse_mode,
            protect_content=params.flag("protect_content"),
            disable_notification=params.flag("disable_notification"),
            reply_markup=markup,
        )
        self.world.state.store(message)
        return message_object(message, chat)

    async def edit_message_text(self, params: Params) -> Any:
        """editMessageText; leaving out reply_markup removes the keyboard, as on Telegram."""
        if params.opt_str("inline_message_id") is not None:
            raise bad_request("the emulator has no inline messages")
        chat = self._writable_chat(params)
        message = self._bot_message(chat, params.req_int("message_id"))
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        parse_mode = params.opt_str("parse_mode")
        parsed = parse_text(params.opt_str("text"), parse_mode)
        markup = parse_markup(params.json_value("reply_markup"), inline_only=True)
        unchanged = (message.text, message.entities, message.reply_markup)
        if (parsed.text, parsed.entities, markup) == unchanged:
            raise bad_request(NOT_MODIFIED)
        message.text, message.entities = parsed.text, parsed.entities
        message.raw_text, message.parse_mode = params.opt_str("text"), parse_mode
        message.reply_markup = markup
        return self._edited(chat, message)

    async def edit_message_reply_markup(self, params: Params) -> Any:
        """editMessageReplyMarkup; no reply_markup removes the keyboard."""
        if params.opt_str("inline_message_id") is not None:
            raise bad_request("the emulator has no inline messages")
        chat = self._writable_chat(params)
        message = self._bot_message(chat, params.req_int("message_id"))
        markup = parse_markup(params.json_value("reply_markup"), inline_only=True)
        if markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        message.reply_markup = markup
        return self._edited(chat, message)

    def _edited(self, chat: Chat, message: StoredMessage) -> Any:
        message.edits += 1
        message.edit_date = self.world.now()
        self.world.state.notify("edit", message)
        chat.mark_bot_change()
        return message_object(message, chat)

    async def delete_message(self, params: Params) -> Any:
        """deleteMessage: both sides in private chats, under 48 hours old."""
        chat = self._chat(params)
        message = chat.messages.get(params.req_int("message_id"))
        reason = self._deletable(chat, message)
        if reason is not None:
            raise bad_request(reason)
        assert message is not None
        self._delete(message)
        return True

    async def delete_messages(self, params: Params) -> Any:
        """deleteMessages: 1..100 ids; ids it cannot delete are skipped silently."""
        chat = self._chat(params)
        ids = params.json_value("message_ids")
        if not isinstance(ids, list) or not ids:
            raise bad_request("message identifiers are not specified")
        if len(ids) > 100:
            raise bad_request("too many message identifiers specified")
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise bad_request("can't parse message_ids JSON object")
        for message_id in ids:
            message = chat.messages.get(message_id)
            if message is not None and self._deletable(chat, message) is None:
                self._delete(message)
        return True

    async def answer_callback_query(self, params: Params) -> Any:
        """answerCallbackQuery: once per query; the text is shown to the presser."""
        query = self.world.queries.get(params.opt_str("callback_query_id") or "")
        if query is None or query.answered:
            raise bad_request(QUERY_TOO_OLD)
        text = params.opt_str("text") or ""
        if len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        if text:
            alert = Alert(text, params.flag("show_alert"))
            self.world.alerts.setdefault(query.user_id, []).append(alert)
        return True

    async def leave_chat(self, params: Params) -> Any:
        """leaveChat: the bot stops being a member (and gets its my_chat_member update)."""
        chat_id = params.opt_int("chat_id")
        chat = self.world.chat(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad_request("chat not found")
        if chat.type == "private":
            raise bad_request("chat member status can't be changed in private chats")
        if not chat.bot_member:
            raise forbidden(f"bot is not a member of the {_kind(chat)} chat")
        self.world.member_change(chat, self.world.bot_sender, "member", "left")
        return True

    async def get_chat(self, params: Params) -> Any:
        """getChat, with the newest pinned message that still exists."""
        chat_id = params.opt_int("chat_id")
        chat = self.world.chat(chat_id) if chat_id is not None else None
        if chat is None or (chat.type == "private" and not chat.user_wrote):
            raise bad_request("chat not found")
        info = chat_full_info(chat)
        pinned = chat.pinned_message()
        if pinned is not None:
            info["pinned_message"] = message_object(pinned, chat)
        return info

    async def pin_chat_message(self, params: Params) -> Any:
        """pinChatMessage: anyone may pin in a private chat; Telegram adds a service message
        ("… pinned «…»") to the chat, which takes an id of its own."""
        chat = self._writable_chat(params)
        if chat.type != "private":
            raise bad_request("not enough rights to manage pinned messages in the chat")
        target = chat.get_visible(params.req_int("message_id"))
        if target is None:
            raise bad_request("message to pin not found")
        chat.pinned.append(target.message_id)
        service = StoredMessage(
            chat_id=chat.id,
            message_id=self.world.state.allocate_id(chat),
            date=self.world.now(),
            from_bot=True,
            sender=self.world.bot_sender,
            kind="service",
            payload={"pinned_message": message_object(target, chat)},
        )
        self.world.state.store(service)
        return True

    async def get_file(self, params: Params) -> Any:
        """getFile: a path for /file/bot<token>/<path>."""
        stored = self.world.files.get(params.opt_str("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
            "file_path": stored.path,
        }

    async def send_chat_action(self, params: Params) -> Any:
        """sendChatAction."""
        self._writable_chat(params)
        if params.opt_str("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True


def _kind(chat: Chat) -> str:
    return (
        "channel"
        if chat.type == "channel"
        else ("supergroup" if chat.type == "supergroup" else "group")
    )


def _commands_key(params: Params) -> tuple[str, str]:
    scope = params.json_value("scope") or {"type": "default"}
    return str(scope.get("type", "default")), params.opt_str("language_code") or ""


METHODS: dict[str, tuple[str, Method]] = {
    name.lower(): (name, handler)
    for name, handler in (
        ("getMe", BotApi.get_me),
        ("getUpdates", BotApi.get_updates),
        ("deleteWebhook", BotApi.delete_webhook),
        ("setWebhook", BotApi.set_webhook),
        ("getWebhookInfo", BotApi.get_webhook_info),
        ("setMyCommands", BotApi.set_my_commands),
        ("deleteMyCommands", BotApi.delete_my_commands),
        ("sendMessage", BotApi.send_message),
        ("editMessageText", BotApi.edit_message_text),
        ("editMessageReplyMarkup", BotApi.edit_message_reply_markup),
        ("deleteMessage", BotApi.delete_message),
        ("deleteMessages", BotApi.delete_messages),
        ("answerCallbackQuery", BotApi.answer_callback_query),
        ("leaveChat", BotApi.leave_chat),
        ("getChat", BotApi.get_chat),
        ("pinChatMessage", BotApi.pin_chat_message),
        ("getFile", BotApi.get_file),
        ("sendChatAction", BotApi.send_chat_action),
    )
}
