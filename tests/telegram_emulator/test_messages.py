"""Message rules: limits, keyboards, edits, deletes, first contact, membership."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from telegram_emulator import Emulator, SimUser


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=t, callback_data=d)] for t, d in buttons]
    return InlineKeyboardMarkup(inline_keyboard=rows)


@pytest.fixture
async def user(emu: Emulator) -> SimUser:
    user = emu.user("Aigerim", username="aigerim_kz", language_code="ru")
    await user.command("/start")
    return user


async def test_bot_cannot_write_first(bot: Bot, emu: Emulator) -> None:
    silent = emu.user("Silent")
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation with a user"):
        await bot.send_message(silent.id, "hello")
    await silent.send("hi")
    await bot.send_message(silent.id, "hello")


async def test_blocked_user(bot: Bot, user: SimUser) -> None:
    user.block()
    with pytest.raises(TelegramForbiddenError, match="blocked by the user"):
        await bot.send_message(user.id, "x")


async def test_text_limits_count_visible_characters(bot: Bot, user: SimUser) -> None:
    await bot.send_message(user.id, "я" * 4096)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(user.id, "я" * 4097)
    # Markup does not count: 4096 visible characters wrapped in tags are fine.
    await bot.send_message(user.id, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(user.id, "  <b> </b> ", parse_mode="HTML")
    with pytest.raises(
        TelegramBadRequest, match='can\'t parse entities: Unsupported start tag "x"'
    ):
        await bot.send_message(user.id, "<x>", parse_mode="HTML")
    assert user.last_bot is not None and user.last_bot.parse_mode == "HTML"
    assert user.last_bot.raw_text == "<b>" + "x" * 4096 + "</b>"


async def test_callback_data_is_1_to_64_bytes(bot: Bot, user: SimUser) -> None:
    await bot.send_message(user.id, "ok", reply_markup=keyboard(("a", "é" * 32)))  # 64 bytes
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(user.id, "x", reply_markup=keyboard(("a", "é" * 32 + "x")))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(user.id, "x", reply_markup=keyboard(("a", "")))


async def test_button_text_and_count(bot: Bot, user: SimUser) -> None:
    with pytest.raises(TelegramBadRequest, match="BUTTON_TEXT_INVALID"):
        await bot.send_message(user.id, "x", reply_markup=keyboard(("", "d")))
    many = [(str(i), str(i)) for i in range(101)]
    with pytest.raises(TelegramBadRequest, match="BUTTONS_TOO_MUCH"):
        await bot.send_message(user.id, "x", reply_markup=keyboard(*many))
    await bot.send_message(user.id, "x", reply_markup=keyboard(*many[:100]))
    assert len(user.buttons) == 100


async def test_edit_rules(bot: Bot, user: SimUser) -> None:
    sent = await bot.send_message(
        user.id, "<b>one</b>", parse_mode="HTML", reply_markup=keyboard(("a", "a"))
    )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "<b>one</b>", chat_id=user.id, message_id=sent.message_id, parse_mode="HTML",
            reply_markup=keyboard(("a", "a")),
        )  # fmt: skip
    # Same text, different entities: modified.
    await bot.edit_message_text(
        "one", chat_id=user.id, message_id=sent.message_id, reply_markup=keyboard(("a", "a"))
    )
    # Leaving out reply_markup removes the keyboard, as on Telegram.
    await bot.edit_message_text("two", chat_id=user.id, message_id=sent.message_id)
    stored = user.last_bot
    assert (
        stored is not None and stored.text == "two" and stored.buttons == [] and stored.edits == 2
    )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=user.id, message_id=sent.message_id)
    await bot.edit_message_reply_markup(
        chat_id=user.id, message_id=sent.message_id, reply_markup=keyboard(("b", "b"))
    )
    assert user.buttons == ["b"]
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=user.id, message_id=999)
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=user.id, message_id=user.visible[0].message_id)


async def test_delete_both_sides_and_missing(bot: Bot, user: SimUser) -> None:
    mine = user.visible[0]
    sent = await bot.send_message(user.id, "reply")
    assert sent.message_id == mine.message_id + 1  # one id sequence per chat, both sides
    assert await bot.delete_message(user.id, mine.message_id)
    assert await bot.delete_message(user.id, sent.message_id)
    assert user.visible == [] and mine.deleted
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)


async def test_delete_messages_skips_what_it_cannot_delete(bot: Bot, user: SimUser) -> None:
    ids = [(await bot.send_message(user.id, str(i))).message_id for i in range(3)]
    assert await bot.delete_messages(user.id, [*ids, 9999, ids[0]])
    assert [m.text for m in user.visible] == ["/start"]
    with pytest.raises(TelegramBadRequest):
        await bot.delete_messages(user.id, [])
    with pytest.raises(TelegramBadRequest):
        await bot.delete_messages(user.id, list(range(1, 102)))


async def test_messages_older_than_48_hours_cannot_be_deleted(
    bot: Bot, emu: Emulator, user: SimUser
) -> None:
    old = await bot.send_message(user.id, "old")
    emu.clock.advance(hours=47.9)
    young = await bot.send_message(user.id, "young")
    emu.clock.advance(hours=0.2)
    with pytest.raises(TelegramBadRequest, match="message can't be deleted for everyone"):
        await bot.delete_message(user.id, old.message_id)
    assert await bot.delete_messages(user.id, [old.message_id, young.message_id])
    assert [m.text for m in user.visible] == ["/start", "old"]


async def test_message_records_protect_content_and_notification(bot: Bot, user: SimUser) -> None:
    await bot.send_message(user.id, "p", protect_content=True, disable_notification=True)
    last = user.last_bot
    assert last is not None and last.protect_content and last.disable_notification


async def test_answer_callback_query_once(bot: Bot, emu: Emulator, user: SimUser) -> None:
    sent = await bot.send_message(user.id, "k", reply_markup=keyboard(("Go", "go")))
    query_id, _ = emu.world.callback(user.chat, user.user, sent.message_id, "go")
    await bot.answer_callback_query(query_id, "Saved", show_alert=True)
    assert user.alerts == ["Saved"] and user.alert_details[0].show_alert
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id, "again")


async def test_group_leave_and_membership(bot: Bot, emu: Emulator, user: SimUser) -> None:
    family = emu.group("Family")
    with pytest.raises(TelegramForbiddenError, match="not a member"):
        await bot.send_message(family.id, "x")
    await emu.add_bot_to_group(family, by=user)
    assert family.bot_member
    await bot.send_message(family.id, "hello group")
    assert await bot.leave_chat(family.id)
    assert not family.bot_member
    with pytest.raises(TelegramForbiddenError, match="bot is not a member of the group chat"):
        await bot.send_message(family.id, "x")
    with pytest.raises(TelegramBadRequest):
        await bot.leave_chat(user.id)


async def test_get_chat_chat_action_and_commands(bot: Bot, emu: Emulator, user: SimUser) -> None:
    chat = await bot.get_chat(user.id)
    assert chat.type == "private" and chat.id == user.id
    assert await bot.send_chat_action(user.id, "typing")
    with pytest.raises(TelegramBadRequest):
        await bot.send_chat_action(user.id, "dancing")
    from aiogram.types import BotCommand

    await bot.set_my_commands([BotCommand(command="exit", description="Leave")], language_code="ru")
    assert emu.commands[("default", "ru")] == [{"command": "exit", "description": "Leave"}]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])
    await bot.delete_my_commands(language_code="ru")
    assert emu.commands == {}
