"""The test side: start the emulator, simulate users, wait for the bot to settle.

Runs in the bot's own event loop, so tests, the sandbox and the benchmark drive the real aiogram
stack over loopback HTTP without threads.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from aiogram import Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import TelegramObject
from aiohttp import web

from telegram_emulator.clock import Clock
from telegram_emulator.faults import FaultPlan
from telegram_emulator.fixtures import command_entities, user_object
from telegram_emulator.methods import BotApi
from telegram_emulator.server import ApiCall, ApiServer
from telegram_emulator.state import (
    PER_BOT,
    Button,
    ChangeListener,
    Chat,
    ChatState,
    Numbering,
    StoredMessage,
)
from telegram_emulator.webhook import WebhookDelivery
from telegram_emulator.world import Alert, StoredFile, World


class SettleTimeout(TimeoutError):
    """The bot did not go quiet in time; the message says what was still pending."""


class LoopbackSession(AiohttpSession):
    """AiohttpSession for the emulator: closes at once.

    aiogram waits 250 ms on close for TLS connections to shut down; over plain loopback that
    wait only slows every test down.
    """

    async def close(self) -> None:
        """Close the underlying aiohttp session without the TLS grace period."""
        if self._session is not None and not self._session.closed:
            await self._session.close()


class Emulator:
    """A local Bot API server for one bot token, plus the means to act as its users."""

    def __init__(
        self,
        token: str = "123456:TEST",  # noqa: S107 - a test token, not a secret
        *,
        bot_username: str = "emulated_bot",
        bot_name: str = "Emulated Bot",
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        local_mode: bool = False,
        numbering: Numbering = PER_BOT,
    ) -> None:
        bot_id = int(token.split(":", 1)[0])
        self.token = token
        self.world = World(
            bot_id, bot_username, bot_name, clock=clock or Clock(), state=ChatState(numbering)
        )
        self.faults = FaultPlan()
        api = BotApi(self.world)
        self.server = ApiServer(api, token, self.faults)
        self.webhook = api.webhook = WebhookDelivery(
            self.world, self.server.call_in_response, self._delivering, local_mode=local_mode
        )
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._work: list[Callable[[], int]] = []
        self.base_url = ""

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the server (port 0 picks a free port) and fill in ``base_url``."""
        self._runner = web.AppRunner(
            self.server.app(), access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        """End long polls and webhook deliveries and shut the server down."""
        self.world.updates.close()
        await self.webhook.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _delivering(self, change: int) -> None:
        """A webhook delivery started (+1) or ended (-1): settle waits for it like a request."""
        self.server.traffic.in_flight += change
        self.server.traffic.touch()

    def watch_work(self, probe: Callable[[], int]) -> Callable[[], None]:
        """Make :meth:`settle` also wait until ``probe()`` is 0; returns a function to stop.

        For a bot that answers its webhook before it handles the update (as production bots
        do): the emulator cannot see that work, so the test harness tells it how much is left.
        """
        self._work.append(probe)

        def unwatch() -> None:
            if probe in self._work:
                self._work.remove(probe)

        return unwatch

    def watch_dispatcher(self, dp: Dispatcher) -> Callable[[], None]:
        """Make :meth:`settle` also wait for the updates ``dp`` is handling; returns a function
        to stop.

        Polling with ``handle_as_tasks`` (aiogram's default, and production's) confirms an
        update with the next getUpdates, before its handler has run: a handler that thinks
        between two requests looks quiet to the emulator, and on a loaded machine settle
        returned before the bot answered. An outer middleware counts what is in hand.
        """
        handling = 0

        async def count(
            handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
            event: TelegramObject,
            data: dict[str, Any],
        ) -> Any:
            nonlocal handling
            handling += 1
            try:
                return await handler(event, data)
            finally:
                handling -= 1
                self.server.traffic.touch()

        dp.update.outer_middleware.register(count)
        unwatch_work = self.watch_work(lambda: handling)

        def unwatch() -> None:
            unwatch_work()
            dp.update.outer_middleware.unregister(count)

        return unwatch

    def session(self, **kwargs: Any) -> AiohttpSession:
        """An aiogram session that talks to this emulator (``Bot(token, session=...)``)."""
        return LoopbackSession(api=TelegramAPIServer.from_base(self.base_url), **kwargs)

    # --- observation --------------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        """The emulated wall clock (``emu.clock.advance(hours=49)`` ages every message)."""
        return self.world.clock

    @property
    def calls(self) -> list[ApiCall]:
        """Every API call so far, oldest first."""
        return self.server.calls

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions inside the emulator itself (answered as 500); should stay empty."""
        return [*self.server.errors, *self.world.state.listener_errors]

    def calls_to(self, method: str) -> list[ApiCall]:
        """Calls of one method (name matched case-insensitively)."""
        return [c for c in self.server.calls if c.method.lower() == method.lower()]

    @property
    def commands(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """setMyCommands state by (scope type, language code)."""
        return self.world.commands

    def subscribe(self, listener: ChangeListener) -> Any:
        """Call ``listener(kind, chat_id, message)`` on every visible change; returns unsubscribe.

        ``kind`` is "new", "edit" or "delete"; the listener runs synchronously.
        """
        return self.world.state.subscribe(listener)

    def chat(self, chat_id: int) -> Chat:
        """A chat's state by id."""
        chat = self.world.chat(chat_id)
        if chat is None:
            raise KeyError(chat_id)
        return chat

    async def settle(
        self,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        quiet: float = 0.03,
        updates: bool = True,
    ) -> None:
        """Wait until the bot fetched and confirmed every update and went quiet.

        Quiet means: no API request in flight (a waiting long poll does not count) and none
        started or finished for ``quiet`` seconds. ``updates=False`` skips the confirmation
        check, for tests that call the API directly without polling. Raises
        :class:`SettleTimeout` after ``timeout`` seconds, saying what was still pending.
        """
        check_updates = updates
        queue, traffic = self.world.updates, self.server.traffic
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            working = sum(probe() for probe in self._work)
            if working:
                traffic.last_activity = now  # the quiet period starts once the bot is done
            busy = (check_updates and queue.unconfirmed) or traffic.in_flight or working
            idle_for = now - traffic.last_activity
            if not busy and idle_for >= quiet:
                return
            if now >= deadline:
                raise SettleTimeout(
                    f"emulator did not settle within {timeout}s: {queue.unconfirmed} update(s) "
                    f"not confirmed (last fetched id {queue.fetched_up_to} of {queue.last_id}), "
                    f"{traffic.in_flight} request(s) in flight, {working} update(s) being handled; "
                    f"is the bot polling {self.base_url} or serving its webhook?"
                )
            if busy:
                # Work the emulator cannot see ends without a request: look again soon.
                wait = min(0.005, deadline - now) if working else deadline - now
            else:
                wait = min(quiet - idle_for, deadline - now)
            await traffic.wait_change(wait)

    # --- actors -------------------------------------------------------------------------------

    def user(
        self,
        first_name: str = "User",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        is_bot: bool = False,
    ) -> SimUser:
        """A new user with her own private chat with the bot (silent until she writes)."""
        chat = self.world.new_user(
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            is_bot=is_bot,
        )
        return SimUser(self, chat)

    def group(self, title: str = "Group", *, supergroup: bool = False) -> SimGroup:
        """A new group (the bot is not in it until :meth:`add_bot_to_group`)."""
        return SimGroup(self, self.world.new_group(title, supergroup=supergroup))

    def channel(self, title: str = "Channel") -> SimGroup:
        """A new channel (the bot is not in it until :meth:`add_bot_to_group`)."""
        return SimGroup(self, self.world.new_channel(title))

    async def add_bot_to_group(self, group: SimGroup, by: SimUser, *, admin: bool = False) -> None:
        """``by`` adds the bot to a group or channel: a my_chat_member update."""
        status = "administrator" if admin or group.chat.type == "channel" else "member"
        self.world.member_change(group.chat, by.user, "left", status)

    async def channel_post(self, channel: SimGroup, text: str) -> StoredMessage:
        """A post in a channel: a channel_post update (no ``from``, a ``sender_chat``)."""
        message, _ = self.world.user_message(channel.chat, None, text=text)
        return message


class SimUser:
    """One simulated user and her private chat with the bot."""

    def __init__(self, emu: Emulator, chat: Chat) -> None:
        self.emu = emu
        self.chat = chat
        assert chat.user is not None
        self.user: dict[str, Any] = chat.user
        self.id: int = chat.id

    # --- what she sees ------------------------------------------------------------------------

    @property
    def visible(self) -> list[StoredMessage]:
        """Messages currently in the chat, both sides, oldest first."""
        return self.chat.visible()

    @property
    def last_bot(self) -> StoredMessage | None:
        """The newest visible bot message."""
        for message in reversed(self.chat.messages.values()):
            if message.from_bot and not message.deleted:
                return message
        return None

    @property
    def keyboard_message(self) -> StoredMessage | None:
        """The newest visible bot message that has inline buttons."""
        for message in reversed(self.chat.messages.values()):
            if message.from_bot and not message.deleted and message.has_keyboard:
                return message
        return None

    @property
    def buttons(self) -> list[str]:
        """Button texts of the newest keyboard, flattened row by row."""
        message = self.keyboard_message
        return [text for text, _ in message.flat_buttons] if message else []

    @property
    def alerts(self) -> list[str]:
        """Texts shown to her by answerCallbackQuery, oldest first."""
        return [alert.text for alert in self.emu.world.alerts.get(self.id, [])]

    @property
    def alert_details(self) -> list[Alert]:
        """Like :attr:`alerts`, with ``show_alert``."""
        return list(self.emu.world.alerts.get(self.id, []))

    @property
    def bot_changes(self) -> int:
        """How many changes the bot made in this chat so far (for :meth:`wait_bot`)."""
        return self.chat.bot_changes

    async def wait_bot(self, since: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the bot changed this chat after ``bot_changes`` was ``since``."""
        await self.chat.wait_bot_change(since, timeout)

    # --- what she does ------------------------------------------------------------------------

    async def send(self, text: str, *, wait: bool = False) -> StoredMessage:
        """She sends a text message; ``wait=True`` returns after the bot changed the chat."""
        entities = command_entities(text)
        return await self._say(wait, text=text, entities=entities)

    async def command(self, text: str, *, wait: bool = False) -> StoredMessage:
        """She sends ``/command [args]`` (with the bot_command entity Telegram adds)."""
        if not text.startswith("/"):
            text = "/" + text
        return await self.send(text, wait=wait)

    async def press(
        self,
        label: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        wait: bool = False,
    ) -> str:
        """Press the button whose text is ``label`` (exact match first, then substring).

        Looks at the newest visible bot message that has such a button. Returns once the bot
        fetched the callback query (or, with ``wait=True``, once it changed the chat); returns
        the callback query id.
        """
        message, data = self._find_button(label)
        return await self.press_data(message.message_id, data, timeout=timeout, wait=wait)

    async def press_index(
        self,
        index: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        wait: bool = False,
    ) -> str:
        """Press the ``index``-th button (0-based, flattened) of the newest keyboard."""
        message = self.keyboard_message
        if message is None:
            raise LookupError("no bot message with buttons is visible")
        buttons = message.flat_buttons
        if not 0 <= index < len(buttons):
            raise IndexError(f"keyboard has {len(buttons)} buttons, no index {index}")
        return await self.press_data(
            message.message_id, _callback_data(buttons[index]), timeout=timeout, wait=wait
        )

    async def press_data(
        self,
        message_id: int,
        data: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain number is what test code wants to pass
        wait: bool = False,
    ) -> str:
        """A callback query with arbitrary data on any message id (forged presses too)."""
        before = self.chat.bot_changes
        world = self.emu.world
        self.chat.user_wrote = True
        query_id, update_id = world.callback(self.chat, self.user, message_id, data)
        if update_id is not None:
            await world.updates.delivered(update_id, timeout)
        if wait:
            await self.wait_bot(before, timeout)
        return query_id

    async def send_location(self, latitude: float, longitude: float) -> StoredMessage:
        """She shares a location."""
        return await self._say(
            False,
            kind="location",
            payload={"location": {"latitude": latitude, "longitude": longitude}},
        )

    async def send_contact(self, phone_number: str, first_name: str) -> StoredMessage:
        """She shares a contact card."""
        return await self._say(
            False,
            kind="contact",
            payload={"contact": {"phone_number": phone_number, "first_name": first_name}},
        )

    async def send_photo(self, data: bytes, caption: str | None = None) -> StoredMessage:
        """She sends a photo (downloadable through getFile)."""
        stored = self.emu.world.store_file(data, "photos", "jpg", "image/jpeg")
        size = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "width": 640,
            "height": 480,
            "file_size": len(data),
        }
        return await self._say(False, kind="photo", text=caption, payload={"photo": [size]})

    async def send_document(
        self, data: bytes, file_name: str, mime_type: str, caption: str | None = None
    ) -> StoredMessage:
        """She sends a file."""
        ext = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
        stored = self.emu.world.store_file(data, "documents", ext, mime_type)
        return await self._send_stored_document(stored, file_name, mime_type, caption)

    async def send_document_again(self, sent: StoredMessage) -> StoredMessage:
        """She sends a document already on Telegram's servers again, by its file id (as a
        client does when she forwards or re-sends it): nothing is uploaded, so any account can
        make the bot download the same large file as often as it likes."""
        document = sent.payload["document"]
        stored = self.emu.world.files[document["file_id"]]
        return await self._send_stored_document(
            stored, document["file_name"], document["mime_type"], None
        )

    async def _send_stored_document(
        self, stored: StoredFile, file_name: str, mime_type: str, caption: str | None
    ) -> StoredMessage:
        data = stored.data
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        return await self._say(False, kind="document", text=caption, payload={"document": document})

    async def send_voice(self, data: bytes, duration: int = 1) -> StoredMessage:
        """She sends a voice note."""
        stored = self.emu.world.store_file(data, "voice", "oga", "audio/ogg")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return await self._say(False, kind="voice", payload={"voice": voice})

    async def send_sticker(self, emoji: str = "🙂") -> StoredMessage:
        """She sends a sticker."""
        stored = self.emu.world.store_file(b"RIFF\x00\x00\x00\x00WEBP", "stickers", "webp", None)
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return await self._say(False, kind="sticker", payload={"sticker": sticker})

    async def edit(self, message_id: int, text: str) -> None:
        """She edits one of her text messages: an edited_message update."""
        self.emu.world.user_edit(self.chat, message_id, text)

    def block(self) -> None:
        """She blocks the bot; its sends fail with 403 until she writes again."""
        self.chat.blocked = True

    async def _say(self, wait: bool, **kwargs: Any) -> StoredMessage:
        before = self.chat.bot_changes
        message, _ = self.emu.world.user_message(self.chat, self.user, **kwargs)
        if wait:
            await self.wait_bot(before)
        return message

    def _find_button(self, label: str) -> tuple[StoredMessage, str]:
        keyboards = [
            m
            for m in reversed(self.chat.messages.values())
            if m.from_bot and not m.deleted and m.has_keyboard
        ]
        for exact in (True, False):
            for message in keyboards:
                for button in message.flat_buttons:
                    if button[0] == label if exact else label in button[0]:
                        return message, _callback_data(button)
        raise LookupError(f"no visible button {label!r}; newest keyboard: {self.buttons}")


class SimGroup:
    """A simulated group, supergroup or channel."""

    def __init__(self, emu: Emulator, chat: Chat) -> None:
        self.emu = emu
        self.chat = chat
        self.id = chat.id

    async def send(self, from_user: SimUser | dict[str, Any], text: str) -> StoredMessage:
        """A member writes in the group: a message update."""
        sender = from_user.user if isinstance(from_user, SimUser) else from_user
        message, _ = self.emu.world.user_message(
            self.chat, sender, text=text, entities=command_entities(text)
        )
        return message

    @property
    def bot_member(self) -> bool:
        """Whether the bot is currently in this chat."""
        return self.chat.bot_member

    @property
    def visible(self) -> list[StoredMessage]:
        """Messages currently in the chat."""
        return self.chat.visible()


def other_bot(emu: Emulator, first_name: str = "OtherBot") -> SimUser:
    """Another bot writing to ours (``from.is_bot`` is true)."""
    return emu.user(first_name, username=f"{first_name.lower()}_bot", is_bot=True)


def _callback_data(button: Button) -> str:
    if button[1] is None:
        raise ValueError(f"button {button[0]!r} opens a link; it has no callback data")
    return button[1]


__all__ = [
    "Emulator",
    "LoopbackSession",
    "SettleTimeout",
    "SimGroup",
    "SimUser",
    "other_bot",
    "user_object",
]
