"""Settings are validated at start; a wrong value is one clear line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.startup import open_desk
from flows.envfile import read_env_file
from storage import generate_keypair


def test_defaults_need_nothing(tmp_path: Path) -> None:
    settings = load_settings({}, env_file=tmp_path / "none")
    assert settings.bot_token is None and settings.idle_minutes == 15
    assert settings.exit_message == "goodbye" and settings.retention_days == 90
    assert settings.bot_api_base == "https://api.telegram.org"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN"),
        ({"BOT_API_BASE": "ftp://x"}, "BOT_API_BASE"),
        ({"BOT_API_BASE": "http://127.0.0.1:99999"}, "BOT_API_BASE"),
        ({"BOT_API_BASE": "http://[::1"}, "BOT_API_BASE"),
        ({"IDLE_MINUTES": "soon"}, "IDLE_MINUTES"),
        ({"IDLE_MINUTES": "0"}, "IDLE_MINUTES"),
        ({"FLOOD_UPDATES": "30"}, "FLOOD_UPDATES"),
        ({"EXIT_MESSAGE": "bye"}, "EXIT_MESSAGE"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"RETENTION_DAYS": "-1"}, "RETENTION_DAYS"),
        ({"REPORTS_PER_ACCOUNT_DAY": "0"}, "REPORTS_PER_ACCOUNT_DAY"),
        ({"METRICS_LISTEN": "127.0.0.1:8²"}, "METRICS_LISTEN"),  # a digit int() refuses
    ],
)
def test_a_wrong_value_names_the_setting(tmp_path: Path, env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env, env_file=tmp_path / "none")
    message = str(info.value)
    assert message.startswith(names) and "\n" not in message


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nexport IDLE_MINUTES=5\nEXIT_MESSAGE='none'\n\nBROKEN LINE\n")
    assert read_env_file(env_file) == {"IDLE_MINUTES": "5", "EXIT_MESSAGE": "none"}
    settings = load_settings({"IDLE_MINUTES": "7"}, env_file=env_file)
    assert settings.idle_minutes == 7 and settings.exit_message == "none"


async def test_no_operator_setting_reaches_the_test_only_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmark's seconds-long idle time and the tests' kill switch are command-line
    arguments of ``bench.bot_under_test`` only: in .env or the environment they do nothing."""
    env_file = tmp_path / ".env"
    env_file.write_text("IDLE_SECONDS_FOR_BENCHMARK=2\nTEST_ONLY_KILL_VAULT_AT=sealed\n")
    monkeypatch.setenv("TEST_ONLY_KILL_VAULT_AT", "sealed")
    key = generate_keypair("mlkem768x25519").public.text
    settings = load_settings(
        {"REPORT_RECIPIENTS": key, "VAULT_PATH": str(tmp_path / "v.sqlite3")}, env_file=env_file
    )
    assert settings.idle_minutes == 15
    desk = await open_desk(settings)
    assert desk is not None
    try:
        assert desk.vault._crash_hook is None
    finally:
        await desk.close()


async def test_mixed_recipient_kinds_stop_the_bot_unless_named_and_each_key_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An X25519 key beside hybrid ones would open every report alone: refused at start, unless
    the operator allows it by name, and then said plainly in the log. Every recipient's
    fingerprint is logged, for the operator to compare with the caseworker's."""
    hybrid, classic = generate_keypair("mlkem768x25519"), generate_keypair("x25519")
    env = {
        "REPORT_RECIPIENTS": f"{hybrid.public.text},{classic.public.text}",
        "VAULT_PATH": str(tmp_path / "v.sqlite3"),
    }
    with pytest.raises(ConfigError, match="ALLOW_MIXED_RECIPIENT_KEYS"):
        await open_desk(load_settings(env, env_file=tmp_path / "none"))
    allowed = load_settings({**env, "ALLOW_MIXED_RECIPIENT_KEYS": "yes"}, tmp_path / "none")
    with caplog.at_level(logging.WARNING):
        desk = await open_desk(allowed)
    assert desk is not None
    await desk.close()
    assert f"recipient 1 of 2: mlkem768x25519 key, fingerprint {hybrid.public.fingerprint}" in (
        caplog.text
    )
    assert f"recipient 2 of 2: x25519 key, fingerprint {classic.public.fingerprint}" in caplog.text
    assert "no report has post-quantum protection" in caplog.text


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"WEBHOOK_URL": "http://bot.example.org/hook"}, "WEBHOOK_URL"),
        ({"WEBHOOK_URL": "ftp://bot.example.org/hook"}, "WEBHOOK_URL"),
        ({"WEBHOOK_URL": "https://bot.example.org/hook?token=1"}, "WEBHOOK_URL"),
        ({"WEBHOOK_URL": "https://user:pw@bot.example.org/hook"}, "WEBHOOK_URL"),
        ({"WEBHOOK_LISTEN": "8080"}, "WEBHOOK_LISTEN"),
        ({"WEBHOOK_LISTEN": "127.0.0.1:99999"}, "WEBHOOK_LISTEN"),
        ({"WEBHOOK_SECRET": "has space"}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_SECRET": "x" * 257}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_MAX_CONNECTIONS": "101"}, "WEBHOOK_MAX_CONNECTIONS"),
        ({"METRICS_LISTEN": "0.0.0.0:9101"}, "METRICS_LISTEN"),
        ({"METRICS_LISTEN": "192.168.1.5:9101"}, "METRICS_LISTEN"),
        ({"METRICS_LISTEN": "localhost"}, "METRICS_LISTEN"),
    ],
)
def test_a_wrong_deployment_value_names_the_setting(
    tmp_path: Path, env: dict[str, str], names: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env, env_file=tmp_path / "none")
    message = str(info.value)
    assert message.startswith(names) and "\n" not in message


def test_webhook_settings(tmp_path: Path) -> None:
    polling = load_settings({}, env_file=tmp_path / "none")
    assert polling.webhook_url is None and polling.metrics_listen is None
    assert polling.webhook_listen == ("127.0.0.1", 8080)
    settings = load_settings(
        {
            "WEBHOOK_URL": "https://bot.example.org/telegram/hook",
            "WEBHOOK_LISTEN": "[::1]:8443",
            "METRICS_LISTEN": "127.0.0.1:9101",
        },
        env_file=tmp_path / "none",
    )
    assert settings.webhook_path == "/telegram/hook"
    assert settings.webhook_listen == ("::1", 8443)
    assert settings.metrics_listen == ("127.0.0.1", 9101)
    # No secret configured: a fresh one at each start, in Telegram's alphabet.
    one, two = settings.secret_for_this_start(), settings.secret_for_this_start()
    assert one != two and len(one) >= 32 and one.replace("-", "").replace("_", "").isalnum()
    fixed = load_settings({"WEBHOOK_SECRET": "abc_DEF-123"}, env_file=tmp_path / "none")
    assert fixed.secret_for_this_start() == "abc_DEF-123"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/h"]
)
def test_plain_http_webhooks_only_on_loopback(tmp_path: Path, url: str) -> None:
    assert load_settings({"WEBHOOK_URL": url}, env_file=tmp_path / "none").webhook_url == url


def test_metrics_elsewhere_only_when_forced(tmp_path: Path) -> None:
    env = {"METRICS_LISTEN": "0.0.0.0:9101", "METRICS_ALLOW_NON_LOOPBACK": "yes"}
    assert load_settings(env, env_file=tmp_path / "none").metrics_listen == ("0.0.0.0", 9101)
