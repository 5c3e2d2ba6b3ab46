"""The quick exit after an unclean restart: the real process (``python -m bot run``) is killed
with SIGKILL in the middle of her conversation, started again, and she exits by tapping an old
exit button or by typing an exit word, while 0, 10 or 50 other people chat with the bot.

Nothing about her was on disk: the restarted bot finds her conversation in her own chat (the
old button's anchor, or its pinned first message) and deletes every message of it, both sides,
message ids numbered per bot as on Telegram. The calls it took and the time are printed; the
benchmark keeps the figures (bench: exit_after_restart).
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import pytest

from bench.restart import exit_by
from telegram_emulator.client import Emulator
from tests import modes
from tests.e2e.test_exit_field import converse_busy, crowd, left_of_hers, say, until, wiped
from tests.resilience.test_kill import BotProcess

pytestmark = pytest.mark.slow


Figures = dict[str, tuple[int, int, int, float]]  # by -> calls, deletes, span of ids, ms


async def exit_after_restart(tmp_path: Path, others: int) -> Figures:
    """Two conversations, a SIGKILL, a restart; then one woman exits by an old button, the other
    by a typed word. For each: the calls made about her chat (all, deleteMessages), the span of
    ids the bot numbered from her first message to her exit, and the milliseconds from her exit
    to her chat being clean."""
    figures: Figures = {}
    async with Emulator(local_mode=True) as emu:
        first = BotProcess(emu, tmp_path, "", None)
        await first.start()
        # A message a second each: on a shared 2-core machine a faster crowd starves the bot.
        async with crowd(emu, others, pause=1.0):
            women = {by: await converse_busy(emu) for by in ("button", "word")}
            for user in women.values():
                await say(user, "he checks my phone at night")
            first.kill()
            await first.wait_dead()
            assert all(len(u.visible) >= 3 for u in women.values())  # left behind by the kill
            second = BotProcess(emu, tmp_path, "", None)
            await second.start()
            try:
                for by, user in women.items():
                    before = len(emu.calls)
                    started = time.monotonic()
                    await exit_by(by, user)
                    assert await until(partial(wiped, user), 60), left_of_hers(user)
                    ms = (time.monotonic() - started) * 1000
                    hers = [
                        c
                        for c in emu.calls[before:]
                        if str(c.params.get("chat_id")) == str(user.chat.id)
                    ]
                    deletes = sum(c.method == "deleteMessages" for c in hers)
                    span = max(m.message_id for m in user.chat.messages.values()) - min(
                        user.chat.messages
                    )
                    figures[by] = (len(hers), deletes, span, ms)
            finally:
                await second.stop()
    for by, (calls, deletes, span, ms) in figures.items():
        print(f"exit after restart by {by}, {others} others: {calls} calls", end=" ")
        print(f"({deletes} deleteMessages over {span} ids), {ms:.0f} ms")
    return figures


@pytest.mark.parametrize("others", [0, 10, 50])
async def test_exit_after_a_sigkill_leaves_nothing_of_hers(tmp_path: Path, others: int) -> None:
    for calls, deletes, span, _ in (await exit_after_restart(tmp_path, others)).values():
        # Bounded: her span holds every id the bot numbered meanwhile, a hundred a call.
        assert deletes <= span // 100 + 3 and calls <= deletes + 6


async def test_exit_after_a_sigkill_with_a_webhook(tmp_path: Path) -> None:
    previous = modes.use(modes.WEBHOOK)
    try:
        await exit_after_restart(tmp_path, 10)
    finally:
        modes.use(previous)
