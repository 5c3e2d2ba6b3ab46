"""New-report alerts: a count, at most once a period, to the one staff chat the bot stays in;
every other group and channel it still leaves. Through the real bot and the emulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.app import App, build_app
from bot.config import ConfigError, Settings, load_settings
from bot.startup import open_desk
from storage import Report, generate_keypair
from telegram_emulator.client import Emulator, SimGroup
from tests.e2e.conftest import FakeClock, Harness
from tests.e2e.test_report import file_a_report


class Day:
    def __init__(self, today: date) -> None:
        self.value = today

    def __call__(self) -> date:
        return self.value


@dataclass
class Staffed:
    harness: Harness
    staff: SimGroup
    day: Day

    @property
    def app(self) -> App:
        return self.harness.app


@contextlib.asynccontextmanager
async def staffed_bot(tmp_path: Path, period_days: int = 1) -> AsyncIterator[Staffed]:
    day = Day(date(2026, 3, 2))
    async with Emulator() as emu:
        staff = emu.group("Crisis centre staff", supergroup=True)
        settings = Settings(
            bot_api_base=emu.base_url,
            report_recipients=generate_keypair().public.text,
            vault_path=tmp_path / "vault.db",
            staff_chat_id=staff.id,
            staff_alert_days=period_days,
            staff_chat_language="en",
        )
        desk = await open_desk(settings)
        assert desk is not None
        desk.vault._clock = day
        clock = FakeClock()
        app = build_app(settings, token=emu.token, clock=clock, sweep_every=3600, desk=desk)
        # One update at a time, as running_bot polls: handled as tasks, an update is confirmed
        # before it is handled and settle cannot see the work, so on a loaded machine the test
        # looked at the chats while the bot was still sealing her report or leaving a group.
        task = asyncio.create_task(
            app.run(handle_signals=False, polling_timeout=1, handle_as_tasks=False)
        )
        try:
            await emu.settle()
            yield Staffed(Harness(emu=emu, app=app, clock=clock), staff, day)
        finally:
            await app.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 30)
            await desk.close()


def _texts(group: SimGroup) -> list[str]:
    return [m.text or "" for m in group.visible if m.from_bot]


async def test_the_staff_chat_gets_one_count_a_day_and_never_a_note_per_report(
    tmp_path: Path,
) -> None:
    async with staffed_bot(tmp_path) as s:
        emu = s.harness.emu
        admin = emu.user("Operator")
        await admin.command("/start")
        await emu.add_bot_to_group(s.staff, by=admin, admin=True)
        elsewhere = emu.group("Family chat")
        await emu.add_bot_to_group(elsewhere, by=admin)
        await s.harness.settle()
        assert s.staff.bot_member and not elsewhere.bot_member  # stays only in the staff chat
        await s.staff.send(admin, "/start")
        await s.harness.settle()
        assert _texts(s.staff) == []  # what staff say there is ignored

        await file_a_report(s.harness)  # a survivor reports through the bot, on 2 March
        vault = s.app.desk.vault  # type: ignore[union-attr]
        for n in range(2):
            await vault.store(
                Report(language="kk", answers={"n": str(n)}, received_day="2026-03-02")
            )
        await s.app.sweep()
        assert _texts(s.staff) == []  # not per report, not the same day

        s.day.value += timedelta(days=1)
        await s.app.sweep()
        await s.app.sweep()  # at most once a period
        await s.harness.settle()
        assert _texts(s.staff) == ["New since 2026-03-02: 3. Open the desk to read them."]
        note = next(m for m in s.staff.visible if m.from_bot)
        assert note.protect_content

        s.day.value += timedelta(days=1)  # a quiet day: nothing to say, nothing said
        await s.app.sweep()
        await s.harness.settle()
        assert len(_texts(s.staff)) == 1


async def test_a_longer_period_counts_every_day_in_it(tmp_path: Path) -> None:
    async with staffed_bot(tmp_path, period_days=7) as s:
        emu = s.harness.emu
        admin = emu.user("Operator")
        await admin.command("/start")
        await emu.add_bot_to_group(s.staff, by=admin)
        await s.harness.settle()
        vault = s.app.desk.vault  # type: ignore[union-attr]
        for offset in range(7):
            s.day.value = date(2026, 3, 2) + timedelta(days=offset)
            await vault.store(
                Report(language="ru", answers={}, received_day=s.day.value.isoformat())
            )
            await s.app.sweep()
        await s.harness.settle()
        assert _texts(s.staff) == []
        s.day.value = date(2026, 3, 9)
        await s.app.sweep()
        await s.harness.settle()
        assert _texts(s.staff) == ["New since 2026-03-02: 7. Open the desk to read them."]


async def test_without_a_staff_chat_every_group_is_left(tmp_path: Path) -> None:
    async with staffed_bot(tmp_path) as s:
        emu = s.harness.emu
        admin = emu.user("Operator")
        await admin.command("/start")
        other = emu.group("Another group", supergroup=True)
        await emu.add_bot_to_group(other, by=admin, admin=True)
        channel = emu.channel("A channel")
        await emu.add_bot_to_group(channel, by=admin)
        await s.harness.settle()
        assert not other.bot_member and not channel.bot_member


@pytest.mark.parametrize(
    "env",
    [
        {"STAFF_CHAT_ID": "12345"},  # a user's private chat, not a group
        {"STAFF_CHAT_ID": "@staff"},
        {"STAFF_CHAT_ID": "-12a"},
        {"STAFF_CHAT_LANGUAGE": "de"},
        {"STAFF_ALERT_DAYS": "0"},
    ],
)
def test_staff_chat_settings_are_checked(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_settings(env, Path("/nonexistent"))


def test_a_staff_chat_setting_is_read() -> None:
    settings = load_settings({"STAFF_CHAT_ID": "-1001234567890"}, Path("/nonexistent"))
    assert (settings.staff_chat_id, settings.staff_alert_days) == (-1001234567890, 1)
