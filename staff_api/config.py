"""The staff API's settings, from the environment over a ``.env`` file, checked once at start.

A wrong value stops the process with one line naming the setting. The names and the file are the
bot's (``VAULT_PATH``, ``REPORT_RECIPIENTS``, ``ALLOW_MIXED_RECIPIENT_KEYS``, ``LOG_LEVEL``), so
one ``.env`` serves both, and the same team passes the same rules.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from flows.envfile import ENV_FILE, read_env_file, yes_or_no
from storage.errors import StorageError
from storage.keys import PublicKey, load_recipients, require_one_kind

# The bot's default, inside the checkout, so both processes find the same file from anywhere.
DEFAULT_VAULT = Path(__file__).resolve().parent.parent / "var" / "reports.sqlite3"
DEFAULT_LISTEN = "127.0.0.1:8787"
_TRUE = {"1", "true", "yes", "on"}

Address = tuple[str, int]


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line meant for the operator."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the operator can set for the staff API (see staff_api/README.md)."""

    enabled: bool
    host: str
    port: int
    vault_path: Path
    team: tuple[PublicKey, ...]
    log_level: str = "WARNING"

    def by_fingerprint(self) -> dict[str, PublicKey]:
        """The team's keys that can sign (version 2), by fingerprint."""
        return {k.fingerprint: k for k in self.team if k.can_sign}


def parse_listen(text: str) -> Address:
    """``host:port`` (``[v6]:port`` for IPv6) into its parts."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        raise ConfigError(
            f"STAFF_API_LISTEN must be an IP address and a port ({DEFAULT_LISTEN}), got {text!r}"
        ) from None
    if not sep or not 0 <= number <= 65535:
        raise ConfigError(f"STAFF_API_LISTEN port must be 0..65535 (0: any free), got {text!r}")
    return host, number


def _yes_no(env: Mapping[str, str], key: str) -> bool:
    answer = yes_or_no(env.get(key, ""))
    if answer is None:
        raise ConfigError(f"{key} must be yes or no, got {env[key].strip().lower()!r}")
    return answer


def _merged(env: Mapping[str, str] | None, env_file: Path | None) -> dict[str, str]:
    merged = read_env_file(env_file or ENV_FILE)
    merged.update(os.environ if env is None else env)
    return merged


def load_listen(env: Mapping[str, str] | None = None, env_file: Path | None = None) -> Address:
    """``STAFF_API_LISTEN`` alone, read as :func:`load_settings` reads it: all that asking the
    running staff API for its health needs (no keys, no vault, whoever asks)."""
    return parse_listen(_merged(env, env_file).get("STAFF_API_LISTEN") or DEFAULT_LISTEN)


def load_settings(env: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Settings from ``env`` (default: the environment) over ``env_file`` (default ``.env``)."""
    merged = _merged(env, env_file)
    enabled = merged.get("STAFF_API_ENABLED", "").strip().lower() in _TRUE
    host, port = parse_listen(merged.get("STAFF_API_LISTEN") or DEFAULT_LISTEN)
    level = merged.get("LOG_LEVEL", "WARNING").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    spec = merged.get("REPORT_RECIPIENTS", "").strip()
    if enabled and not spec:
        raise ConfigError("REPORT_RECIPIENTS must list the caseworkers' keys (srk2-...)")
    allow_mixed = _yes_no(merged, "ALLOW_MIXED_RECIPIENT_KEYS")
    try:
        team = tuple(load_recipients(spec)) if spec else ()
        # The bot's rule for the same keys: case events sealed to a mixed team would keep only
        # X25519's protection, as reports would.
        require_one_kind(team, allow_mixed=allow_mixed)
    except StorageError as exc:
        raise ConfigError(f"REPORT_RECIPIENTS: {exc}") from None
    if enabled and not any(k.can_sign for k in team):
        raise ConfigError(
            "REPORT_RECIPIENTS has no version 2 key (srk2-...): nobody could sign in; "
            "caseworkers upgrade theirs with: python -m caseworker upgrade-key"
        )
    return Settings(
        enabled=enabled,
        host=host,
        port=port,
        vault_path=Path(merged.get("VAULT_PATH") or DEFAULT_VAULT),
        team=team,
        log_level=level,
    )
