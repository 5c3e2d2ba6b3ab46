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
from bot.sandbox_staff import (
    SANDBOX_PASSPHRASE,
    StaffApi,
    sandbox_folder,
    sandbox_key,
    start_staff_api,
    write_desk_note,
)
from bot.startup import open_desk
from telegram_emulator.client import Emulator
from telegram_emulator.terminal import TerminalChat

SANDBOX_TOKEN = "123456:SANDBOX"  # noqa: S105 - the emulator's own token, not a secret


async def run_sandbox(
    settings: Settings, *, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    """Chat with the bot in the terminal until ``:q`` or end of input; then wipe and stop."""
    out = stdout or sys.stdout
    folder = sandbox_folder(settings.vault_path)
    key_path = None
    if not settings.report_recipients:
        key_path, public = await asyncio.to_thread(sandbox_key, folder)
        settings = replace(settings, report_recipients=public)
        out.write(
            f"Sandbox caseworker key: {key_path} (passphrase: {SANDBOX_PASSPHRASE!r}), "
            "for trying the product only: REPORT_RECIPIENTS is not set.\n"
        )
    async with Emulator(
        token=SANDBOX_TOKEN, bot_username="safe_sandbox_bot", bot_name="Sandbox"
    ) as emu:
        local = replace(settings, bot_api_base=emu.base_url, bot_token=SANDBOX_TOKEN)
        desk = await open_desk(local)
        staff: StaffApi | None = None
        if desk is not None:
            out.write(f"Reports are sealed into {local.vault_path}.\n")
            staff = await start_staff_api(local.vault_path, local.report_recipients)
            out.write(f"Staff API for the desk: {staff.url} (loopback only).\n")
            if key_path is not None:
                await asyncio.to_thread(write_desk_note, folder, key_path, staff.url)
                out.write(
                    "Read the reports in the desk, from another terminal: "
                    ".venv/bin/python -m caseworker desk --sandbox\n"
                )
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
            if staff is not None:
                await staff.stop()
    return 0
