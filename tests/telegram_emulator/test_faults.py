"""Injected faults surface in aiogram exactly as Telegram's would."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.types import Message
from aiogram.utils.backoff import BackoffConfig

from telegram_emulator import Emulator, SimUser
from tests.telegram_emulator.conftest import polling

FAST_BACKOFF = BackoffConfig(min_delay=0.05, max_delay=0.1, factor=1.5, jitter=0.0)


@pytest.fixture
async def user(emu: Emulator) -> SimUser:
    user = emu.user("A")
    await user.send("hi")
    return user


async def test_flood_wait_surfaces_as_retry_after(bot: Bot, emu: Emulator, user: SimUser) -> None:
    rule = emu.faults.add("deleteMessages", status=429, retry_after=1, times=2)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as info:
            await bot.delete_messages(user.id, [1])
        assert info.value.retry_after == 1
    assert await bot.delete_messages(user.id, [1])  # the third call goes through
    assert rule.hits == 2 and emu.faults.pending == []
    assert [c.fault is rule for c in emu.calls_to("deleteMessages")] == [True, True, False]


async def test_method_names_match_case_insensitively_and_in_order(
    bot: Bot, emu: Emulator, user: SimUser
) -> None:
    emu.faults.add("SENDMESSAGE", status=500)
    emu.faults.add(None, status=502)  # any method
    with pytest.raises(TelegramServerError, match="Internal Server Error"):
        await bot.send_message(user.id, "x")
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(user.id, "x")
    await bot.send_message(user.id, "x")
    assert [m.text for m in user.visible] == ["hi", "x"]  # failed sends changed nothing


async def test_delay_beyond_client_timeout(bot: Bot, emu: Emulator, user: SimUser) -> None:
    emu.faults.add("sendMessage", delay=0.5)
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(user.id, "slow", request_timeout=0.1)  # type: ignore[arg-type]
    # The server still did the work after the delay, as Telegram may: the answer was lost.
    # (Waited for, not settled: on a loaded machine the delayed call can finish after a settle.)
    async with asyncio.timeout(5):
        while [m.text for m in user.visible] != ["hi", "slow"]:
            await asyncio.sleep(0.02)


async def test_dropped_connection_before_and_after_the_effect(
    bot: Bot, emu: Emulator, user: SimUser
) -> None:
    emu.faults.add("sendMessage", drop=True)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(user.id, "lost")
    assert [m.text for m in user.visible] == ["hi"]
    emu.faults.add("sendMessage", drop=True, after=True)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(user.id, "sent, answer lost")
    assert [m.text for m in user.visible] == ["hi", "sent, answer lost"]
    await bot.send_message(user.id, "fine")  # the session recovers


async def test_get_updates_outage_then_recovery(bot: Bot, emu: Emulator) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer("back")

    outage = emu.faults.outage(calls=3)
    user = emu.user("A")
    async with polling(dp, bot, backoff_config=FAST_BACKOFF):
        await user.send("anyone?")
        await emu.settle(timeout=5)
    assert outage.hits == 3
    assert user.last_bot is not None and user.last_bot.text == "back"


async def test_timed_outage(bot: Bot, emu: Emulator) -> None:
    emu.faults.outage(seconds=0.3, status=500)
    started = time.monotonic()
    while True:
        try:
            await bot.get_updates()
            break
        except TelegramServerError:
            pass
    assert 0.25 < time.monotonic() - started < 1.5
    assert len(emu.calls_to("getUpdates")) > 1


def test_fault_rules_are_validated(emu: Emulator) -> None:
    with pytest.raises(ValueError):
        emu.faults.add("sendMessage")
    with pytest.raises(ValueError):
        emu.faults.add("sendMessage", status=500, drop=True)
    with pytest.raises(ValueError):
        emu.faults.outage()
    emu.faults.add("sendMessage", status=500, times=None)
    emu.faults.clear()
    assert emu.faults.pending == []
