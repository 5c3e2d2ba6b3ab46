"""What the deployment relies on: the health command its container and operator use, and the
bot's rules for the team's keys, which both processes read from one list."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from staff_api.__main__ import health, health_url
from staff_api.config import ConfigError, load_listen, load_settings
from storage.keys import generate_keypair
from tests.staff_api.live import LiveApi


def test_health_asks_the_running_api_and_says_ok(api: LiveApi) -> None:
    out = io.StringIO()
    assert health(("127.0.0.1", api.port), out) == 0
    assert out.getvalue() == "ok\n"


def test_health_without_an_api_is_one_line_and_status_1() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: refused
        out = io.StringIO()
        assert health(("127.0.0.1", port), out) == 1
    assert out.getvalue().startswith(f"no answer from http://127.0.0.1:{port}/v1/health")
    assert out.getvalue().count("\n") == 1


def test_health_asks_on_loopback_when_the_api_listens_everywhere(tmp_path: Path) -> None:
    assert health_url(("0.0.0.0", 8787)) == "http://127.0.0.1:8787/v1/health"
    assert health_url(("::", 8787)) == "http://[::1]:8787/v1/health"
    # It needs nothing but the address: no keys, no vault, not even STAFF_API_ENABLED.
    assert load_listen({}, env_file=tmp_path / "none") == ("127.0.0.1", 8787)
    assert load_listen({"STAFF_API_LISTEN": "0.0.0.0:9"}, tmp_path / "none") == ("0.0.0.0", 9)


def test_a_mixed_team_is_refused_unless_allowed_by_name_as_for_the_bot(tmp_path: Path) -> None:
    """The bot refuses hybrid and X25519 keys side by side (an X25519 key alone opens every
    envelope); the staff API reads the same list, and case events are sealed to it."""
    mixed = ",".join(generate_keypair(kind).public.text for kind in ("mlkem768x25519", "x25519"))
    env = {"STAFF_API_ENABLED": "true", "REPORT_RECIPIENTS": mixed}
    with pytest.raises(ConfigError, match=r"^REPORT_RECIPIENTS: .*ALLOW_MIXED_RECIPIENT_KEYS"):
        load_settings(env, env_file=tmp_path / "none")
    allowed = load_settings({**env, "ALLOW_MIXED_RECIPIENT_KEYS": "yes"}, tmp_path / "none")
    assert len(allowed.team) == 2
    with pytest.raises(ConfigError, match=r"^ALLOW_MIXED_RECIPIENT_KEYS must be yes or no"):
        load_settings({**env, "ALLOW_MIXED_RECIPIENT_KEYS": "maybe"}, tmp_path / "none")
