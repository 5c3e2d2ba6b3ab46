"""Simulated users and the latency probe.

A user's action pushes one update into the emulator's queue. Its latency runs from that moment to
the bot's answer in her chat: the first screen sent or edited (for the quick exit, the first
deletion), which a subscribe hook on the emulator timestamps synchronously inside the API call that
made it. The trailing clean-up of an earlier action (old screens deleted) never counts as an
answer. Both ends are read on the benchmark process's monotonic clock, so the figure is the round
trip the user would see: fetch by getUpdates, aiogram, the handler, the answering request.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from bot.conversation import HEADER
from flows.catalog import Translator
from flows.schema import LANGUAGES
from telegram_emulator.client import Emulator
from telegram_emulator.fixtures import command_entities
from telegram_emulator.state import ChangeKind, Chat, StoredMessage

PHOTO = b"\xff\xd8\xff\xe0" + b"benchmark-photo-bytes " * 2000  # about 44 KB
STORY = (
    "He took my documents and my salary card last month, and he shouts at the children "
    "every evening. I want someone to know."
)


SHOWN = frozenset({"new", "edit"})
DELETED = frozenset({"delete"})


class NoAnswer(Exception):
    """The bot made no visible change in time."""


@dataclass
class Probe:
    """Latency of each action, measured at the emulator."""

    emu: Emulator
    samples: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    recording: bool = False
    unanswered: int = 0
    answered: int = 0
    _pending: dict[int, tuple[float, asyncio.Future[float], frozenset[str]]] = field(
        default_factory=dict
    )
    _unsubscribe: Any = None

    def __post_init__(self) -> None:
        self._unsubscribe = self.emu.subscribe(self._changed)

    def close(self) -> None:
        """Stop listening."""
        self._unsubscribe()

    def _changed(self, kind: ChangeKind, chat_id: int, message: StoredMessage) -> None:
        if kind == "new" and not message.from_bot:
            return  # her own message, stored as she sends it
        if kind == "new" and (message.kind == "service" or message.text == HEADER):
            return  # the wordless pinned header of a new conversation, not the answer
        pending = self._pending.get(chat_id)
        if pending is None or kind not in pending[2]:
            # e.g. the previous action's old screen being deleted after she already acted
            return
        del self._pending[chat_id]
        started, future, _ = pending
        if not future.done():
            future.set_result(time.perf_counter() - started)

    def expect(self, chat_id: int, kinds: frozenset[str] = SHOWN) -> asyncio.Future[float]:
        """Arm the probe for ``chat_id``; call right before pushing the update. ``kinds``: which
        change answers it (a screen sent or edited; deletions for the quick exit)."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._pending[chat_id] = (time.perf_counter(), future, kinds)
        return future

    async def wait(
        self,
        chat_id: int,
        future: asyncio.Future[float],
        timeout: float,  # noqa: ASYNC109
        action: str = "",
    ) -> float:
        """Seconds to the bot's answer; raises :class:`NoAnswer` after ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                latency = await future
        except TimeoutError:
            self._pending.pop(chat_id, None)
            self.unanswered += 1
            raise NoAnswer from None
        self.answered += 1
        if self.recording:
            self.samples.append(latency)
            self.by_kind.setdefault(action, []).append(latency)
        return latency


class User:
    """One simulated user: pushes updates straight into the emulator's world."""

    def __init__(
        self,
        emu: Emulator,
        probe: Probe,
        lang: str,
        rng: random.Random,
        translator: Translator,
        timeout: float,
    ) -> None:
        sim = emu.user("Bench", language_code=lang)
        self.emu, self.probe, self.rng = emu, probe, rng
        self.chat: Chat = sim.chat
        self.sender: dict[str, Any] = sim.user
        self.lang = lang
        self.tr = translator
        self.timeout = timeout
        self.actions = 0

    def label(self, key: str) -> str:
        """A button's text in her current language."""
        return self.tr.text(self.lang, key)

    async def _act(self, push: Any, kinds: frozenset[str] = SHOWN, action: str = "press") -> float:
        future = self.probe.expect(self.chat.id, kinds)
        push()
        self.actions += 1
        return await self.probe.wait(self.chat.id, future, self.timeout, action)

    async def send(self, text: str) -> float:
        """She types ``text`` (commands get their entity)."""
        world = self.emu.world
        return await self._act(
            lambda: world.user_message(
                self.chat, self.sender, text=text, entities=command_entities(text)
            ),
            action="command" if text.startswith("/") else "text",
        )

    async def send_photo(self, data: bytes = PHOTO) -> float:
        """She sends a photo."""
        stored = self.emu.world.store_file(data, "photos", "jpg", "image/jpeg")
        size = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "width": 640,
            "height": 480,
            "file_size": len(data),
        }
        world = self.emu.world
        return await self._act(
            lambda: world.user_message(
                self.chat, self.sender, kind="photo", payload={"photo": [size]}
            ),
            action="photo",
        )

    def _keyboard(self) -> StoredMessage | None:
        for message in reversed(self.chat.messages.values()):
            if message.from_bot and not message.deleted and message.has_keyboard:
                return message
        return None

    def buttons(self) -> list[tuple[str, str | None]]:
        """Buttons of the newest keyboard."""
        message = self._keyboard()
        return message.flat_buttons if message is not None else []

    async def press_data(self, message_id: int, data: str, kinds: frozenset[str] = SHOWN) -> float:
        """A callback query on ``message_id``."""
        world = self.emu.world
        return await self._act(
            lambda: world.callback(self.chat, self.sender, message_id, data),
            kinds,
            "exit" if kinds is DELETED else "press",
        )

    async def press(self, label: str, kinds: frozenset[str] = SHOWN) -> float:
        """Press the newest button with text ``label`` (exact, else containing it)."""
        message = self._keyboard()
        if message is None:
            raise NoAnswer("no keyboard")
        buttons = message.flat_buttons
        for exact in (True, False):
            for text, data in buttons:
                if data is not None and (text == label if exact else label in text):
                    return await self.press_data(message.message_id, data, kinds)
        raise NoAnswer(f"no button {label!r}")

    async def press_index(self, index: int) -> float:
        """Press the ``index``-th button of the newest keyboard."""
        message = self._keyboard()
        if message is None:
            raise NoAnswer("no keyboard")
        data = message.flat_buttons[index][1]
        if data is None:
            raise NoAnswer("a link button")
        return await self.press_data(message.message_id, data)

    # --- paths ----------------------------------------------------------------------------------

    async def begin(self) -> None:
        """/start, then her language (the button for it, by its native name)."""
        await self.send("/start")
        await self.press(self.tr.text(self.lang, f"language.{self.lang}"))

    async def switch_language(self) -> None:
        """Menu → language → another language."""
        await self.press(self.label("nav.language"))
        self.lang = self.rng.choice([code for code in LANGUAGES if code != self.lang])
        await self.press(self.tr.text(self.lang, f"language.{self.lang}"))

    async def navigate(self) -> None:
        """One step of browsing: from the menu into a section, or from a section back home."""
        home, back = self.label("nav.home"), self.label("nav.back")
        exit_label, language = self.label("nav.exit"), self.label("nav.language")
        labels = [text for text, data in self.buttons() if data is not None]
        if language in labels:  # the main menu
            if self.rng.random() < 0.1:
                await self.switch_language()
                return
            # Sections only; the report consent is walked by ``report``.
            await self.press_index(self.rng.choice([0, 1, 3, 4, 5, 6, 7]))
            return
        if home in labels:
            await self.press(home)
        elif back in labels:
            await self.press(back)
        elif exit_label in labels:
            await self.send("/menu")
        else:
            await self.send("/start")

    async def report(self) -> None:
        """The whole report: consent, every question, a typed story, a photo, send."""
        await self.press(self.label("main.menu.report"))
        await self.press(self.label("report.consent.agree"))
        await self.press(self.label("report.forms.physical"))
        await self.press(self.label("report.next"))
        await self.press(self.label("report.when.this_week"))
        await self.press_index(1)  # a region
        await self.press(self.label("report.relation.partner"))
        await self.press(self.label("report.children.present"))
        await self.press(self.label("report.safe_now.safe"))
        await self.send(STORY)
        await self.press(self.label("report.next"))
        await self.send_photo()
        await self.press(self.label("report.next"))
        await self.press(self.label("report.contact.skip"))
        await self.press(self.label("report.review.send"))

    async def quick_exit(self) -> None:
        """The exit button; answered by the first deletion."""
        await self.press(self.label("nav.exit"), DELETED)


def language_for(rng: random.Random) -> str:
    """A first language as users of the bot might have it: mostly ru and kk."""
    return rng.choices(["ru", "kk", "en"], weights=[5, 4, 1])[0]
