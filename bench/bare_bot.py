"""The baseline: a bare aiogram bot that answers every text with one message.

Run as its own process exactly like the real bot (``python -m bench.bare_bot`` with ``BOT_TOKEN``
and ``BOT_API_BASE``), polling with the same options, so that what the benchmark reports for the
real bot can be read as a multiple of what aiogram alone costs on the same machine and emulator.

With ``WEBHOOK_URL`` (and ``WEBHOOK_LISTEN``, ``WEBHOOK_SECRET``) it serves the webhook instead,
the way aiogram's documentation does it: ``SimpleRequestHandler`` (answering at once and handling
in the background, aiogram's default) on an aiohttp server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

ALLOWED = ["message", "callback_query"]


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
            allowed_updates=ALLOWED,
        )
    finally:
        await bot.session.close()


async def serve(token: str, base: str, url: str, listen: str, secret: str) -> None:
    """Serve the webhook at ``url`` on ``listen`` until SIGINT/SIGTERM."""
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
    dp = Dispatcher()
    dp.message.register(answer, F.text)
    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token=secret).register(app, path=urlsplit(url).path)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    host, _, port = listen.rpartition(":")
    await web.TCPSite(runner, host, int(port)).start()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await dp.emit_startup(bot=bot)
    await bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await dp.emit_shutdown(bot=bot)
        await bot.session.close()


def main() -> int:
    """Entry point: ``BOT_TOKEN`` and ``BOT_API_BASE`` from the environment."""
    token, base = os.environ.get("BOT_TOKEN"), os.environ.get("BOT_API_BASE")
    if not token or not base:
        print("bare_bot: BOT_TOKEN and BOT_API_BASE are required", file=sys.stderr)
        return 2
    url = os.environ.get("WEBHOOK_URL")
    try:
        if url:
            listen = os.environ.get("WEBHOOK_LISTEN", "127.0.0.1:8080")
            secret = os.environ.get("WEBHOOK_SECRET", "bare-bot-secret")
            asyncio.run(serve(token, base.rstrip("/"), url, listen, secret))
        else:
            asyncio.run(run(token, base.rstrip("/")))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
