"""Evidence downloads take turns on a pool of their own (issue 10, finding 5): with a hundred
slow downloads in flight, another woman's exit completes at once, a third one's screen still
changes when she taps, and ``getUpdates`` keeps fetching.

Before, downloads shared aiogram's pool of 100 connections with every Bot API call: a hundred
slow ones held them all, and the exit waited for a download to end (11 s in the audit)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.config import Settings
from bot.downloads import CONNECTIONS
from telegram_emulator.client import SimUser
from tests import modes
from tests.e2e.conftest import Caseworker, bot_texts, open_menu, running_bot, tap
from tests.resilience.flows import BEFORE_STORY, until, walk

SENDERS = 100
SLOW = 5.0  # seconds each file download takes while the test looks
FILE = 1000  # bytes
# Generous: the exit takes tens of milliseconds here; behind the downloads it took SLOW or more.
AT_ONCE = 1.0


async def to_evidence(user: SimUser) -> None:
    """From /start to the evidence step, without a story; users walk side by side."""
    await user.command("/start")
    await until(user, lambda: "✓ English" in user.buttons)
    await walk(user, ("✓ English", *BEFORE_STORY, "Next ➡️"))
    before = user.bot_changes
    await user.press("Next ➡️", timeout=90)
    await until(user, lambda: bot_texts(user)[-1].startswith("Step 8 of 9"), before)


async def eventually(ready: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def timed(
    user: SimUser, act: Callable[[], Awaitable[object]], done: Callable[[], bool]
) -> float:
    """Seconds from her tap until her chat shows ``done()``."""
    started = time.monotonic()
    await act()
    await until(user, done, timeout=30)
    return time.monotonic() - started


async def test_a_hundred_slow_downloads_never_hold_up_an_exit(
    tmp_path: Path, caseworkers: list[Caseworker]
) -> None:
    settings = Settings(
        report_recipients=",".join(c.public for c in caseworkers),
        vault_path=tmp_path / "vault" / "reports.sqlite3",
    )
    async with running_bot(settings, concurrent=True, mode=modes.POLLING) as harness:
        emu, desk = harness.emu, harness.app.desk
        assert desk is not None
        she = await open_menu(harness, "en")
        await tap(harness, she, "🆘 I'm in danger now")
        other = await open_menu(harness, "en")
        senders = [emu.user(language_code="en") for _ in range(SENDERS)]
        await asyncio.gather(*(to_evidence(u) for u in senders))

        slow = emu.faults.add("file", delay=SLOW, times=None)
        for n, sender in enumerate(senders):
            await sender.send_document(bytes([n]) * FILE, "scan.pdf", "application/pdf")
        # Every download has begun (its bytes are set aside) and the first are being served.
        await eventually(lambda: desk.memory.reserved == SENDERS * FILE and slow.hits > 0)
        polls = len(emu.calls_to("getUpdates"))

        before = {m.message_id for m in she.visible}
        exit_took = await timed(
            she,
            lambda: she.press("🚪 Exit"),
            lambda: not any(m.message_id in before for m in she.visible),
        )
        shown = bot_texts(other)[-1]
        edit_took = await timed(
            other, lambda: other.press("🧭 Safety plan"), lambda: bot_texts(other)[-1] != shown
        )
        in_flight = desk.memory.reserved // FILE
        queued = desk.downloads.waiting  # their turn to come: the downloads' pool is small
        fetched = len(emu.calls_to("getUpdates")) - polls

        emu.faults.clear()  # the rest download at once, and every file is added
        await eventually(lambda: all(bot_texts(u)[-1].startswith("Added") for u in senders))
        added = [bot_texts(u)[-1] for u in senders]
    print(
        f"{SENDERS} slow downloads ({slow.hits} served slowly, {in_flight} still in flight, "
        f"{queued} waiting their turn): "
        f"exit {exit_took * 1000:.0f} ms, a tap {edit_took * 1000:.0f} ms, "
        f"{fetched} getUpdates meanwhile"
    )
    assert exit_took < AT_ONCE, f"the exit took {exit_took:.1f} s"
    assert edit_took < AT_ONCE, f"a tap took {edit_took:.1f} s"
    assert in_flight > SENDERS // 2, "the downloads ended before the test looked"
    assert queued >= in_flight - CONNECTIONS
    assert fetched >= 2  # the exit and the tap came by getUpdates, with downloads waiting
    assert all(text.startswith("Added: 1 of 5") for text in added), set(added)
