"""Command line: ``python -m bot run``, ``sandbox``, ``health`` and ``webhook info|delete``."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging, scrub

log = logging.getLogger("bot")

if TYPE_CHECKING:  # imported for real only after the collector is off (see serve)
    from storage.vault import CrashHook


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Survivor-safe anonymous reporting bot for Telegram (kk, ru, en).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser(
        "run",
        help="poll Telegram, or serve its webhook when WEBHOOK_URL is set (BOT_TOKEN; "
        "BOT_API_BASE for another Bot API server); with no token, start the offline sandbox",
        description="Poll the Bot API at BOT_API_BASE with BOT_TOKEN, or with WEBHOOK_URL set "
        "serve Telegram's webhook on WEBHOOK_LISTEN. Without BOT_TOKEN the offline sandbox "
        "starts instead. Settings come from the environment and a .env file.",
    )
    sub.add_parser(
        "health",
        help="ask the running bot's /healthz (METRICS_LISTEN); exit status 0 when healthy",
        description="GET /healthz from the running bot on METRICS_LISTEN: prints its answer, "
        "exits 0 when it is healthy and 1 otherwise (for container health checks).",
    )
    webhook = sub.add_parser(
        "webhook",
        help="what Telegram knows of the webhook (info), or remove it (delete)",
        description="Ask the Bot API (BOT_TOKEN, BOT_API_BASE) about the bot's webhook, or "
        "delete it to poll instead. Updates waiting at Telegram are kept unless --drop-pending.",
    )
    webhook.add_argument("action", choices=["info", "delete"])
    webhook.add_argument(
        "--drop-pending",
        action="store_true",
        help="with delete: also forget the updates Telegram holds for the bot",
    )
    sub.add_parser(
        "sandbox",
        help="the real bot against a local Bot API emulator, chatting in this terminal",
        description="Start a local Bot API emulator on loopback and the real bot against it, "
        "and chat here: type text, a button's number, /start, /exit; ':q' or Ctrl-D quits. "
        "Nothing leaves this machine.",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        return _config_error(exc)
    configure_logging(settings.log_level)
    try:
        return _command(args.command, settings, args)
    except ConfigError as exc:
        return _config_error(exc)
    except KeyboardInterrupt:
        return 0
    except Exception as exc:  # the one top-level handler: one line, scrubbed, never the token
        log.critical("the bot stopped: %s", stopped_because(exc, settings))
        log.debug("where it stopped", exc_info=exc)
        return 1


def _config_error(exc: ConfigError) -> int:
    print(f"configuration error: {scrub(str(exc))}", file=sys.stderr)
    return 2


def stopped_because(exc: BaseException, settings: Settings) -> str:
    """What stopped the bot, in words an operator can act on, without any message text (which
    may quote a URL with the token in it, or someone's words)."""
    from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

    from bot.reach import why

    base = settings.bot_api_base
    if isinstance(exc, TelegramUnauthorizedError):
        return f"the Bot API at {base} refused BOT_TOKEN (check it against what BotFather gave)"
    if isinstance(exc, TelegramNetworkError):
        return f"the Bot API at {base} cannot be used ({why(exc)}): check BOT_API_BASE"
    return f"unexpected {type(exc).__name__} (LOG_LEVEL=DEBUG shows where)"


def _command(command: str, settings: Settings, args: argparse.Namespace) -> int:
    if command == "health":
        from bot.admin import health

        return health(settings)
    if command == "webhook":
        from bot.admin import webhook

        return asyncio.run(webhook(settings, args.action, drop_pending=args.drop_pending))
    if command == "run" and settings.bot_token:
        return serve(settings)
    if command == "run":
        print(
            "No BOT_TOKEN set: starting the offline sandbox instead (nothing leaves this machine).",
            file=sys.stderr,
        )
    _no_core_dumps()
    from bot.sandbox import run_sandbox

    return asyncio.run(run_sandbox(settings))


def _no_core_dumps() -> None:
    """Before any conversation: nothing this process holds may ever reach a core file."""
    from storage.nodump import forbid_core_dumps

    not_done = forbid_core_dumps()
    if not_done:
        log.warning(
            "could not switch off core dumps (%s): see docs/threat-model.md", ", ".join(not_done)
        )


def serve(settings: Settings, *, crash_hook: CrashHook | None = None) -> int:
    """Run the bot against Telegram until stopped; the process exit status.

    ``crash_hook`` is for tests only (``bench/bot_under_test.py``), never set from settings.
    """
    # No collection while start-up builds the ~280,000 objects that live as long as the process
    # (aiogram's types, the flows): each full pass walked all of them, ~0.3 s of every start.
    # bot.startup.freeze_startup_heap freezes them and turns the collector back on.
    gc.disable()
    _no_core_dumps()
    from bot.startup import start

    return asyncio.run(start(settings, crash_hook=crash_hook))


if __name__ == "__main__":
    sys.exit(main())
