"""Start the bot for real: check, build it from settings, poll or serve the webhook, wipe
everything on the way out."""

from __future__ import annotations

import gc
import logging

from bot import checks
from bot.app import App, build_app
from bot.config import ConfigError, Settings
from bot.reach import reach_api
from bot.reports import ReportDesk
from flows.catalog import Translator
from flows.loader import load_book
from storage import StorageError
from storage.vault import CrashHook

log = logging.getLogger(__name__)


async def open_desk(
    settings: Settings, *, crash_hook: CrashHook | None = None
) -> ReportDesk | None:
    """The report desk when caseworker keys are configured (after the checks reporting needs:
    the keys, the vault, the disk); ``None`` (reporting off) otherwise.

    ``crash_hook`` is for tests only (see ``bench/bot_under_test.py``): nothing an operator
    configures can set it.
    """
    if not settings.report_recipients:
        log.warning("REPORT_RECIPIENTS is not set: reporting is switched off")
        return None
    # The keys are read, judged and logged once, by the check; the desk seals with those.
    recipients = checks.reporting(settings)
    try:
        desk = await ReportDesk.open(
            settings, recipients=recipients, book=load_book(), translator=Translator.load()
        )
    except StorageError as exc:
        raise ConfigError(f"VAULT_PATH: {exc}") from None
    if crash_hook is not None:
        desk.vault._crash_hook = crash_hook
    return desk


def freeze_startup_heap() -> None:
    """Move everything built at start-up out of the garbage collector's reach.

    aiogram's types and the loaded flows leave ~190,000 long-lived objects, and every full
    collection walked them all (~200 ms on a 2-core server), stalling every conversation at once:
    the latency tail (docs/performance.md). They live as long as the process, so freezing them
    changes nothing but the pauses. No collection first: it would delay the first poll by ~200 ms
    to free ~1,700 objects of import-time garbage (measured), less than a megabyte.

    The collector is turned on here: ``python -m bot run`` starts with it off (bot.__main__).
    """
    gc.freeze()
    gc.enable()


async def start(settings: Settings, *, crash_hook: CrashHook | None = None) -> int:
    """Poll the Bot API, or serve its webhook when WEBHOOK_URL is set, until SIGINT/SIGTERM;
    returns the process exit status."""
    checks.clock_set()
    desk = await open_desk(settings, crash_hook=crash_hook)
    try:
        app = build_app(settings, desk=desk)
        freeze_startup_heap()
        try:
            await reach_api(app.bot, settings.bot_api_base)
            await checks.clock_skew(app.bot, settings.bot_api_base)
            await _serve(app, settings)
        finally:
            await app.bot.session.close()
    finally:
        if desk is not None:
            await desk.close()
    return 0


async def _serve(app: App, settings: Settings) -> None:
    metrics = None
    if settings.metrics_listen is not None:
        from bot.metrics import MetricsServer  # only when asked for: the client takes 50 ms

        metrics = MetricsServer(app)
        host, port = await metrics.start(settings.metrics_listen)
        log.warning("health and metrics on http://%s:%d/healthz and /metrics", host, port)
    try:
        if settings.webhook_url is None:
            await checks.no_webhook(app.bot)
            log.warning("bot starting (Bot API at %s)", settings.bot_api_base)
            await app.run(handle_signals=True)
            return
        host, port = settings.webhook_listen
        log.warning(
            "bot starting: webhook on %s:%d (Bot API at %s)", host, port, settings.bot_api_base
        )

        async def check(url: str) -> None:
            await checks.webhook_reachable(app.bot, url)

        await app.run_webhook(
            listen=settings.webhook_listen,
            url=settings.webhook_url,
            secret=settings.secret_for_this_start(),
            max_connections=settings.webhook_max_connections,
            ready=check,
        )
    finally:
        if metrics is not None:
            await metrics.stop()
