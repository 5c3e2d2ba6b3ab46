"""End-to-end harness: the real bot (aiogram dispatcher, HTTP session) against our Bot API
emulator on loopback, with a clock the test moves by hand.

The bot runs in either mode: polling, or serving its webhook to the emulator's deliveries
(``tests/modes.py``; tests marked ``both_modes`` run in each)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build_app
from bot.config import Settings
from bot.conversation import HEADER
from bot.logs import install_scrubbing
from bot.startup import open_desk
from storage import PrivateKey, generate_keypair
from telegram_emulator.client import Emulator, SimUser
from telegram_emulator.state import StoredMessage
from tests import modes


class FakeClock:
    """Monotonic time that only moves when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    emu: Emulator
    app: App
    clock: FakeClock

    def user(self, **kwargs: object) -> SimUser:
        return self.emu.user(**kwargs)  # type: ignore[arg-type]

    async def settle(self) -> None:
        """Wait for the bot to answer; then half a second passes, a brisk human pace (so that
        long walks stay under the flood limit, as a person's would)."""
        await self.emu.settle()
        self.clock.advance(0.5)


def bot_texts(user: SimUser) -> list[str]:
    """What the bot says to her, oldest first (not the wordless pinned header and the "pinned"
    line Telegram adds under it: see bot.conversation.HEADER)."""
    return [m.text or "" for m in said(user)]


def said(user: SimUser) -> list[StoredMessage]:
    """The bot's messages in her chat, without the pinned header and its "pinned" line."""
    return [m for m in user.visible if m.from_bot and m.kind != "service" and m.text != HEADER]


LANGUAGE_BUTTON = {"kk": "Қазақша", "ru": "Русский", "en": "English"}


async def tap(harness: Harness, user: SimUser, label: str) -> None:
    """She presses the button labelled ``label`` and the bot answers."""
    await user.press(label)
    await harness.settle()


async def open_menu(harness: Harness, lang: str = "en", **user: object) -> SimUser:
    """A new user who sent /start and chose ``lang`` (preselected): she sees the main menu."""
    she = harness.user(language_code=lang, **user)
    await she.command("/start")
    await harness.settle()
    await tap(harness, she, f"✓ {LANGUAGE_BUTTON[lang]}")
    return she


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings | None = None,
    *,
    concurrent: bool = False,
    request_timeout: float | None = None,
    mode: str | None = None,
    **build: Any,
) -> AsyncIterator[Harness]:
    """Start the emulator and the bot against it; on exit stop gracefully (the shutdown wipe).

    ``mode``: "polling" or "webhook" (default: the test's mode, see ``tests/modes.py``).
    ``concurrent``: polling handles updates as tasks, as in production (webhook mode always
    does: it answers Telegram first and handles the update after).
    """
    install_scrubbing()
    clock = FakeClock()
    mode = mode or modes.current()
    async with Emulator(local_mode=True) as emu:
        base = settings or Settings()
        base = replace(base, bot_api_base=emu.base_url)
        desk = await open_desk(base)
        app = build_app(
            base,
            token=emu.token,
            clock=clock,
            request_timeout=request_timeout,
            sweep_every=3600,
            desk=desk,
            **build,
        )
        ready = asyncio.Event()
        if mode == modes.WEBHOOK:

            async def webhook_set(url: str) -> None:
                ready.set()

            task = asyncio.create_task(
                app.run_webhook(
                    listen=("127.0.0.1", 0),
                    url=None,
                    secret=modes.WEBHOOK_SECRET,
                    handle_signals=False,
                    ready=webhook_set,
                )
            )
            # It answers Telegram before it handles an update: settle waits for that work too.
            unwatch: Callable[[], None] | None = emu.watch_work(
                lambda: app.webhook.handling if app.webhook else 0
            )
        else:
            task = asyncio.create_task(
                app.run(handle_signals=False, polling_timeout=1, handle_as_tasks=concurrent)
            )
            ready.set()
            # Handled as tasks, an update is confirmed before it is handled: settle waits for
            # the updates in hand as it does for a webhook's (unwatched, one at a time, the
            # next getUpdates comes only after the handler).
            unwatch = emu.watch_dispatcher(app.dp) if concurrent else None
        harness = Harness(emu=emu, app=app, clock=clock)
        try:
            await asyncio.wait_for(ready.wait(), 10)
            await emu.settle()
            yield harness
        finally:
            await app.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 30)
            if unwatch is not None:
                unwatch()
            if desk is not None:
                await desk.close()


@pytest.fixture
async def harness(bot_mode: str) -> AsyncIterator[Harness]:
    async with running_bot() as h:
        yield h


@dataclass
class Caseworker:
    """A caseworker's key pair (kept by the test, as it would be on her own machine)."""

    key: PrivateKey
    public: str


@pytest.fixture
def caseworkers() -> list[Caseworker]:
    """Two caseworkers with post-quantum hybrid keys (one kind: a mix is refused unless the
    operator names it, see tests/bot/test_config.py)."""
    keys = [generate_keypair("mlkem768x25519"), generate_keypair("mlkem768x25519")]
    return [Caseworker(key=k, public=k.public.text) for k in keys]


@pytest.fixture
async def reporting(
    tmp_path: Path, caseworkers: list[Caseworker], bot_mode: str
) -> AsyncIterator[Harness]:
    """The bot with reporting on: a vault in ``tmp_path`` sealed to two caseworkers."""
    settings = Settings(
        report_recipients=",".join(c.public for c in caseworkers),
        vault_path=tmp_path / "vault" / "reports.sqlite3",
    )
    async with running_bot(settings) as h:
        yield h


@pytest.fixture
def make_harness() -> Callable[..., contextlib.AbstractAsyncContextManager[Harness]]:
    return running_bot


@pytest.fixture(autouse=True)
def _quiet_aiogram(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
