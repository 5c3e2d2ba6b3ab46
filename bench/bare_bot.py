"""The baseline: a bare aiogram bot that answers every text with one message.

Run as its own process exactly like the real bot (``python -m bench.bare_bot`` with ``BOT_TOKEN``
and ``BOT_API_BASE``), polling with the same options, so that what the benchmark reports for the
real bot can be read as a multiple of what aiogram alone costs on the same machine and emulator.
"""

from __future__ import annotations

import asyncio
import os
import sys

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message


async def answer(message: Message) -> None:
    """One message back for every text."""
    await message.answer("ok")


async def run(token: str, base: str) -> None:
    """Poll ``base`` until SIGINT/SIGTERM, with the options the real bot polls with."""
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
    dp = Dispatcher()
    dp.message.register(answer, F.text)
    try:
        await dp.start_polling(
            bot,
            handle_signals=True,
            polling_timeout=10,
            handle_as_tasks=True,
            allowed_updates=["message", "callback_query"],
        )
    finally:
        await bot.session.close()


def main() -> int:
    """Entry point: ``BOT_TOKEN`` and ``BOT_API_BASE`` from the environment."""
    token, base = os.environ.get("BOT_TOKEN"), os.environ.get("BOT_API_BASE")
    if not token or not base:
        print("bare_bot: BOT_TOKEN and BOT_API_BASE are required", file=sys.stderr)
        return 2
    try:
        asyncio.run(run(token, base.rstrip("/")))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
