"""The operator's small commands: ``python -m bot health`` and ``python -m bot webhook ...``."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from typing import TextIO

from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import GetWebhookInfo

from bot.api_session import BotApiSession
from bot.config import Settings

HEALTH_TIMEOUT = 5.0


def health(settings: Settings, out: TextIO | None = None) -> int:
    """GET /healthz of the running bot: 0 when healthy, 1 when not, 2 when not configured."""
    out = out or sys.stdout
    if settings.metrics_listen is None:
        print("METRICS_LISTEN is not set: the bot serves no /healthz", file=sys.stderr)
        return 2
    host, port = settings.metrics_listen
    host = f"[{host}]" if ":" in host else host
    url = f"http://{host}:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=HEALTH_TIMEOUT) as response:
            out.write(response.read().decode(errors="replace"))
            return 0
    except urllib.error.HTTPError as exc:
        out.write(exc.read().decode(errors="replace") or f"{exc.code}\n")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        out.write(f"no answer from {url}: {reason}\n")
    return 1


async def webhook(
    settings: Settings, action: str, *, drop_pending: bool = False, out: TextIO | None = None
) -> int:
    """``info``: what Telegram knows of the webhook; ``delete``: remove it (to poll)."""
    out = out or sys.stdout
    if not settings.bot_token:
        print("BOT_TOKEN is not set", file=sys.stderr)
        return 2
    api = TelegramAPIServer.from_base(settings.bot_api_base)
    bot = Bot(settings.bot_token, session=BotApiSession(api=api))
    try:
        if action == "delete":
            await bot.delete_webhook(drop_pending_updates=drop_pending)
            dropped = " and the updates waiting for it" if drop_pending else ""
            out.write(f"webhook deleted{dropped}; the bot can poll now\n")
            return 0
        info = await bot(GetWebhookInfo())
        out.write(f"url: {info.url or '(none: polling)'}\n")
        out.write(f"pending updates: {info.pending_update_count}\n")
        if info.max_connections:
            out.write(f"max connections: {info.max_connections}\n")
        if info.last_error_date:
            out.write(f"last error: {info.last_error_date:%Y-%m-%d %H:%M:%S} UTC: ")
            out.write(f"{info.last_error_message}\n")
        else:
            out.write("last error: none\n")
        return 0
    except TelegramAPIError as exc:
        print(f"the Bot API refused: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await bot.session.close()
