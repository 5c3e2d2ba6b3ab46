"""``python -m telegram_emulator serve``: the emulator as a local Bot API server of its own.

For trying the bot (polling or webhook mode) on one machine without Telegram: point the bot's
``BOT_API_BASE`` at the printed address and its ``BOT_TOKEN`` at the printed token. With
``--chat``, this terminal is a chat with the bot as one user (type text, a button's number,
``/start``, ``:q`` to quit). Webhooks behave as on a self-hosted Bot API server started with
``--local``: http and loopback addresses are allowed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from telegram_emulator.client import Emulator
from telegram_emulator.terminal import TerminalChat

DEFAULT_TOKEN = "123456:LOCAL-EMULATOR"  # noqa: S105 - the emulator's own token, not a secret


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m telegram_emulator",
        description="A strict local Telegram Bot API server, for trying the bot without Telegram.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = sub.add_parser(
        "serve",
        help="serve the Bot API on loopback until interrupted",
        description="Serve the Bot API for one bot token on HOST:PORT until Ctrl-C or SIGTERM. "
        "Webhooks may point at http:// loopback addresses (as with telegram-bot-api --local).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8081, help="port to listen on (8081)")
    serve.add_argument("--token", default=DEFAULT_TOKEN, help=f"the bot's token ({DEFAULT_TOKEN})")
    serve.add_argument(
        "--chat",
        action="store_true",
        help="chat with the bot in this terminal, as one user, until ':q' or end of input",
    )
    return parser


async def serve(host: str, port: int, token: str, chat: bool) -> int:
    """Serve until a signal, or with ``chat`` until the chat ends."""
    async with Emulator(token, host=host, port=port, local_mode=True) as emu:
        print(f"Bot API emulator at {emu.base_url} for token {emu.token}", flush=True)
        print(f"  BOT_API_BASE={emu.base_url} BOT_TOKEN={emu.token}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        if chat:
            user = emu.user("You", language_code=None)
            talk = asyncio.create_task(TerminalChat(emu, user).run())
            ending = asyncio.create_task(stop.wait())
            await asyncio.wait({talk, ending}, return_when=asyncio.FIRST_COMPLETED)
            for task in (talk, ending):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        else:
            await stop.wait()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(serve(args.host, args.port, args.token, args.chat))
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
