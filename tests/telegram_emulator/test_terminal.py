"""TerminalChat: a person sees the conversation appear, change and disappear."""

from __future__ import annotations

import io

from aiogram import Bot, Dispatcher, F
from aiogram.enums import ContentType
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from telegram_emulator import Emulator
from telegram_emulator.terminal import TerminalChat
from tests.telegram_emulator.conftest import polling


def exit_bot(bot: Bot, emu: Emulator) -> Dispatcher:
    dp = Dispatcher()

    @dp.message(Command("start"))
    async def start(message: Message) -> None:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="Help", callback_data="help")],
                [InlineKeyboardButton(text="Exit", callback_data="exit")],
                [InlineKeyboardButton(text="Site", url="https://example.org")],
            ]
        )
        await message.answer("Hello\nChoose:", reply_markup=markup)

    @dp.callback_query(F.data == "help")
    async def help_(query: CallbackQuery) -> None:
        await query.answer("Opening help")
        assert isinstance(query.message, Message)
        await query.message.edit_text("Help text")

    @dp.callback_query(F.data == "exit")
    async def leave(query: CallbackQuery) -> None:
        await query.answer()
        assert query.message is not None
        # A real bot records ids as it goes; this stand-in reads them from the emulator.
        ids = [m.message_id for m in emu.chat(query.message.chat.id).visible()]
        await bot.delete_messages(query.message.chat.id, ids)

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(f"You said: {message.text or ContentType(message.content_type).value}")

    return dp


async def test_terminal_shows_new_edited_and_deleted(bot: Bot, emu: Emulator) -> None:
    user = emu.user("Aigerim")
    stdin = io.StringIO("/start\n3\n1\nhello\n/start\n2\n:q\nnever read\n")
    stdout = io.StringIO()
    dp = exit_bot(bot, emu)
    emu.watch_dispatcher(dp)  # each line waits for the answer to the one before
    async with polling(dp, bot):
        await TerminalChat(emu, user, stdin=stdin, stdout=stdout, settle_timeout=3).run()
    out = stdout.getvalue()
    assert "you › /start" in out
    assert "bot › Hello\n      Choose:\n      [1] Help\n      [2] Exit\n      [3] Site ↗" in out
    assert "✎ edited\nbot › Help text" in out
    assert "ℹ Opening help" in out
    assert "! button 'Site' opens a link" in out
    assert "bot › You said: hello" in out
    assert out.count("✖ deleted:") == 6  # every message of both sides, one line each
    assert "✖ deleted: you › /start" in out
    assert "never read" not in out
    assert out.rstrip().endswith("— end of chat —")
    assert user.visible == []


async def test_terminal_ends_at_end_of_input_and_numbers_without_keyboard_are_text(
    bot: Bot, emu: Emulator
) -> None:
    user = emu.user("A")
    stdout = io.StringIO()
    dp = exit_bot(bot, emu)
    emu.watch_dispatcher(dp)
    async with polling(dp, bot):
        await TerminalChat(emu, user, stdin=io.StringIO("42\n:location"), stdout=stdout).run()
    out = stdout.getvalue()
    assert "bot › You said: 42" in out
    assert "you › [location]" in out and "bot › You said: location" in out
