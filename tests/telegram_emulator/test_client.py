"""The simulated side: users' actions reach aiogram typed correctly; changes are observable."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramConflictError
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from telegram_emulator import Emulator, StoredMessage
from tests.telegram_emulator.conftest import polling


async def test_every_kind_of_user_message_parses_in_aiogram(bot: Bot, emu: Emulator) -> None:
    user = emu.user("Aigerim", username="aigerim_kz", language_code="kk")
    await user.send_location(43.2, 76.9)
    await user.send_contact("+77001234567", "Name")
    await user.send_photo(b"\xff\xd8jpeg", caption="look")
    await user.send_document(b"%PDF", "file.pdf", "application/pdf")
    await user.send_voice(b"OggS", duration=3)
    await user.send_sticker()
    await user.command("start")
    updates = await bot.get_updates()
    messages = [u.message for u in updates if u.message]
    assert messages[0].location is not None and messages[0].location.latitude == 43.2
    assert messages[1].contact is not None and messages[1].contact.phone_number == "+77001234567"
    assert messages[2].photo and messages[2].caption == "look"
    assert messages[3].document is not None and messages[3].document.file_name == "file.pdf"
    assert messages[4].voice is not None and messages[4].voice.duration == 3
    assert messages[5].sticker is not None
    assert messages[6].text == "/start" and messages[6].entities
    assert messages[6].entities[0].type == "bot_command"
    sender = messages[0].from_user
    assert sender is not None and sender.language_code == "kk" and sender.username == "aigerim_kz"


async def test_press_index_forged_data_and_deleted_message(bot: Bot, emu: Emulator) -> None:
    dp = Dispatcher()
    queries: list[CallbackQuery] = []

    @dp.callback_query()
    async def record(query: CallbackQuery) -> None:
        queries.append(query)
        await query.answer()

    user = emu.user("A")
    await user.send("hi")
    rows = [[InlineKeyboardButton(text=str(i), callback_data=f"n:{i}")] for i in range(5)]
    sent = await bot.send_message(
        user.id, "k", reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )
    async with polling(dp, bot):
        await user.press_index(3)
        await user.press_data(sent.message_id, "forged:data")
        await bot.delete_message(user.id, sent.message_id)
        await user.press_data(sent.message_id, "stale")
        await emu.settle()
        with pytest.raises(LookupError):
            await user.press_index(0)  # no keyboard is visible any more
    assert [q.data for q in queries] == ["n:3", "forged:data", "stale"]
    assert isinstance(queries[0].message, Message) and queries[0].chat_instance
    assert isinstance(queries[2].message, InaccessibleMessage)


async def test_subscribe_sees_new_edit_delete_in_order(bot: Bot, emu: Emulator) -> None:
    seen: list[tuple[str, int, str | None]] = []

    def listener(kind: str, chat_id: int, message: StoredMessage) -> None:
        seen.append((kind, chat_id, message.text))

    unsubscribe = emu.subscribe(listener)
    user = emu.user("A")
    await user.send("hi")
    sent = await bot.send_message(user.id, "one")
    await bot.edit_message_text("two", chat_id=user.id, message_id=sent.message_id)
    await bot.delete_messages(user.id, [1, sent.message_id])
    unsubscribe()
    await user.send("unheard")
    assert seen == [
        ("new", user.id, "hi"),
        ("new", user.id, "one"),
        ("edit", user.id, "two"),
        ("delete", user.id, "hi"),
        ("delete", user.id, "two"),
    ]


async def test_call_log_counts_a_chunked_wipe(bot: Bot, emu: Emulator) -> None:
    user = emu.user("A")
    for i in range(100):
        await user.send(str(i))
    for _ in range(100):
        await bot.send_message(user.id, "r")
    ids = [m.message_id for m in user.visible]
    assert len(ids) == 200
    for start in range(0, len(ids), 100):
        await bot.delete_messages(user.id, ids[start : start + 100])
    calls = emu.calls_to("deleteMessages")
    assert len(calls) == 2 and calls[0].params["message_ids"] == ids[:100]
    assert calls[0].at <= calls[1].at
    assert user.visible == []


async def test_second_poller_terminates_the_first_with_conflict(bot: Bot, emu: Emulator) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(bot.get_updates(timeout=1))
    with pytest.raises(TelegramConflictError):
        await first
    await emu.user("A").send("x")
    assert len(await second) == 1


async def test_wait_reply_times_out_when_the_bot_is_silent(emu: Emulator) -> None:
    user = emu.user("A")
    await user.send("x")
    with pytest.raises(TimeoutError):
        await user.wait_bot(user.bot_changes, timeout=0.05)


async def test_a_broken_listener_does_not_break_the_bot(bot: Bot, emu: Emulator) -> None:
    def broken(kind: str, chat_id: int, message: StoredMessage) -> None:
        raise RuntimeError("listener bug")

    emu.subscribe(broken)
    user = emu.user("A")
    await user.send("hi")
    await bot.send_message(user.id, "still delivered")
    assert [m.text for m in user.visible] == ["hi", "still delivered"]
    assert len(emu.errors) == 2
    emu.world.state.listener_errors.clear()
