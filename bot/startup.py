"""Start the bot for real: build it from settings, poll, wipe everything on the way out."""

from __future__ import annotations

import logging

from bot.app import build_app
from bot.config import ConfigError, Settings
from bot.reports import ReportDesk
from flows.catalog import Translator
from flows.loader import load_book
from storage import StorageError

log = logging.getLogger(__name__)


async def open_desk(settings: Settings) -> ReportDesk | None:
    """The report desk when caseworker keys are configured; ``None`` (reporting off) otherwise."""
    if not settings.report_recipients:
        log.warning("REPORT_RECIPIENTS is not set: reporting is switched off")
        return None
    try:
        return await ReportDesk.open(settings, book=load_book(), translator=Translator.load())
    except StorageError as exc:
        raise ConfigError(f"REPORT_RECIPIENTS or VAULT_PATH: {exc}") from None


async def start(settings: Settings) -> int:
    """Poll the Bot API until SIGINT/SIGTERM; returns the process exit status."""
    desk = await open_desk(settings)
    try:
        app = build_app(settings, desk=desk)
        log.warning("bot starting (Bot API at %s)", settings.bot_api_base)
        try:
            await app.run(handle_signals=True)
        finally:
            await app.bot.session.close()
    finally:
        if desk is not None:
            await desk.close()
    return 0
