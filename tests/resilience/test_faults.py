"""A misbehaving Telegram: rate limits, 5xx, slow answers, dropped connections, polling outages.

Required: no update is lost or handled twice in a way she sees, and a wipe deletes every message
of the conversation whatever Telegram answers on the way.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from telegram_emulator.client import SimUser
from tests.e2e.conftest import Caseworker
from tests.e2e.test_exit_field import until
from tests.resilience.conftest import Rig, at_menu, reporting, rig, texts
from tests.resilience.flows import BEFORE_STORY, SEND, THANKS, draft_report

RIGHT_NOW = "Right now"  # the first line of the screen behind the menu's first button
SORRY = "something went wrong"
GOODBYE = "Have a good day!"


def screens(user: SimUser, first_line: str) -> int:
    """How many visible bot messages show the screen that starts with ``first_line``."""
    return sum(t.startswith(first_line) or f"\n\n{first_line}" in t for t in texts(user))


async def chatter(r: Rig, user: SimUser, lines: int) -> None:
    for i in range(lines):
        r.clock.advance(0.5)  # a brisk pace, below the flood limit
        await user.send(f"line {i}")
    await r.settle()


@pytest.mark.parametrize("method", ["editMessageText", "sendMessage", "answerCallbackQuery"])
async def test_a_rate_limit_is_waited_out_and_the_screen_arrives_once(method: str) -> None:
    async with rig() as r:
        user = await at_menu(r)
        if method == "sendMessage":
            await user.send("a word")  # a typed word is answered with a new message
            await r.settle()
        r.emu.faults.add(method, status=429, retry_after=1, times=2)
        await user.press_index(0)
        await r.settle(timeout=15)
        assert screens(user, RIGHT_NOW) == 1
        assert not any(SORRY in t for t in texts(user))
        r.assert_clean(also=["Too Many Requests"])


@pytest.mark.parametrize("status", [500, 502])
async def test_a_server_error_on_an_edit_is_retried(status: int) -> None:
    async with rig() as r:
        user = await at_menu(r)
        r.emu.faults.add("editMessageText", status=status, times=2)
        await user.press_index(0)
        await r.settle(timeout=10)
        assert screens(user, RIGHT_NOW) == 1
        assert not any(SORRY in t for t in texts(user))
        r.assert_clean(also=["Internal Server Error", "Bad Gateway"])


@pytest.mark.parametrize("status", [500, 502])
async def test_a_failed_send_is_said_once_never_doubled_and_the_next_tap_recovers(
    status: int,
) -> None:
    """A send is not repeated blindly (Telegram may have delivered it): she is told once, and
    her next tap shows the screen she asked for, exactly once."""
    async with rig() as r:
        user = await at_menu(r)
        await user.send("a word")
        await r.settle()
        r.emu.faults.add("sendMessage", status=status)
        await user.send("another word")
        await r.settle()
        menus = screens(user, "Hello 🌿")
        assert menus <= 1
        await user.press_index(0)
        await r.settle()
        assert screens(user, RIGHT_NOW) == 1
        assert sum(SORRY in t for t in texts(user)) <= 1
        assert r.logs.update_failures in ([], ["ERROR bot.app: update failed: TelegramServerError"])


@pytest.mark.both_modes
async def test_her_words_are_saved_once_when_the_answer_to_them_failed(
    tmp_path: Path, caseworkers: list[Caseworker]
) -> None:
    """She is told "try again" after a failed send: trying again must not save her words twice."""
    settings = reporting(tmp_path, caseworkers)
    async with rig(settings) as r:
        user = await at_menu(r)
        for label in BEFORE_STORY:
            await user.press(label)
            await r.settle()
        r.emu.faults.add("sendMessage", status=502)
        await user.send("he took my passport")
        await r.settle()
        assert SORRY in texts(user)[-1]
        await user.send("he took my passport")
        await r.settle()
        session = r.app.sessions.get(user.id)
        assert session is not None
        assert session.state.answers["report"]["story"] == "he took my passport"


@pytest.mark.both_modes
@pytest.mark.parametrize("fault", ["lost_answer", "slow_answer"])
async def test_a_message_whose_answer_never_came_is_still_wiped(fault: str) -> None:
    """Telegram delivered the screen but the bot never learned its id: the quick exit must
    still leave nothing behind."""
    async with rig(request_timeout=1) as r:
        user = await at_menu(r)
        if fault == "lost_answer":
            r.emu.faults.add("sendMessage", drop=True, after=True)
        else:
            r.emu.faults.add("sendMessage", delay=1.6)
        await user.send("words that get a new screen")
        await r.settle(quiet=2.0)
        assert any(t.startswith("Hello 🌿") for t in texts(user))  # it did arrive
        await user.command("/exit")
        await r.settle()
        assert [m.text for m in user.visible] == [GOODBYE]


async def test_a_dropped_connection_on_an_edit_is_retried() -> None:
    async with rig() as r:
        user = await at_menu(r)
        r.emu.faults.add("editMessageText", drop=True)
        await user.press_index(0)
        await r.settle()
        assert screens(user, RIGHT_NOW) == 1
        assert not any(SORRY in t for t in texts(user))
        assert r.logs.update_failures == []


async def test_a_slow_edit_past_the_client_timeout_shows_the_screen_once() -> None:
    async with rig(request_timeout=1) as r:
        user = await at_menu(r)
        r.emu.faults.add("editMessageText", delay=1.5)
        await user.press_index(0)
        await r.settle(timeout=15, quiet=2.0)
        assert screens(user, RIGHT_NOW) == 1
        assert r.logs.update_failures == []


@pytest.mark.parametrize("outage", ["seconds", "calls", "lost_batch"])
async def test_a_polling_outage_loses_nothing_and_repeats_nothing(outage: str) -> None:
    async with rig() as r:
        users = [await at_menu(r) for _ in range(3)]
        if outage == "seconds":
            r.emu.faults.outage(seconds=1.5)
        elif outage == "calls":
            r.emu.faults.outage(calls=3, status=500)
        else:  # the bot's getUpdates answer is lost after Telegram handed the updates out
            r.emu.faults.add("getUpdates", drop=True, after=True)
        for user in users:
            await user.press_index(0)
            await user.send(f"typed during the outage by {user.id}")
        await r.settle(timeout=20)
        for user in users:
            assert screens(user, RIGHT_NOW) == 1
            use_buttons = [t for t in texts(user) if "buttons" in t and RIGHT_NOW not in t]
            assert len(use_buttons) <= 1  # her typed line was answered at most once
        r.assert_clean(also=["Bad Gateway", "Internal Server Error", "Server disconnected"])


@pytest.mark.both_modes
@pytest.mark.parametrize("how", ["command", "button", "idle", "shutdown"])
async def test_a_wipe_that_meets_rate_limits_still_deletes_every_message(how: str) -> None:
    async with rig() as r:
        user = await at_menu(r)
        await chatter(r, user, 120)  # more than one deleteMessages batch
        assert len(user.visible) > 120
        r.emu.faults.add("deleteMessages", status=429, retry_after=1, times=3)
        r.emu.faults.add("deleteMessages", status=502)
        if how == "command":
            await user.command("/exit")
        elif how == "button":
            await user.press("🚪 Exit")
        elif how == "idle":
            r.clock.advance(16 * 60)
            assert await r.app.sweep() == 1
        if how != "shutdown":
            # The wipe goes on in the background, retried until Telegram confirms it.
            assert await until(lambda: [m.text for m in user.visible if m.text != GOODBYE] == [])
            assert r.app.sessions.get(user.id) is None
    # Shutdown: the graceful stop wiped her conversation before the bot's session closed.
    assert [m.text for m in user.visible if m.text != GOODBYE] == []


@pytest.mark.both_modes
async def test_a_report_is_acknowledged_only_after_the_commit(
    tmp_path: Path, caseworkers: list[Caseworker]
) -> None:
    """A rate-limited "received" is still sent once; a failed commit is never acknowledged."""
    settings = reporting(tmp_path, caseworkers)
    async with rig(settings) as r:
        user = await at_menu(r)
        await draft_report(user, "story one", r.settle)
        r.emu.faults.add("editMessageText", status=429, retry_after=1)
        await user.press(SEND)
        await r.settle(timeout=10)
        assert sum(t.startswith(THANKS) for t in texts(user)) == 1
        desk = r.app.dp["desk"]
        assert await desk.vault.count() == 1

        def refuse(point: str) -> None:
            if point == "inserted":
                raise OSError("disk full")

        desk.vault._crash_hook = refuse  # the commit fails after the row went in
        second = await at_menu(r)
        await draft_report(second, "story two", r.settle)
        await second.press(SEND)
        await r.settle()
        assert not any(t.startswith(THANKS) for t in texts(second))
        assert "could not be saved" in texts(second)[-1]
        assert await desk.vault.count() == 1
