"""The privacy scan for follow-up, on the real bot process at LOG_LEVEL=DEBUG: a report with a
receipt, a reply, the receipt typed back, a message written back, then the exit and SIGTERM. No
receipt, chat id or message text is in any file or log line; the vault holds only ciphertext."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from storage import generate_keypair
from telegram_emulator.client import Emulator
from tests.e2e.followup_helpers import CODE, HAVE, TAKE, messages_as_desk, reply_as_desk
from tests.e2e.test_process import bot_at_debug, wait_for
from tests.resilience.conftest import texts
from tests.resilience.flows import (
    AFTER_STORY,
    BEFORE_STORY,
    SEND,
    THANKS,
    start_in_english,
    until,
    walk,
)

STORY = "he hid the car keys again"
REPLY = "REPLY-MARKER we can meet on Tuesday"
BACK = "BACK-MARKER my sister can drive me"


def last(user: object) -> str:
    return (texts(user) or [""])[-1]  # type: ignore[arg-type]


async def test_at_debug_a_receipt_and_its_thread_leave_no_trace(tmp_path: Path) -> None:
    key = generate_keypair("mlkem768x25519")
    vault = tmp_path / "vault" / "reports.sqlite3"
    async with Emulator() as emu:
        process = await bot_at_debug(emu, tmp_path, key.public.text, vault)
        try:
            await wait_for(lambda: emu.calls_to("getUpdates"))
            user = emu.user(
                "Aigerim", last_name="Sultanova", username="aigerim_1990", language_code="en"
            )

            async def quiet() -> None:
                await emu.settle(timeout=15)

            await start_in_english(user, quiet)
            await walk(user, (*BEFORE_STORY, "Next ➡️"))
            await user.send(STORY)
            await until(user, lambda: "Saved:" in last(user))
            await walk(user, (*AFTER_STORY, SEND))
            await user.press(SEND, timeout=15)
            await until(user, lambda: last(user).startswith(THANKS))
            await user.press(TAKE, timeout=15)
            await until(user, lambda: CODE.search(last(user)) is not None)
            found = CODE.search(last(user))
            assert found is not None
            code = found.group(0)
            await reply_as_desk(vault, key, [key], [("reply", {"text": REPLY})])
            await walk(user, ("🏠 Menu", HAVE))
            await user.press(HAVE, timeout=15)
            await until(user, lambda: last(user).startswith("Your code"))
            await user.send(code.replace(" ", "-"))
            await until(user, lambda: last(user).startswith("Messages"))
            assert REPLY in last(user)
            await walk(user, ("✏️ Write back",))
            await user.press("✏️ Write back", timeout=15)
            await until(user, lambda: last(user).startswith("Write back"))
            await user.send(BACK)
            await until(user, lambda: "Saved:" in last(user))
            await walk(user, ("Next ➡️", "Next ➡️", "📨 Send"))
            await user.press("📨 Send", timeout=15)
            await until(user, lambda: last(user).startswith("Sent"))
            await user.command("/exit")
            await quiet()
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
    assert process.returncode == 0, err.decode()[-2000:]
    assert [m.text for m in user.visible] == ["Have a good day!"]
    assert list((await messages_as_desk(vault, key)).values()) == [[BACK]]
    logs = (out + err).decode()
    assert "bot starting" in logs
    markers = [
        code,
        code.replace(" ", ""),
        code.replace(" ", "-"),
        str(user.chat.id),
        "Aigerim",
        "aigerim_1990",
        STORY,
        REPLY,
        BACK,
    ]
    for marker in markers:
        assert marker not in logs, marker
    for path in (p for p in tmp_path.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        for marker in markers:
            assert marker.encode() not in raw, f"{marker} in {path.name}"
