"""Assemble the bot: aiogram's Bot and Dispatcher, our middlewares, routers and background wipes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import DEFAULT_TIMEOUT
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from aiogram.types import ErrorEvent
from aiohttp import web

from bot import incidents
from bot.alerts import NewReportAlerts
from bot.api_session import BotApiSession
from bot.config import Address, ConfigError, Settings
from bot.conversation import Conversation, Provider, ServiceFn
from bot.followup import FOLLOWUP_FLOW, Followup
from bot.handlers import routers
from bot.middlewares import PrivateChatsOnly, RecordSentMessages, SessionBinding
from bot.pacing import Pacer
from bot.receipt_gate import ReceiptGate
from bot.render import language_of
from bot.replies import AnswerInResponse
from bot.reports import ReportDesk
from bot.retry import RetryBriefly
from bot.sessions import Clock, Session, SessionStore
from bot.tally import CountUpdates, Tally
from bot.webhook import WebhookServer
from bot.wipe import Wiper
from flows.catalog import DEFAULT_LANGUAGE, N_, Translator
from flows.directory import default_path, directory_text, load_directory
from flows.engine import Notice, Submit, answers_of
from flows.loader import load_book

log = logging.getLogger(__name__)

ERROR = N_("common.error")
# How often the totals of failures are logged (never each one as it happens).
INCIDENT_REPORT_SECONDS = 3600.0
# Seconds a graceful shutdown waits for running handlers before wiping everyone.
SHUTDOWN_GRACE = 15.0
# What Telegram sends the bot (polling and webhook alike): groups and channels only so it can leave.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member", "channel_post"]


class NoStorage(BaseStorage):
    """aiogram's FSM storage, emptied: sessions live in :class:`SessionStore` instead.

    The default MemoryStorage creates an entry for every chat it is asked about and never drops it.
    """

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        return None

    async def get_state(self, key: StorageKey) -> str | None:
        return None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        return None

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return {}

    async def close(self) -> None:
        return None


@dataclass
class App:
    """A ready bot: start it with :meth:`run` (polling) or drive ``dp`` directly in tests."""

    settings: Settings
    bot: Bot
    dp: Dispatcher
    conversation: Conversation
    sessions: SessionStore
    desk: ReportDesk | None = None
    alerts: NewReportAlerts | None = None
    tally: Tally = field(default_factory=Tally)
    # True from the moment a graceful stop begins (health checks answer 503 from then on).
    stopping: bool = False
    _sweeper: asyncio.Task[None] | None = field(default=None, repr=False)
    # The sweep under way, if any: a shutdown lets it finish rather than cut a wipe in half.
    _sweeping: asyncio.Future[int] | None = field(default=None, repr=False)
    _reported_at: float = field(default=0.0, repr=False)
    # Webhook mode: the server while it runs, and the stop it waits for.
    webhook: WebhookServer | None = field(default=None, repr=False)
    _stop_webhook: asyncio.Event | None = field(default=None, repr=False)
    _webhook_done: asyncio.Event | None = field(default=None, repr=False)

    async def sweep(self) -> int:
        """Wipe idle conversations now (returns how many); purge expired reports once a day;
        log the incident totals about once an hour.

        Each step fails on its own: a full disk must not stop the idle wipe.
        """
        now = self.sessions.clock()
        if now - self._reported_at >= INCIDENT_REPORT_SECONDS:
            self._reported_at = now
            incidents.report()
        wiped = 0
        try:
            wiped = await self.conversation.wipe_idle(self.bot)
        except Exception as exc:
            log.error("idle sweep failed: %s", type(exc).__name__)
        if self.desk is not None:
            try:
                await self.desk.purge_expired()
            except Exception as exc:
                log.error("retention purge failed: %s", type(exc).__name__)
        if self.alerts is not None:
            try:
                await self.alerts.maybe_send(self.bot)
            except Exception as exc:
                log.error("staff alert failed: %s", type(exc).__name__)
        return wiped

    async def run(
        self,
        *,
        handle_signals: bool = True,
        polling_timeout: int = 10,
        handle_as_tasks: bool = True,
    ) -> None:
        """Poll for updates until stopped; on a graceful stop every live conversation is wiped.

        Updates are handled concurrently (``handle_as_tasks``); per-chat order is kept by the
        session lock. Tests may handle them one by one for exact, repeatable timing.
        """
        await self.dp.start_polling(
            self.bot,
            handle_signals=handle_signals,
            polling_timeout=polling_timeout,
            handle_as_tasks=handle_as_tasks,
            allowed_updates=ALLOWED_UPDATES,
        )

    async def run_webhook(
        self,
        *,
        listen: Address,
        url: str | None,
        secret: str,
        max_connections: int = 40,
        path: str | None = None,
        handle_signals: bool = True,
        ready: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """Serve Telegram's webhook on ``listen`` until stopped, then wipe every conversation.

        ``url`` is the public URL Telegram calls (``None``: this listener's own http address,
        for tests); ``ready(url)`` runs once the webhook is set. The webhook stays set when the
        bot stops: Telegram keeps what arrives meanwhile and delivers it after the restart.
        """
        stop = self._stop_webhook = asyncio.Event()
        done = self._webhook_done = asyncio.Event()
        path = path or (urlsplit(url).path if url else "") or "/webhook"
        server = self.webhook = WebhookServer(self.dp, self.bot, secret=secret, path=path)
        self.bot.session.middleware(AnswerInResponse())
        workflow = {"dispatcher": self.dp, "bots": (self.bot,), **self.dp.workflow_data}
        runner = web.AppRunner(
            server.application(), access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        loop = asyncio.get_running_loop()
        await self.dp.emit_startup(bot=self.bot, **workflow)
        await runner.setup()
        if handle_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
        try:
            try:
                await web.TCPSite(runner, listen[0], listen[1]).start()
            except OSError as exc:
                where = f"{listen[0]}:{listen[1]}"
                raise ConfigError(f"WEBHOOK_LISTEN {where}: {exc.strerror}") from None
            if url is None:
                host, port = runner.addresses[0][:2]
                url = f"http://{host}:{port}{path}"
            await self._set_webhook(url, secret, max_connections)
            if ready is not None:
                await ready(url)
            await stop.wait()
        finally:
            if handle_signals:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(signum)
            # Take no more updates (Telegram keeps them), let those under way finish, then the
            # same shutdown as polling: wait for handlers, wipe everyone.
            self.stopping = True
            server.closing = True
            await runner.cleanup()
            await server.finish(SHUTDOWN_GRACE)
            try:
                await self.dp.emit_shutdown(bot=self.bot, **workflow)
            finally:
                await self.bot.session.close()
                done.set()

    async def _set_webhook(self, url: str, secret: str, max_connections: int) -> None:
        try:
            await self.bot.set_webhook(
                url=url,
                secret_token=secret,
                allowed_updates=ALLOWED_UPDATES,
                max_connections=max_connections,
                drop_pending_updates=False,  # what came while the bot was down is handled
            )
        except TelegramAPIError as exc:
            # Telegram's own words (an address it cannot reach); never a user's.
            raise ConfigError(f"WEBHOOK_URL: Telegram refused it: {exc.message}") from None

    async def stop(self) -> None:
        """Stop polling or serving the webhook (graceful: the shutdown hook wipes everyone)."""
        if self._stop_webhook is not None and self._webhook_done is not None:
            self._stop_webhook.set()
            await self._webhook_done.wait()
            return
        with contextlib.suppress(RuntimeError):
            await self.dp.stop_polling()


def build_app(
    settings: Settings,
    *,
    token: str | None = None,
    clock: Clock = time.monotonic,
    desk: ReportDesk | None = None,
    translator: Translator | None = None,
    sweep_every: float | None = None,
    request_timeout: float | None = None,
    receipts: ReceiptGate | None = None,
) -> App:
    """Wire the bot against ``settings.bot_api_base`` (Telegram or any Bot API server).

    ``request_timeout`` overrides aiogram's 60 s per Bot API request (tests of slow answers).
    ``receipts``: the follow-up receipts' limits and derivation pool (tests pass cheap costs).
    """
    api = TelegramAPIServer.from_base(settings.bot_api_base)
    session = BotApiSession(api=api, timeout=request_timeout or DEFAULT_TIMEOUT)
    bot = Bot(
        token or settings.bot_token or "",
        session=session,
        default=DefaultBotProperties(
            parse_mode="HTML", protect_content=True, link_preview_is_disabled=True
        ),
    )
    sessions = SessionStore(ttl=settings.idle_minutes * 60, cap=settings.max_sessions, clock=clock)
    bot.session.middleware(RecordSentMessages(sessions))
    bot.session.middleware(RetryBriefly())
    # With a desk, the flows and catalogs it was opened with: loaded once, and the same the
    # conversation shows and the report desk checks against.
    if desk is not None:
        translator, book = translator or desk.translator, desk.book
    else:
        translator, book = translator or Translator.load(), load_book().without("reporting")
    directory = load_directory(settings.directory_file or default_path())
    if directory.example:
        log.warning("DIRECTORY_FILE is the shipped example: set it to your verified directory")
    if not settings.organisation:
        log.warning("ORGANISATION is not set: the About screen names no organisation")

    def show_directory(session: Session) -> str:
        region = answers_of(session.state, "help").get("region")
        return directory_text(
            directory,
            region if isinstance(region, str) else None,
            language_of(session) or DEFAULT_LANGUAGE,
            translator,
        )

    providers: dict[str, Provider] = {"directory": show_directory}
    params: dict[str, str] = {}
    services: dict[str, ServiceFn] = {}
    delivered: dict[str, Callable[[Session], None]] = {}
    sink = None
    if desk is not None:
        providers["review"] = desk.review
        params.update(desk.limits())
        followup = Followup(vault=desk.vault, translator=translator, gate=receipts or ReceiptGate())
        providers["receipt"], providers["thread"] = followup.receipt, followup.thread
        delivered["receipt"] = followup.receipt_delivered
        services.update(followup.services())
        sink = _sink(desk, followup)
    else:
        for name in ("review", "receipt", "thread"):
            providers[name] = _nothing
    tally = Tally()
    wiper = Wiper(
        bot,
        pacer=Pacer(rate=settings.wipe_calls_per_second, burst=int(settings.wipe_calls_per_second)),
        note_after=settings.wipe_note_seconds,
    )
    conversation = Conversation(
        wiper=wiper,
        tally=tally,
        book=book,
        translator=translator,
        sessions=sessions,
        settings=settings,
        report_sink=sink,
        providers=providers,
        params=params,
        services=services,
        delivered=delivered,
    )
    # No FSM: sessions live in SessionStore; aiogram's FSM context per update was pure cost.
    dp = Dispatcher(storage=NoStorage(), disable_fsm=True, conversation=conversation, desk=desk)
    dp.update.outer_middleware(CountUpdates(tally))
    dp.update.outer_middleware(PrivateChatsOnly(settings.staff_chat_id))
    binding = SessionBinding(
        conversation, flood_updates=settings.flood_updates, flood_seconds=settings.flood_seconds
    )
    dp.update.outer_middleware(binding)
    dp.include_routers(*routers())
    alerts = None
    if settings.staff_chat_id is not None and desk is not None:
        alerts = NewReportAlerts(
            desk.vault,
            chat_id=settings.staff_chat_id,
            period_days=settings.staff_alert_days,
            translator=translator,
            language=settings.staff_chat_language,
        )
    elif settings.staff_chat_id is not None:
        log.warning("STAFF_CHAT_ID is set but reporting is off: no alerts will be sent")
    app = App(
        settings=settings,
        bot=bot,
        dp=dp,
        conversation=conversation,
        sessions=sessions,
        desk=desk,
        alerts=alerts,
        tally=tally,
    )
    interval = sweep_every or min(30.0, settings.idle_minutes * 60 / 4)

    async def on_startup() -> None:
        app._sweeper = asyncio.create_task(_sweep_forever(app, interval))

    async def on_shutdown() -> None:
        # Take nothing new, let what runs finish (so nothing it sends escapes the wipe), let a
        # sweep under way complete, then wipe every conversation still open.
        app.stopping = True
        binding.close()
        await binding.drain(SHUTDOWN_GRACE)
        if app._sweeper is not None:
            app._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await app._sweeper
        if app._sweeping is not None:
            with contextlib.suppress(Exception):
                await app._sweeping
        wiped = await conversation.wipe_everyone(bot)
        # Wipes not yet confirmed get until the stop timeout; those that still can't finish
        # leave her the note (bot.wipe), never a silent half-wiped chat.
        unconfirmed = await wiper.drain(settings.shutdown_wipe_seconds)
        log.info("shutdown: %d live conversation(s) wiped, %d unconfirmed", wiped, unconfirmed)
        incidents.report()

    async def on_error(event: ErrorEvent, session: Session | None = None) -> bool:
        incidents.note("update failed", event.exception)
        if session is not None:
            # Read only: the middleware has parked her session by now. What is sent is recorded
            # in the store's current one (RecordSentMessages), which is then parked again.
            with contextlib.suppress(TelegramAPIError):
                await conversation.say(bot, session, Notice(ERROR))
            current = sessions.get(session.chat_id)
            if current is not None:
                sessions.park(current)
        return True

    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    dp.errors.register(on_error)
    return app


def _nothing(session: Session) -> str:
    """A placeholder of a screen the deployment gates off (no reporting, no follow-up)."""
    return ""


def _sink(desk: ReportDesk, followup: Followup) -> Callable[[Session, Submit], Awaitable[None]]:
    """Submits by flow: a report to the vault, a follow-up message beside its report."""

    async def submit(session: Session, effect: Submit) -> None:
        if effect.flow == FOLLOWUP_FLOW:
            await followup.submit(session, effect)
        else:
            await desk.submit(session, effect)

    return submit


async def _sweep_forever(app: App, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        # Shielded: stopping the loop must not cut a wipe between its deletes.
        app._sweeping = asyncio.ensure_future(app.sweep())
        await asyncio.shield(app._sweeping)
