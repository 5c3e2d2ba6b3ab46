"""Isolation under load: 500 users at once, updates handled as tasks as in production.

Each user walks her own flow; a third of them file a report with a unique marker in the story.
Every report is decrypted with a caseworker key and matched to the one user who wrote it; every
chat shows only the screens of its own user's walk.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage import VaultReader, open_envelope
from telegram_emulator.client import SimUser
from tests.e2e.conftest import Caseworker
from tests.resilience.conftest import reporting, rig, texts
from tests.resilience.flows import AFTER_STORY, BEFORE_STORY, SEND, THANKS, screen, until, walk

USERS = 500
# Menu buttons and the first line of the screen each leads to (English).
WALKS = (
    ("📞 Where to get help", None),
    ("⚖️ Know your rights", None),
    ("🧭 Safety plan", None),
    ("💭 Is this okay?", None),
)

pytestmark = pytest.mark.slow


async def reporter(user: SimUser, marker: str) -> None:
    await user.command("/start")
    await until(user, lambda: "✓ English" in user.buttons)
    await walk(user, ("✓ English", *BEFORE_STORY))
    before = user.bot_changes
    await user.press(BEFORE_STORY[-1], timeout=90)
    await until(user, lambda: "In your own words" in (texts(user) or [""])[-1], before)
    before = user.bot_changes
    await user.send(f"my story {marker} ends here")
    await until(user, lambda: "Saved:" in (texts(user) or [""])[-1], before)
    await walk(user, (*AFTER_STORY, SEND))
    before = user.bot_changes
    await user.press(SEND, timeout=90)
    await until(user, lambda: (texts(user) or [""])[-1].startswith(THANKS), before)


async def walker(user: SimUser, button: str) -> None:
    await user.command("/start")
    await until(user, lambda: "✓ English" in user.buttons)
    await walk(user, ("✓ English", button))
    shown = screen(user)
    await user.press(button, timeout=90)
    await until(user, lambda: screen(user) != shown and "⬅️ Back" in user.buttons)


@pytest.mark.both_modes
async def test_five_hundred_users_at_once_see_only_their_own_screens_and_reports(
    tmp_path: Path, caseworkers: list[Caseworker]
) -> None:
    settings = reporting(tmp_path, caseworkers)
    async with rig(settings, handle_as_tasks=True) as r:
        users = [r.user(first_name=f"U{i}", language_code="en") for i in range(USERS)]
        markers = {user.id: f"m{i:04d}q" for i, user in enumerate(users)}
        jobs = []
        for i, user in enumerate(users):
            if i % 3 == 0:
                jobs.append(reporter(user, markers[user.id]))
            else:
                jobs.append(walker(user, WALKS[i % len(WALKS)][0]))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        failed = [(i, type(x).__name__, str(x)[:200]) for i, x in enumerate(results) if x]
        assert failed == []
        await r.settle(timeout=60)
        r.assert_clean()

        # Each chat shows its own user's last screen, and nothing of anyone else.
        reporters = {u.id for i, u in enumerate(users) if i % 3 == 0}
        for i, user in enumerate(users):
            shown = texts(user)
            assert shown, i
            if user.id in reporters:
                assert shown[-1].startswith(THANKS), i
            else:
                assert not any(s.startswith(THANKS) for s in shown), i
            assert user.chat.messages, i
            assert all(m.chat_id == user.id for m in user.chat.messages.values())

        # Every report decrypts to exactly one reporter's own story.
        with VaultReader(settings.vault_path) as reader:
            rows = reader.list_rows()
        assert len(rows) == len(reporters)
        seen: set[str] = set()
        for row in rows:
            report = open_envelope(row.envelope, row.id, caseworkers[1].key)
            story = report.answers["story"]
            assert isinstance(story, str)
            inside = [m for m in markers.values() if m in story]
            assert len(inside) == 1, "a report carries no marker or someone else's too"
            assert story == f"my story {inside[0]} ends here"
            seen.add(inside[0])
        assert seen == {markers[uid] for uid in reporters}
        assert len(r.app.sessions) == USERS
