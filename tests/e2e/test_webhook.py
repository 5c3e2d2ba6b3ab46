"""Webhook mode: what the bot's webhook accepts, what rides on its answers, how it stops and
comes back. (Every safety test also runs in this mode: see tests/modes.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import incidents
from bot.app import App, build_app
from bot.config import Settings
from bot.startup import open_desk
from telegram_emulator.client import Emulator
from tests import modes
from tests.e2e.conftest import Caseworker, FakeClock, Harness, open_menu, running_bot, said, tap
from tests.e2e.test_races import to_evidence

GOODBYE = "Have a good day!"


@pytest.fixture
async def hooked() -> AsyncIterator[Harness]:
    async with running_bot(mode=modes.WEBHOOK) as h:
        yield h


async def post(url: str, body: Any, secret: str | None) -> tuple[int, bytes]:
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=json.dumps(body), headers=headers) as resp,
    ):
        return resp.status, await resp.read()


def forged_start(user_id: int, update_id: int = 999_999) -> dict[str, Any]:
    who = {"id": user_id, "is_bot": False, "first_name": "Forged"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Forged"},
            "from": who,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


@pytest.mark.parametrize("secret", [None, "", "harness-secret_012345678", "wrong"])
async def test_a_request_without_the_right_secret_is_refused_and_goes_nowhere(
    hooked: Harness, secret: str | None
) -> None:
    user = hooked.user()
    assert hooked.emu.webhook.target is not None
    url = hooked.emu.webhook.target.url
    before = incidents.totals().get("webhook request refused (wrong secret)", 0)
    status, body = await post(url, forged_start(user.id), secret)
    await hooked.settle()
    assert (status, body) == (401, b"")
    assert hooked.app.tally.updates == {}
    assert hooked.emu.calls_to("sendMessage") == []
    assert incidents.totals()["webhook request refused (wrong secret)"] == before + 1


async def test_with_the_secret_a_non_update_is_acknowledged_and_a_repeat_handled_once(
    hooked: Harness,
) -> None:
    assert hooked.emu.webhook.target is not None
    url = hooked.emu.webhook.target.url
    secret = modes.WEBHOOK_SECRET
    for junk in ({"not": "an update"}, [1, 2], "text"):
        assert await post(url, junk, secret) == (200, b"")
    user = hooked.user()  # the chat exists at "Telegram", so the bot may answer in it
    user.chat.user_wrote = True
    for _ in range(2):  # Telegram delivers again when our answer was lost
        assert await post(url, forged_start(user.id), secret) == (200, b"")
    await hooked.settle()
    assert len(hooked.emu.calls_to("pinChatMessage")) == 1  # one conversation, one header
    assert hooked.app.tally.updates == {"message": 1}


async def test_the_callback_answer_rides_on_the_webhook_answer(hooked: Harness) -> None:
    user = await open_menu(hooked, "en")
    await tap(hooked, user, "🆘 I'm in danger now")
    answers = hooked.emu.calls_to("answerCallbackQuery")
    assert answers and all(call.via == "webhook" for call in answers)
    sends = [c for c in hooked.emu.calls if c.method.startswith("send")]
    assert sends and all(call.via == "request" for call in sends)  # ids the wipe needs


async def test_a_tap_that_waits_its_turn_does_not_hold_her_next_tap(
    tmp_path: Path, caseworkers: list[Caseworker]
) -> None:
    settings = Settings(report_recipients=caseworkers[0].public, vault_path=tmp_path / "v.db")
    async with running_bot(settings, mode=modes.WEBHOOK) as harness:
        user = await to_evidence(harness)
        harness.emu.faults.add(method="getFile", delay=3)
        await user.send_photo(b"\x89PNG slow photo")  # type: ignore[attr-defined]
        await asyncio.sleep(0.3)  # the download holds her turn
        keyboard = user.keyboard_message  # type: ignore[attr-defined]
        started = time.monotonic()
        await user.press_data(keyboard.message_id, keyboard.flat_buttons[0][1])  # type: ignore[attr-defined]
        # Telegram sends her next tap only once this one is answered: it must not wait.
        assert time.monotonic() - started < 0.25
        started = time.monotonic()
        await user.press("🚪 Exit")  # type: ignore[attr-defined]
        while [m.text for m in user.visible] != [GOODBYE]:  # type: ignore[attr-defined]
            assert time.monotonic() - started < 2, "the exit waited"
            await asyncio.sleep(0.05)
        await harness.emu.settle(timeout=10)
        assert [m.text for m in user.visible] == [GOODBYE]  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def serving(emu: Emulator, settings: Settings) -> AsyncIterator[App]:
    """The bot serving its webhook to ``emu`` on a port of its own, stopped gracefully after."""
    app = build_app(
        settings,
        token=emu.token,
        clock=FakeClock(),
        sweep_every=3600,
        desk=await open_desk(settings),
    )
    ready = asyncio.Event()

    async def webhook_set(url: str) -> None:
        ready.set()

    task = asyncio.create_task(
        app.run_webhook(
            listen=("127.0.0.1", 0),
            url=None,
            secret=settings.secret_for_this_start(),
            handle_signals=False,
            ready=webhook_set,
        )
    )
    unwatch = emu.watch_work(lambda: app.webhook.handling if app.webhook else 0)
    try:
        await asyncio.wait_for(ready.wait(), 10)
        yield app
    finally:
        await app.stop()
        await task
        unwatch()


async def test_a_stop_wipes_everyone_keeps_the_webhook_and_loses_nothing_meanwhile() -> None:
    async with Emulator(local_mode=True) as emu:
        emu.webhook.backoff_scale = 0.01
        settings = Settings(bot_api_base=emu.base_url)
        async with serving(emu, settings) as first:
            harness = Harness(emu=emu, app=first, clock=FakeClock())
            user = await open_menu(harness, "en")
            assert len(said(user)) == 1
            old = emu.webhook.target
        assert user.visible == []  # the graceful stop wiped her conversation
        assert emu.webhook.target == old  # and the webhook stays set
        await user.command("/start")  # while the bot is down
        while emu.webhook.last_error_message != "Connection refused":
            await asyncio.sleep(0.01)
        assert emu.world.updates.unconfirmed == 1
        async with serving(emu, settings):  # a new process, a new secret, the same webhook URL
            await emu.settle(timeout=10)
            assert emu.world.updates.unconfirmed == 0
            assert "Choose a language" in (user.last_bot.text or "")  # type: ignore[union-attr]


async def test_a_graceful_stop_answers_503_to_what_comes_while_it_wipes() -> None:
    async with Emulator(local_mode=True) as emu:
        settings = replace(Settings(), bot_api_base=emu.base_url)
        async with serving(emu, settings) as app:
            assert app.webhook is not None
            server = app.webhook
            url = emu.webhook.target.url if emu.webhook.target else ""
            server.closing = True  # as the stop begins
            status, _ = await post(url, forged_start(1), settings.webhook_secret)
            assert status == 503
            server.closing = False
