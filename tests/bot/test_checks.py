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


def test_the_checks_reporting_needs_pass_with_one_line_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys = [generate_keypair("mlkem768x25519").public, generate_keypair("mlkem768x25519").public]
    settings = Settings(
        report_recipients=",".join(k.text for k in keys), vault_path=tmp_path / "v" / "r.db"
    )
    caplog.set_level(logging.WARNING)
    assert checks.reporting(settings) == keys  # the very keys the desk will seal to
    assert lines(caplog) == [
        f"check: recipient 1 of 2: mlkem768x25519 key, fingerprint {keys[0].fingerprint}",
        f"check: recipient 2 of 2: mlkem768x25519 key, fingerprint {keys[1].fingerprint}",
        f"check: vault writable: {settings.vault_path}",
        lines(caplog)[-1],
    ]
    assert re.fullmatch(r"check: [\d.]+ GiB free on the vault's disk", lines(caplog)[-1])
    assert not list(settings.vault_path.parent.glob(".write-check-*"))  # nothing left behind


def test_a_mix_of_key_kinds_stops_the_start_before_the_vault_is_touched(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mixed = [generate_keypair("mlkem768x25519").public, generate_keypair("x25519").public]
    settings = Settings(
        report_recipients=",".join(k.text for k in mixed), vault_path=tmp_path / "v" / "r.db"
    )
    with pytest.raises(ConfigError, match=r"^REPORT_RECIPIENTS: .*ALLOW_MIXED_RECIPIENT_KEYS"):
        checks.reporting(settings)
    assert not settings.vault_path.parent.exists()
    assert [line.split(":")[0] for line in lines(caplog)] == ["check FAILED"]


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


async def test_each_fingerprint_is_logged_once_at_start(
    emu: Emulator,
    bot: Bot,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole start, as `python -m bot run` does it, up to a check that stops it late (a
    webhook set elsewhere while polling): every key was read, judged and logged once."""
    from bot import startup

    monkeypatch.setattr(startup, "freeze_startup_heap", lambda: None)  # not in the test process

    keys = [generate_keypair("mlkem768x25519").public for _ in range(2)]
    await bot.set_webhook("http://127.0.0.1:9/elsewhere")
    settings = Settings(
        bot_token=emu.token,
        bot_api_base=emu.base_url,
        report_recipients=",".join(k.text for k in keys),
        vault_path=tmp_path / "v" / "r.db",
    )
    caplog.set_level(logging.WARNING)
    with pytest.raises(ConfigError, match="a webhook is set"):
        await startup.start(settings)
    for key in keys:
        assert caplog.text.count(key.fingerprint) == 1, caplog.text
    assert caplog.text.count("recipient 1 of 2: mlkem768x25519 key, fingerprint") == 1
