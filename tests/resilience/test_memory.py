"""Memory stays bounded: sessions expire on time, a flood of new chats cannot pass the cap, and
one flooding chat is answered without starving anyone else."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.config import Settings
from telegram_emulator.client import SimUser
from tests.e2e.conftest import Caseworker
from tests.resilience.conftest import at_menu, reporting, rig, texts
from tests.resilience.flows import SEND, THANKS, draft_report
from tests.resilience.test_kill import stories

CAP = 100
FLOOD = 1000


@pytest.mark.both_modes
async def test_sessions_are_evicted_on_time_and_their_chats_wiped() -> None:
    async with rig(Settings(idle_minutes=15)) as r:
        early = [await at_menu(r) for _ in range(20)]
        r.clock.advance(10 * 60)
        late = [await at_menu(r) for _ in range(5)]
        r.clock.advance(6 * 60)  # early: 16 minutes quiet; late: 6
        assert await r.app.sweep() == len(early)
        await r.settle()
        assert len(r.app.sessions) == len(late)
        assert all(u.visible == [] for u in early)
        assert all(texts(u) for u in late)
        r.clock.advance(16 * 60)
        assert await r.app.sweep() == len(late)
        await r.settle()
        assert len(r.app.sessions) == 0 and all(u.visible == [] for u in late)
        r.assert_clean()


async def test_quiet_conversations_are_held_packed_and_lose_nothing(
    tmp_path: Path, caseworkers: list[Caseworker]
) -> None:
    settings = reporting(tmp_path, caseworkers)
    async with rig(settings) as r:
        browsing = await at_menu(r)
        drafting = await at_menu(r)
        # Packed and unpacked again between every one of these steps.
        story = "He took my passport <b>and</b> my card"
        await draft_report(drafting, story, r.settle)
        # What the store holds between updates (private: no public view of it is needed).
        held = r.app.sessions._sessions
        assert len(held) == 2 and all(isinstance(v, bytes) for v in held.values())
        # Her draft came through whole: the report sealed and stored holds her words exactly.
        await drafting.press(SEND)
        await r.settle()
        assert THANKS in texts(drafting)[-1]
        assert stories(tmp_path / "reports.sqlite3", caseworkers) == [story]
        # And from a packed conversation, everything still goes in one tap.
        for user in (browsing, drafting):
            await user.press("🚪 Exit")
            await r.settle()
            assert [m.text for m in user.visible] == ["Have a good day!"]
        assert len(held) == 0
        r.assert_clean()


async def test_a_flood_of_new_chats_never_grows_the_store_past_the_cap() -> None:
    # The store's cap is under test, not the wipes' budget: evictions go as fast as they can.
    settings = Settings(max_sessions=CAP, wipe_calls_per_second=1000)
    async with rig(settings, handle_as_tasks=True) as r:
        store = r.app.sessions
        peak = {"n": 0}
        touch = store.touch

        def watched(chat_id: int):  # type: ignore[no-untyped-def]
            out = touch(chat_id)
            peak["n"] = max(peak["n"], len(store))
            return out

        store.touch = watched  # type: ignore[method-assign]
        users: list[SimUser] = []
        for _ in range(FLOOD):
            user = r.user(language_code="ru")
            users.append(user)
            await user.send("/start")
        # Handled as tasks: settle waits for every update in hand (running_bot watches them).
        await r.settle(timeout=60)
        assert peak["n"] <= CAP and len(store) == CAP
        # Every conversation the store let go was wiped: nothing of it is left in her chat. (A
        # chat evicted while its update waited is served in a fresh conversation, so the live
        # ones are not simply the newest hundred.)
        live = set(store.chat_ids())
        evicted = [u for u in users if u.id not in live]
        assert len(evicted) == FLOOD - CAP
        # Eviction wipes run in the background and queue in the bot's connection pool, out of the
        # emulator's sight: on a loaded machine they may finish a while after the flood.
        deadline = time.monotonic() + 30
        while any(u.visible for u in evicted) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert [u.id for u in evicted if u.visible] == []
        assert all(texts(u) for u in users if u.id in live)
        r.assert_clean()


async def test_a_flooding_chat_is_answered_once_and_others_keep_being_served() -> None:
    async with rig(handle_as_tasks=True) as r:
        spammer = await at_menu(r)
        normal = await at_menu(r)
        waits: list[float] = []
        for round_ in range(10):
            for i in range(60):
                await spammer.send(f"spam {round_} {i}")
            started = time.monotonic()
            if round_ % 2 == 0:
                await normal.press_index(0, wait=True, timeout=10)
            else:
                await normal.press("⬅️ Back", wait=True, timeout=10)
            waits.append(time.monotonic() - started)
            await r.settle(timeout=20)
        # Her answers kept coming while the other chat flooded (600 updates in all).
        assert max(waits) < 2.0, waits
        assert sum("Just a moment" in t for t in texts(spammer)) >= 1
        flood_notes = [t for t in texts(spammer) if "Just a moment" in t]
        assert len(flood_notes) <= 10  # one per flood window at most, never one per message
        assert not any("Just a moment" in t for t in texts(normal))
        # And the flooded chat still leaves in one tap.
        await spammer.command("/exit")
        await r.settle()
        assert [m.text for m in spammer.visible] == ["Have a good day!"]
        r.assert_clean()
