"""Command line: ``python -m bot run``, ``sandbox``, ``health`` and ``webhook info|delete``."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys

from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging


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
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "health":
        from bot.admin import health

        return health(settings)
    if args.command == "webhook":
        from bot.admin import webhook

        return asyncio.run(webhook(settings, args.action, drop_pending=args.drop_pending))
    if args.command == "run" and settings.bot_token:
        return _run(settings)
    if args.command == "run":
        print(
            "No BOT_TOKEN set: starting the offline sandbox instead (nothing leaves this machine).",
            file=sys.stderr,
        )
    from bot.sandbox import run_sandbox

    return asyncio.run(run_sandbox(settings))


def _run(settings: Settings) -> int:
    # No collection while start-up builds the ~280,000 objects that live as long as the process
    # (aiogram's types, the flows): each full pass walked all of them, ~0.3 s of every start.
    # bot.startup.freeze_startup_heap freezes them and turns the collector back on.
    gc.disable()
    from bot.startup import start

    try:
        return asyncio.run(start(settings))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
