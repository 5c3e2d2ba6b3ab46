"""Fixtures: an emulator, a real aiogram Bot pointed at it, and a polling dispatcher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiogram import Bot, Dispatcher

from telegram_emulator import Emulator

TOKEN = "123456:TEST-token"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(token=TOKEN, bot_username="test_bot") as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, session=emu.session())
    yield bot
    await bot.session.close()


@asynccontextmanager
async def polling(dp: Dispatcher, bot: Bot, **kwargs: Any) -> AsyncIterator[None]:
    """Run ``dp`` against the emulator for the duration of the block."""
    started = asyncio.Event()
    dp.startup.register(lambda: started.set())
    task = asyncio.create_task(
        dp.start_polling(
            bot, handle_signals=False, close_bot_session=False, polling_timeout=2, **kwargs
        )
    )
    await asyncio.wait_for(started.wait(), 5)
    try:
        yield
    finally:
        await dp.stop_polling()
        await task


@pytest.fixture(autouse=True)
def _no_emulator_errors(request: pytest.FixtureRequest) -> None:
    """Every test also proves the emulator itself never failed internally."""
    if "emu" in request.fixturenames:
        emulator: Emulator = request.getfixturevalue("emu")
        request.addfinalizer(lambda: _assert_clean(emulator))


def _assert_clean(emulator: Emulator) -> None:
    assert emulator.errors == []
