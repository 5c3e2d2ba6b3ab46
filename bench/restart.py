"""Exit after an unclean restart: what it costs, against the number of other people chatting.

The real bot process serves her conversation while ``n`` others chat, is killed with SIGKILL,
and starts again; then she exits by tapping an old exit button, and a second woman by typing an
exit word. Message ids are numbered per bot (as on Telegram), so the span of ids between her first
message and her exit grows with everyone else's traffic, and with it the deleteMessages calls.
The bot runs with its real wipe budget (20 calls a second).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

from bench.procs import BotProcess
from bot.render import exit_anchor
from telegram_emulator.client import Emulator, SimUser

BUSY_PAUSE = 0.2  # seconds between two messages of one of the others
GOODBYE = "Have a good day!"


@contextlib.asynccontextmanager
async def chatting(emu: Emulator, size: int) -> AsyncIterator[None]:
    """``size`` people writing to the bot for as long as the block runs."""
    stop = asyncio.Event()

    async def chat(person: SimUser) -> None:
        await person.command("/start")
        while not stop.is_set():
            await person.send("just chatting")
            await asyncio.sleep(BUSY_PAUSE)

    tasks = [asyncio.create_task(chat(emu.user(f"O{i}"))) for i in range(size)]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def _until(done: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def _clean(user: SimUser) -> bool:
    return [m.text for m in user.visible] == [GOODBYE]


async def _answered(user: SimUser, act: Any) -> None:
    since = user.bot_changes
    await act()
    await user.wait_bot(since, 30)


async def _converse(emu: Emulator) -> SimUser:
    user = emu.user("Her", language_code="en")
    await user.command("/start")
    if not await _until(lambda: user.keyboard_message is not None, 30):
        raise RuntimeError("no first screen")
    await _answered(user, lambda: user.press("✓ English"))
    await _answered(user, lambda: user.send("a few words of hers"))
    await _answered(user, lambda: user.press_index(0))
    return user


async def exit_by(by: str, user: SimUser) -> None:
    """She leaves by typing an exit word (``by="word"``) or by tapping her newest screen's exit
    button, whose callback data carries the conversation's anchor."""
    if by == "word":
        await user.send("exit")
        return
    message = user.keyboard_message
    assert message is not None
    data = next(d for _, d in message.flat_buttons if d is not None and exit_anchor(d))
    await user.press_data(message.message_id, data)


async def one(workdir: Path, env: dict[str, str], others: int) -> dict[str, Any]:
    """Both exits after one restart with ``others`` chatting; figures per way of leaving."""
    out: dict[str, Any] = {}
    async with Emulator() as emu:
        first = BotProcess("real", emu, workdir, env)
        await first.start()
        async with chatting(emu, others):
            women = {by: await _converse(emu) for by in ("button", "word")}
            assert first.proc is not None
            first.proc.send_signal(signal.SIGKILL)
            await first.proc.wait()
            second = BotProcess("real", emu, workdir, env)
            await second.start()
            try:
                for by, user in women.items():
                    before = len(emu.calls)
                    started = time.perf_counter()
                    await exit_by(by, user)
                    clean = await _until(partial(_clean, user), 120)
                    ms = (time.perf_counter() - started) * 1000
                    chat = str(user.chat.id)
                    hers = [c for c in emu.calls[before:] if str(c.params.get("chat_id")) == chat]
                    ids = [m for m in user.chat.messages]
                    out[by] = {
                        "api_calls": len(hers),
                        "delete_calls": sum(c.method == "deleteMessages" for c in hers),
                        "ids_spanned": max(ids) - min(ids),
                        "ms_to_clean_chat": round(ms, 1),
                        "left_visible": 0 if clean else len(user.visible),
                    }
            finally:
                await second.stop()
    return out


async def exit_after_restart(
    workdir: Path, env: dict[str, str], crowds: tuple[int, ...] = (0, 10, 50)
) -> dict[str, Any]:
    """:func:`one` for each number of others active."""
    return {str(n): await one(workdir, env, n) for n in crowds}
