"""Races found in review: the quick exit must win against whatever else is running.

The bot handles updates concurrently here, as in production.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.config import Settings
from tests.e2e.conftest import Caseworker, Harness, bot_texts, open_menu, running_bot, tap

pytestmark = pytest.mark.both_modes

GOODBYE = "Have a good day!"


async def to_evidence(harness: object) -> object:
    user = await open_menu(harness, "en")  # type: ignore[arg-type]
    for label in ("📝 Tell us what happened", "I understand, continue", "Yes, I'm safe now"):
        await tap(harness, user, label)  # type: ignore[arg-type]
    await tap(harness, user, "Next ➡️")  # type: ignore[arg-type]
    for _ in range(4):
        await tap(harness, user, "Prefer not to say")  # type: ignore[arg-type]
    await tap(harness, user, "Next ➡️")  # type: ignore[arg-type]
    return user


async def test_exit_does_not_wait_for_a_slow_download_and_what_follows_is_wiped(
    tmp_path: Path, caseworkers: list[Caseworker]
) -> None:
    settings = Settings(report_recipients=caseworkers[0].public, vault_path=tmp_path / "v.db")
    async with running_bot(settings, concurrent=True) as harness:
        user = await to_evidence(harness)
        harness.emu.faults.add(method="getFile", delay=3)
        await user.send_photo(b"\x89PNG slow photo")  # type: ignore[attr-defined]
        await asyncio.sleep(0.3)  # the download is under way, holding her chat's lock
        started = time.monotonic()
        await user.command("/exit")  # type: ignore[attr-defined]
        while [m.text for m in user.visible] != [GOODBYE]:  # type: ignore[attr-defined]
            assert time.monotonic() - started < 2, "the exit waited for the download"
            await asyncio.sleep(0.05)
        await harness.emu.settle(timeout=10)  # the download ends, its answer is sent and wiped
        assert [m.text for m in user.visible] == [GOODBYE]  # type: ignore[attr-defined]


async def test_a_pressed_message_from_before_a_restart_goes_with_a_typed_exit(
    harness: Harness,
) -> None:
    user = await open_menu(harness, "en")
    app = harness.app
    session = app.sessions.get(user.chat.id)
    assert session is not None
    app.sessions.drop(session)  # the bot restarted: it knows nothing
    old = user.keyboard_message
    assert old is not None
    data = old.buttons[0][0][1]
    assert data is not None
    await user.press_data(old.message_id, data)
    await harness.settle()
    await user.send("exit")
    await harness.settle()
    assert [m.text for m in user.visible] == [GOODBYE]


async def test_a_shutdown_during_an_idle_sweep_still_wipes_everything() -> None:
    async with running_bot() as harness:
        user = await open_menu(harness, "en")
        await tap(harness, user, "🆘 I'm in danger now")
        harness.clock.advance(16 * 60)
        harness.emu.faults.add(method="deleteMessages", status=429, retry_after=1, times=1)
        app = harness.app
        app._sweeping = asyncio.ensure_future(app.sweep())
        await asyncio.sleep(0.2)  # the sweep is waiting out the rate limit
    assert user.visible == []


async def test_a_location_sent_in_a_flood_is_still_deleted_at_once(harness: object) -> None:
    user = await open_menu(harness, "en")  # type: ignore[arg-type]
    for i in range(60):
        await user.send(f"spam {i}")
    shared = await user.send_location(43.2, 76.9)
    await harness.settle()  # type: ignore[attr-defined]
    assert all(m.message_id != shared.message_id for m in user.visible)
    assert sum("Just a moment" in t for t in bot_texts(user)) == 1


async def test_a_tap_queued_behind_a_slow_download_leaves_nothing_after_the_exit(
    tmp_path: Path, caseworkers: list[Caseworker]
) -> None:
    """She taps a button while her photo downloads, then taps exit: the tap she made before
    leaving must not start a new conversation that outlives the exit."""
    settings = Settings(report_recipients=caseworkers[0].public, vault_path=tmp_path / "v.db")
    async with running_bot(settings, concurrent=True) as harness:
        user = await to_evidence(harness)
        harness.emu.faults.add(method="getFile", delay=2)
        await user.send_photo(b"\x89PNG slow photo")  # type: ignore[attr-defined]
        await asyncio.sleep(0.3)  # the download holds her turn
        keyboard = user.keyboard_message  # type: ignore[attr-defined]
        await user.press_data(keyboard.message_id, keyboard.flat_buttons[0][1])  # type: ignore[attr-defined]
        await user.press("🚪 Exit")  # type: ignore[attr-defined]
        await harness.emu.settle(timeout=10)
        assert [m.text for m in user.visible] == [GOODBYE]  # type: ignore[attr-defined]
        assert harness.app.sessions.get(user.chat.id) is None  # type: ignore[attr-defined]
