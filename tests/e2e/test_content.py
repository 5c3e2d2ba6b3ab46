"""Content that depends on the session: the region directory, the safety checklist, retention."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.config import Settings
from flows.discretion import looks_like_exit
from storage import VaultReader
from tests.e2e.conftest import Harness, bot_texts, open_menu, running_bot, tap
from tests.e2e.test_report import file_a_report

DIRECTORY = """\
example: false
entries:
  - region: karaganda
    name: {ru: Центр поддержки семьи, en: Family Support Centre}
    phones: ["+7 7212 00 00 00"]
    hours: {en: "Mon-Fri 9-18", ru: "Пн-Пт 9-18"}
    languages: [kk, ru]
    last_checked: 2026-10-01
"""


async def test_region_picker_shows_the_operators_entries_then_the_national_numbers(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "directory.yaml"
    directory.write_text(DIRECTORY)
    async with running_bot(Settings(directory_file=directory)) as harness:
        user = await open_menu(harness, "en")
        await tap(harness, user, "📞 Where to get help")
        await tap(harness, user, "🗺 Help in my region")
        await tap(harness, user, "Karaganda region")
        text = bot_texts(user)[-1]
        assert "Family Support Centre" in text and "+7 7212 00 00 00" in text
        assert text.index("Family Support Centre") < text.index("111")
        assert "2026-10-01" in text or "01.10.2026" in text or "1 October 2026" in text
        await tap(harness, user, "⬅️ Back")
        await tap(harness, user, "Turkistan region")
        other = bot_texts(user)[-1]
        assert "Family Support Centre" not in other and "111" in other and "112" in other


@pytest.mark.both_modes
async def test_checklist_ticks_live_in_the_session_and_go_with_the_exit(harness: Harness) -> None:
    user = await open_menu(harness, "en")
    await tap(harness, user, "🧭 Safety plan")
    await tap(harness, user, "☑️ My checklist")
    first = user.buttons[0]
    await user.press_index(0)
    await harness.settle()
    assert user.buttons[0].startswith("✅")
    await user.command("/exit")
    await harness.settle()
    assert harness.app.sessions.get(user.chat.id) is None
    await user.command("/start")
    await harness.settle()
    await tap(harness, user, "✓ English")
    await tap(harness, user, "🧭 Safety plan")
    await tap(harness, user, "☑️ My checklist")
    assert user.buttons[0] == first and first.startswith("▫️")


async def test_the_sweeper_purges_expired_reports(reporting: Harness) -> None:
    await file_a_report(reporting)
    desk = reporting.app.desk
    assert desk is not None
    db = reporting.app.settings.vault_path
    assert len(VaultReader(db).list_rows()) == 1
    later = dt.date.today() + dt.timedelta(days=91)
    desk.vault._clock = lambda: later  # 91 days pass
    await reporting.app.sweep()
    assert VaultReader(db).list_rows() == []


DANGER = {
    "en": "🆘 I'm in danger now",
    "ru": "🆘 Мне опасно сейчас",
    "kk": "🆘 Қазір қауіп төніп тұр",
}
PHONE_SAFETY = {
    "en": "📱 Phone and chat safety",
    "ru": "📱 Телефон и переписка",
    "kk": "📱 Телефон және хат алмасу",
}
EXIT = {"en": "🚪 Exit", "ru": "🚪 Выйти", "kk": "🚪 Шығу"}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
async def test_the_danger_and_phone_safety_screens_show_one_door(
    harness: Harness, lang: str
) -> None:
    """Issue 10: these screens showed "🚪 What the exit erases" beside "🚪 Exit", and a woman in
    a hurry taps the first door she sees. Now the exit is the only button with the door or an
    exit word, and the one beside it reads as information."""
    user = await open_menu(harness, lang)
    for screen in (DANGER, PHONE_SAFETY):
        await tap(harness, user, screen[lang])
        doors = [label for label in user.buttons if looks_like_exit(lang, label)]
        assert doors == [EXIT[lang]], user.buttons
        assert any(label.startswith("ℹ️") for label in user.buttons), user.buttons
        await tap(harness, user, "⬅️ " + {"en": "Back", "ru": "Назад", "kk": "Артқа"}[lang])
