"""Start the bot for real: build it from settings, poll, wipe everything on the way out."""

from __future__ import annotations

import logging

from bot.app import build_app
from bot.config import Settings

log = logging.getLogger(__name__)


async def start(settings: Settings) -> int:
    """Poll the Bot API until SIGINT/SIGTERM; returns the process exit status."""
    app = build_app(settings)
    log.warning("bot starting (Bot API at %s)", settings.bot_api_base)
    try:
        await app.run(handle_signals=True)
    finally:
        await app.bot.session.close()
    return 0
