"""getUpdates semantics and settle(), driven by a real aiogram Dispatcher."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from telegram_emulator import Emulator, SettleTimeout
from tests.telegram_emulator.conftest import polling


async def test_offset_confirms_and_unconfirmed_updates_come_again(bot: Bot, emu: Emulator) -> None:
    user = emu.user("A")
    for text in ("1", "2", "3"):
        await user.send(text)
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["1", "2"]
    again = await bot.get_updates()  # no offset: nothing confirmed yet
    assert [u.update_id for u in again] == [u.update_id for u in first] + [first[-1].update_id + 1]
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["3"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == []
    assert emu.world.updates.unconfirmed == 0


async def test_long_poll_wakes_on_new_update(bot: Bot, emu: Emulator) -> None:
    user = emu.user("A")
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    assert not poll.done()
    await user.send("wake")
    updates = await poll
    assert [u.message.text for u in updates if u.message] == ["wake"]
    assert time.monotonic() - started < 1


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 < time.monotonic() - started < 2


async def test_allowed_updates_filters_later_updates(bot: Bot, emu: Emulator) -> None:
    user = emu.user("A")
    await bot.get_updates(allowed_updates=["callback_query"])
    await user.send("ignored")
    assert await bot.get_updates() == []
    await bot.get_updates(allowed_updates=[])  # empty list: back to the default set
    await user.send("seen")
    assert [u.message.text for u in await bot.get_updates() if u.message] == ["seen"]


async def test_dispatcher_round_trip_press_and_settle(bot: Bot, emu: Emulator) -> None:
    dp = Dispatcher()

    @dp.message(F.text == "/start")
    async def start(message: Message) -> None:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="Қазақша", callback_data="lang:kk")],
                [InlineKeyboardButton(text="Русский", callback_data="lang:ru")],
            ]
        )
        await message.answer("Choose", reply_markup=markup, protect_content=True)

    @dp.callback_query(F.data.startswith("lang:"))
    async def chosen(query: CallbackQuery) -> None:
        await query.answer(f"ok {query.data}")
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"language {query.data}")

    user = emu.user("Aigerim", language_code="ru")
    async with polling(dp, bot):
        await user.command("/start")
        await emu.settle()
        assert user.buttons == ["Қазақша", "Русский"]
        assert user.last_bot is not None and user.last_bot.protect_content
        await user.press("Русск")  # substring match when no exact label matches
        await emu.settle()
        assert user.alerts == ["ok lang:ru"]
        assert [m.text for m in user.visible] == ["/start", "language lang:ru"]
        assert user.last_bot is not None and user.last_bot.edits == 1
        with pytest.raises(LookupError):
            await user.press("Deutsch")


async def test_wait_reply_and_many_users(bot: Bot, emu: Emulator) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await asyncio.sleep(0.01)
        await message.answer(message.text or "?")

    users = [emu.user(f"U{i}") for i in range(50)]
    async with polling(dp, bot):
        await asyncio.gather(*(u.send(f"hi {u.id}", wait=True) for u in users))
        await emu.settle()
    assert all(u.last_bot is not None and u.last_bot.text == f"hi {u.id}" for u in users)
    assert len(emu.calls_to("sendMessage")) == 50


async def test_settle_waits_for_slow_handlers_in_flight(bot: Bot, emu: Emulator) -> None:
    dp = Dispatcher()

    @dp.message()
    async def slow(message: Message) -> None:
        await message.answer("one")
        await message.answer("two")

    user = emu.user("A")
    async with polling(dp, bot):
        await user.send("go")
        # The quiet window is what covers the gap between the handler's two requests; a
        # loaded machine can stretch that gap past the default 30 ms, so this one is wider.
        await emu.settle(quiet=0.3)
        assert [m.text for m in user.visible] == ["go", "one", "two"]


async def test_settle_times_out_clearly_without_a_bot(emu: Emulator) -> None:
    await emu.user("A").send("nobody listens")
    with pytest.raises(SettleTimeout, match="1 update"):
        await emu.settle(timeout=0.2)


async def test_group_channel_other_bot_and_edits_reach_the_bot(bot: Bot, emu: Emulator) -> None:
    dp = Dispatcher()
    seen: list[str] = []

    @dp.my_chat_member()
    async def member(event: ChatMemberUpdated) -> None:
        seen.append(f"{event.chat.type}:{event.new_chat_member.status}")
        if event.chat.type != "private" and event.new_chat_member.status != "left":
            await bot.leave_chat(event.chat.id)

    @dp.message()
    async def message(msg: Message) -> None:
        assert msg.from_user is not None
        seen.append(f"msg:{msg.chat.type}:{msg.from_user.is_bot}:{msg.text}")

    @dp.edited_message()
    async def edited(msg: Message) -> None:
        seen.append(f"edit:{msg.text}")

    @dp.channel_post()
    async def post(msg: Message) -> None:
        seen.append(f"post:{msg.text}")

    user = emu.user("A")
    robot = emu.user("Robo", is_bot=True)
    family = emu.group("Family")
    news = emu.channel("News")
    async with polling(dp, bot):
        await emu.add_bot_to_group(family, by=user)
        await emu.settle()
        assert not family.bot_member
        await family.send(from_user=user, text="in group")
        await emu.add_bot_to_group(news, by=user)
        await emu.channel_post(news, "posted")
        first = await user.send("before")
        await user.edit(first.message_id, "after")
        await robot.send("beep")
        await emu.settle()
    # Handlers run as concurrent tasks, so only the set (not the order) is certain.
    assert sorted(seen) == sorted(
        [
            "group:member",
            "group:left",
            "msg:group:False:in group",
            "channel:administrator",
            "channel:left",
            "post:posted",
            "msg:private:False:before",
            "edit:after",
            "msg:private:True:beep",
        ]
    )


async def test_settle_waits_for_a_watched_dispatcher_between_requests(
    bot: Bot, emu: Emulator
) -> None:
    dp = Dispatcher()

    @dp.message()
    async def thinks(message: Message) -> None:
        await asyncio.sleep(0.3)  # work without a request in flight, as on a loaded machine
        await message.answer("done")

    emu.watch_dispatcher(dp)
    user = emu.user("A")
    async with polling(dp, bot):
        await user.send("go")
        await emu.settle()
        assert [m.text for m in user.visible] == ["go", "done"]
