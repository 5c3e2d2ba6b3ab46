"""The offline sandbox: the real bot against an in-process Bot API emulator, in this terminal.

Nothing but loopback: the emulator listens on 127.0.0.1 and the bot polls it through aiogram's own
HTTP session, exactly as it would poll Telegram. A person chats as one simulated user.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import replace
from typing import TextIO

from bot.app import build_app
from bot.config import Settings
from bot.startup import open_desk
from telegram_emulator.client import Emulator
from telegram_emulator.terminal import TerminalChat

SANDBOX_TOKEN = "123456:SANDBOX"  # noqa: S105 - the emulator's own token, not a secret


async def run_sandbox(
    settings: Settings, *, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    """Chat with the bot in the terminal until ``:q`` or end of input; then wipe and stop."""
    out = stdout or sys.stdout
    async with Emulator(
        token=SANDBOX_TOKEN, bot_username="safe_sandbox_bot", bot_name="Sandbox"
    ) as emu:
        local = replace(settings, bot_api_base=emu.base_url, bot_token=SANDBOX_TOKEN)
        desk = await open_desk(local)
        if desk is None:
            out.write(
                "Reporting is off: set REPORT_RECIPIENTS to a caseworker public key "
                "(python -m caseworker keygen) to try it.\n"
            )
        else:
            out.write(f"Reports are sealed into {local.vault_path}.\n")
        app = build_app(local, desk=desk)
        polling = asyncio.create_task(app.run(handle_signals=False, polling_timeout=5))
        try:
            await emu.settle(timeout=10)
            user = emu.user("You", language_code=None)
            out.write(
                f"Sandbox: the bot polls a local Bot API emulator at {emu.base_url}. "
                "Type /start to begin.\n"
            )
            out.flush()
            await TerminalChat(emu, user, stdin=stdin, stdout=out).run()
        finally:
            await app.stop()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(polling, 10)
            if desk is not None:
                await desk.close()
    return 0
