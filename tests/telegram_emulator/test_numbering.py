"""Message ids as Telegram numbers them: one counter per bot across private chats; pins."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramServerError

from telegram_emulator import PER_CHAT, Emulator
from tests.telegram_emulator.conftest import TOKEN


async def test_private_chats_share_the_bots_counter(bot: Bot, emu: Emulator) -> None:
    her, other = emu.user("Her"), emu.user("Other")
    first = await her.send("hi")
    await other.send("hello")
    answer = await bot.send_message(her.id, "welcome")
    # Her chat's ids jump by what the bot saw elsewhere meanwhile.
    assert answer.message_id == first.message_id + 2
    # deleteMessages is scoped to her chat: the other chat's id in the span is skipped.
    assert await bot.delete_messages(her.id, list(range(first.message_id, answer.message_id + 1)))
    assert her.visible == [] and [m.text for m in other.visible] == ["hello"]


async def test_supergroups_and_the_named_per_chat_mode_count_per_chat() -> None:
    async with Emulator(token=TOKEN, numbering=PER_CHAT) as emu:
        her, other = emu.user("Her"), emu.user("Other")
        await other.send("hello")
        assert (await her.send("hi")).message_id == 1
    async with Emulator(token=TOKEN) as emu:
        group = emu.group("G", supergroup=True)
        member = emu.user("M")
        await emu.user("X").send("elsewhere")
        assert (await group.send(member, "in the group")).message_id == 1


async def test_a_pin_adds_a_service_message_and_getchat_reads_it_back(
    bot: Bot, emu: Emulator
) -> None:
    her = emu.user("Her")
    await her.send("hi")
    header = await bot.send_message(her.id, "🌿", disable_notification=True)
    assert await bot.pin_chat_message(her.id, header.message_id, disable_notification=True)
    service = her.visible[-1]
    assert service.kind == "service" and service.message_id > header.message_id
    chat = await bot.get_chat(her.id)
    assert chat.pinned_message is not None and chat.pinned_message.text == "🌿"
    await bot.delete_message(her.id, header.message_id)  # deleting it unpins it
    assert (await bot.get_chat(her.id)).pinned_message is None


async def test_faults_for_a_window_and_for_one_chat(bot: Bot, emu: Emulator) -> None:
    her, other = emu.user("Her"), emu.user("Other")
    await her.send("hi")
    await other.send("hi")
    emu.faults.add("sendMessage", drop=True, after=True, chat_id=her.id)
    await bot.send_message(other.id, "untouched")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(her.id, "delivered, answer lost")
    assert her.visible[-1].text == "delivered, answer lost"
    emu.faults.failing("deleteMessages", seconds=0.3, status=502)
    with pytest.raises(TelegramServerError):
        await bot.delete_messages(her.id, [1])
    await asyncio.sleep(0.35)
    assert await bot.delete_messages(her.id, [1])
