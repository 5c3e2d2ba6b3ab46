"""Start-up checks: one clear line each; the fatal ones stop the start with a ConfigError."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiogram import Bot

from bot import checks
from bot.config import ConfigError, Settings
from storage import generate_keypair
from telegram_emulator import Emulator


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(local_mode=True) as emulator:
        emulator.webhook.backoff_scale = 0.01
        yield emulator


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[Bot]:
    bot = Bot(emu.token, session=emu.session())
    yield bot
    await bot.session.close()


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.checks"]


def test_local_checks_pass_with_one_line_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys = [generate_keypair("mlkem768x25519").public, generate_keypair("x25519").public]
    settings = Settings(
        report_recipients=",".join(k.text for k in keys), vault_path=tmp_path / "v" / "r.db"
    )
    caplog.set_level(logging.WARNING)
    out = checks.local(settings)
    assert len(out) == 4 and lines(caplog) == [f"check: {line}" for line in out]
    assert out[0].startswith("clock set")
    assert out[1] == (
        f"2 caseworker key(s): {keys[0].fingerprint} (mlkem768x25519), "
        f"{keys[1].fingerprint} (x25519)"
    )
    assert out[2] == f"vault writable: {settings.vault_path}"
    assert out[3].endswith("GiB free on the vault's disk")
    assert not list(settings.vault_path.parent.glob(".write-check-*"))  # nothing left behind


def test_without_keys_only_the_clock_is_checked(tmp_path: Path) -> None:
    assert [line.split(" (")[0] for line in checks.local(Settings())] == ["clock set"]


def test_a_vault_that_cannot_be_written_stops_the_start(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings = Settings(
        report_recipients=generate_keypair("x25519").public.text,
        vault_path=blocker / "reports.sqlite3",
    )
    with pytest.raises(ConfigError, match=r"^vault not writable: .*not-a-folder"):
        checks.vault_writable(settings)


def test_low_space_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "LOW_SPACE", 1 << 62)
    line = checks.free_space(Settings(vault_path=tmp_path / "r.db"))
    assert line.startswith("only ") and line.endswith("GiB free on the vault's disk")


def test_a_bad_key_stops_the_start() -> None:
    with pytest.raises(ConfigError, match=r"^REPORT_RECIPIENTS: "):
        checks.recipient_keys(Settings(report_recipients="srk1-x25519:not-a-key"))


def test_a_clock_never_set_stops_the_start() -> None:
    with pytest.raises(ConfigError, match=r"^the clock says 1970-01-01"):
        checks.clock_set(datetime(1970, 1, 1, tzinfo=UTC))


async def test_the_clock_is_compared_with_the_bot_api_servers(emu: Emulator, bot: Bot) -> None:
    assert await checks.clock_skew(bot, emu.base_url) == (
        "clock agrees with the Bot API server's (within 60 s)"
    )
    ahead = await checks.clock_skew(bot, emu.base_url, clock=lambda: time.time() + 3600)
    assert re.match(r"this clock is \+(3599|3600|3601) s off", ahead), ahead
    assert "timedatectl set-ntp true" in ahead


async def test_polling_refuses_to_start_while_a_webhook_is_set(emu: Emulator, bot: Bot) -> None:
    assert await checks.no_webhook(bot) == "no webhook set: polling"
    await bot.set_webhook("http://127.0.0.1:9/secret-path")
    with pytest.raises(ConfigError) as info:
        await checks.no_webhook(bot)
    message = str(info.value)
    assert "http://127.0.0.1:9" in message and "secret-path" not in message
    assert "python -m bot webhook delete" in message


async def test_a_webhook_telegram_cannot_reach_is_reported(emu: Emulator, bot: Bot) -> None:
    await emu.user("A").send("waiting while the bot was down")
    url = "http://127.0.0.1:9/hook"  # nothing listens there
    await bot.set_webhook(url)
    line = await checks.webhook_reachable(bot, url, settle=2)
    assert line == (
        "Telegram cannot deliver to http://127.0.0.1:9: Connection refused "
        "(check the TLS proxy and WEBHOOK_LISTEN)"
    )
