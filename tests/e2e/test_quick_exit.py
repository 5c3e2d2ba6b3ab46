"""Quick exit: one tap, /exit or a typed word deletes the conversation, both sides."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from unittest import mock

import pytest
from aiogram.types import Update

from bot import incidents
from bot.config import Settings
from bot.conversation import WIPE_WORKERS
from bot.render import QuickExit
from telegram_emulator.client import SimUser
from tests.e2e.conftest import Harness, bot_texts

pytestmark = pytest.mark.both_modes

GOODBYE = {"en": "Have a good day!", "ru": "Хорошего дня!", "kk": "Күніңіз сәтті өтсін!"}
Factory = Callable[..., AbstractAsyncContextManager[Harness]]


async def converse(harness: Harness, lang: str = "en") -> SimUser:
    """A conversation with a few screens and some of her own words in it."""
    user = harness.user(first_name="Aigerim", language_code=lang)
    await user.command("/start")
    await harness.settle()
    await user.press_index(["kk", "ru", "en"].index(lang))
    await harness.settle()
    await user.send("he hit me again last night")
    await user.press_index(0)
    await harness.settle()
    await user.send_sticker()
    await harness.settle()
    assert len(user.visible) >= 3
    return user


async def exit_by(kind: str, user: SimUser, lang: str) -> None:
    if kind == "button":
        await user.press({"en": "🚪 Exit", "ru": "🚪 Выйти", "kk": "🚪 Шығу"}[lang])
    elif kind == "command":
        await user.command("/exit")
    else:
        await user.send({"en": "Exit", "ru": "ВЫХОД", "kk": "шығу"}[lang])


@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
@pytest.mark.parametrize("kind", ["button", "command", "word"])
async def test_exit_leaves_only_the_neutral_line(harness: Harness, kind: str, lang: str) -> None:
    user = await converse(harness, lang)
    await exit_by(kind, user, lang)
    await harness.settle()
    assert [m.text for m in user.visible] == [GOODBYE[lang]]
    assert user.visible[0].reply_markup is None
    # The session is gone: she starts again from the language choice.
    assert harness.app.sessions.get(user.chat.id) is None


async def test_exit_can_leave_nothing(make_harness: Factory) -> None:
    async with make_harness(Settings(exit_message="none")) as harness:
        user = await converse(harness)
        await exit_by("button", user, "en")
        await harness.settle()
        assert user.visible == []


async def test_exit_button_works_on_a_stale_message_after_restart(harness: Harness) -> None:
    user = await converse(harness)
    session = harness.app.sessions.get(user.chat.id)
    assert session is not None
    harness.app.sessions.drop(session)  # as if the bot restarted
    message = user.keyboard_message
    assert message is not None
    await user.press_data(message.message_id, QuickExit().pack())
    await harness.settle()
    # What the restarted bot still knows of (the pressed message) is gone; no error shown.
    assert all(m.message_id != message.message_id for m in user.visible)
    assert not any("wrong" in (t or "") for t in bot_texts(user))


async def test_a_forged_exit_anchor_with_a_unicode_digit_fails_nothing(harness: Harness) -> None:
    # "²".isdigit() is true but int("²") raises: the parse must not break in the middleware.
    user = await converse(harness)
    incidents.report()
    message = user.keyboard_message
    assert message is not None
    await user.press_data(message.message_id, "x:²")
    await harness.settle()
    assert "update failed" not in incidents.report()
    assert not any("wrong" in t for t in bot_texts(user))
    # The bot still answers her, and her exit still works.
    await exit_by("button", user, "en")
    await harness.settle()
    assert [m.text for m in user.visible] == [GOODBYE["en"]]


async def test_a_long_conversation_is_wiped_in_batches_of_100(harness: Harness) -> None:
    user = await converse(harness)
    for i in range(230):
        harness.clock.advance(0.5)  # a brisk pace, below the flood limit
        await user.send(f"line {i}")
    await harness.settle()
    calls_before = len(harness.emu.calls_to("deleteMessages"))
    await exit_by("command", user, "en")
    await harness.settle()
    wipes = harness.emu.calls_to("deleteMessages")[calls_before:]
    sizes = [len(c.params["message_ids"]) for c in wipes]
    assert all(size <= 100 for size in sizes) and len(sizes) >= 3
    assert [m.text for m in user.visible] == [GOODBYE["en"]]


async def test_wipe_completes_when_ids_are_too_old_or_already_gone(harness: Harness) -> None:
    user = await converse(harness)
    harness.emu.clock.advance(hours=49)  # past Telegram's 48-hour limit for deleting
    await user.send("a new message")
    await harness.settle()
    await exit_by("command", user, "en")
    await harness.settle()
    # The old ones stay (Telegram refuses), the new ones go, the exit still completes.
    texts = [m.text for m in user.visible]
    assert "a new message" not in texts and texts[-1] == GOODBYE["en"]
    assert harness.app.sessions.get(user.chat.id) is None


async def test_wipe_waits_out_rate_limits(harness: Harness) -> None:
    user = await converse(harness)
    harness.emu.faults.add(method="deleteMessages", status=429, retry_after=1, times=2)
    await exit_by("button", user, "en")
    await harness.emu.settle(timeout=10)
    assert [m.text for m in user.visible] == [GOODBYE["en"]]


async def test_idle_conversations_are_wiped(harness: Harness) -> None:
    quiet = await converse(harness)
    harness.clock.advance(14 * 60)
    active = await converse(harness)
    harness.clock.advance(2 * 60)  # quiet: 16 minutes; active: 2 minutes
    assert await harness.app.sweep() == 1
    await harness.settle()
    assert quiet.visible == []
    assert len(active.visible) >= 3
    assert harness.app.sessions.get(quiet.chat.id) is None


async def test_a_sweep_wipes_many_conversations_a_few_at_a_time(harness: Harness) -> None:
    users = [await converse(harness) for _ in range(WIPE_WORKERS * 2 + 5)]
    in_flight, most, tasks = 0, 0, 0
    deleting = harness.app.bot.delete_messages

    async def counted(**kwargs: Any) -> bool:
        nonlocal in_flight, most, tasks
        in_flight += 1
        most = max(most, in_flight)
        wiping = [t for t in asyncio.all_tasks() if "_wipe_many" in repr(t.get_coro())]
        tasks = max(tasks, len(wiping))
        try:
            return await deleting(**kwargs)
        finally:
            in_flight -= 1

    harness.clock.advance(16 * 60)
    with mock.patch.object(harness.app.bot, "delete_messages", counted):
        assert await harness.app.sweep() == len(users)
    await harness.settle()
    assert all(user.visible == [] for user in users)
    assert most == WIPE_WORKERS  # all workers busy
    assert tasks == WIPE_WORKERS  # never a task per conversation
    assert len(harness.app.sessions) == 0


async def test_graceful_shutdown_wipes_every_live_conversation(make_harness: Factory) -> None:
    async with make_harness() as harness:
        users = [await converse(harness) for _ in range(3)]
        emu = harness.emu
    # The harness stopped polling: the shutdown hook ran before the bot's session closed.
    assert all(user.visible == [] for user in users)
    assert emu.calls_to("deleteMessages")


@pytest.mark.parametrize("typed", ["/Exit", "/EXIT@emulated_bot", "/stop please", "/Quit"])
async def test_exit_commands_work_in_any_case(harness: Harness, typed: str) -> None:
    user = await converse(harness)
    await user.command(typed)
    await harness.settle()
    assert [m.text for m in user.visible] == [GOODBYE["en"]]


async def test_menu_commands_work_in_any_case(harness: Harness) -> None:
    user = await converse(harness)
    await user.command("/MENU")
    await harness.settle()
    assert bot_texts(user)[-1].startswith("Hello 🌿")


async def test_none_of_her_updates_outlive_the_exit_in_memory(harness: Harness) -> None:
    user = await converse(harness)
    await exit_by("button", user, "en")
    await harness.settle()
    # The polling loop holds the batch it handled last until the next one comes.
    await harness.user(first_name="Next").command("/start")
    await harness.settle()
    gc.collect()
    # aiogram memoises each update's type in a cache that holds the last 128 updates.
    left = [o for o in gc.get_objects() if isinstance(o, Update) and _sender(o) == user.id]
    assert left == []


def _sender(update: Update) -> int | None:
    for event in (update.message, update.callback_query):
        if event is not None and event.from_user is not None:
            return event.from_user.id
    return None
