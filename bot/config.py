"""Settings from the environment (and a ``.env`` file), validated once at start.

A wrong value stops the bot with one line that names the setting and what it expects.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flows.envfile import ENV_FILE, read_env_file, yes_or_no

TELEGRAM_API = "https://api.telegram.org"
# Inside the checkout, so the bot runs the same from any working directory.
DEFAULT_VAULT = Path(__file__).resolve().parent.parent / "var" / "reports.sqlite3"
TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
# Telegram's rule for setWebhook's secret_token: 1-256 of A-Z, a-z, 0-9, _ and -.
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
DEFAULT_WEBHOOK_LISTEN = ("127.0.0.1", 8080)

Address = tuple[str, int]


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line meant for the operator."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything an operator can set. See the README's configuration table."""

    bot_token: str | None = None
    bot_api_base: str = TELEGRAM_API
    # Minutes of quiet after which a conversation is wiped as if she had tapped exit.
    idle_minutes: float = 15.0
    # Hard cap on live sessions; the oldest is wiped and forgotten to make room.
    max_sessions: int = 20_000
    # Per chat: more than this many updates within the window get a polite "slow down".
    flood_updates: int = 40
    flood_seconds: float = 10.0
    # After a wipe leave one neutral line ("goodbye") or nothing ("none").
    exit_message: str = "goodbye"
    # Pin the conversation's first (wordless) message, so a typed exit after an unclean restart
    # still finds where her chat starts (docs/quick-exit.md).
    exit_pin: bool = True
    # Every wipe's deleteMessages calls together, per second (bot.pacing), under Telegram's limits
    # (at most 30 against Telegram; more only for a Bot API server without limits, the benchmark).
    wipe_calls_per_second: float = 20.0
    # A wipe still unconfirmed after this long shows her the note (and keeps trying).
    wipe_note_seconds: float = 60.0
    # How long a graceful stop waits for unconfirmed wipes (inside the service's stop timeout).
    shutdown_wipe_seconds: float = 120.0
    report_recipients: str = ""
    # The operator's named opt-in to hybrid and X25519 recipient keys side by side (which costs
    # every report its post-quantum protection): refused otherwise.
    allow_mixed_recipient_keys: bool = False
    vault_path: Path = DEFAULT_VAULT
    retention_days: int = 90
    # Evidence: each file at most this many MB (Telegram lets bots download up to 20 MB).
    max_attachment_mb: int = 10
    # The files all unsent drafts may hold in memory together, downloads under way included.
    evidence_memory_mb: int = 256
    # The report database may grow to this many MB (the disk's free space is checked too).
    vault_max_mb: int = 4096
    # Reports stored per (UTC) day by everyone together; past it, reports wait for tomorrow.
    reports_per_day: int = 300
    # Reports one account may store in any 24 hours: a few accounts cannot spend everyone's day.
    reports_per_account_day: int = 10
    directory_file: Path | None = None
    organisation: str = ""
    log_level: str = "WARNING"
    # The one group the bot stays in: new-report alerts (a count, at most once a period) go there.
    staff_chat_id: int | None = None
    staff_alert_days: int = 1
    staff_chat_language: str = "ru"
    # Webhook mode when set: the public URL Telegram calls (its path is the path served).
    webhook_url: str | None = None
    webhook_listen: Address = DEFAULT_WEBHOOK_LISTEN
    # The secret Telegram sends with every update; a fresh random one per start when unset.
    webhook_secret: str | None = None
    webhook_max_connections: int = 40
    # /healthz and /metrics; off when None. Loopback only unless explicitly allowed.
    metrics_listen: Address | None = None

    @property
    def webhook_path(self) -> str:
        """The path of ``webhook_url``, which the bot serves ("/" when it has none)."""
        return urlsplit(self.webhook_url or "").path or "/"

    def secret_for_this_start(self) -> str:
        """``webhook_secret``, or a fresh random one (43 characters of Telegram's alphabet)."""
        return self.webhook_secret or secrets.token_urlsafe(32)


def _api_base(raw: str) -> str:
    """``BOT_API_BASE`` checked the way the HTTP client will read it, so a malformed one stops
    the bot here, in one line, and not later in a traceback that prints the URL with the token."""
    expected = "BOT_API_BASE must be an http(s) URL such as https://api.telegram.org"
    try:
        parts = urlsplit(raw.strip())
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        raise ConfigError(f"{expected}, got {raw!r}") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or re.search(r"\s", raw.strip())
    ):
        raise ConfigError(f"{expected}, got {raw!r}")
    return raw.strip().rstrip("/")


def _yes_no(env: Mapping[str, str], key: str, *, default: bool = False) -> bool:
    if not env.get(key, "").strip():
        return default
    answer = yes_or_no(env.get(key, ""))
    if answer is None:
        raise ConfigError(f"{key} must be yes or no, got {env[key].strip().lower()!r}")
    return answer


def _number(env: Mapping[str, str], key: str, default: float, low: float, high: float) -> float:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{key} must be between {low:g} and {high:g}, got {raw}")
    return value


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _address(env: Mapping[str, str], key: str, default: Address | None) -> Address | None:
    raw = (env.get(key) or "").strip()
    if not raw:
        return default
    host, sep, port = raw.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ConfigError(f"{key} must be HOST:PORT (like 127.0.0.1:8080), got {raw!r}")
    return host, int(port)


def _webhook_url(env: Mapping[str, str]) -> str | None:
    raw = (env.get("WEBHOOK_URL") or "").strip()
    if not raw:
        return None
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ConfigError(f"WEBHOOK_URL is not a URL: {raw!r}") from None
    host = parts.hostname or ""
    if not host or parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError("WEBHOOK_URL must be a plain https://host/path URL")
    if parts.scheme == "http" and is_loopback(host):
        return raw  # the emulator, or a proxy on this machine
    if parts.scheme != "https":
        raise ConfigError(
            "WEBHOOK_URL must start with https:// (http:// only for a loopback address)"
        )
    return raw


def load_settings(env: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Settings from ``env`` (default: the environment) over ``env_file`` (default ``.env``)."""
    merged = read_env_file(env_file or ENV_FILE)
    merged.update(os.environ if env is None else env)
    token = merged.get("BOT_TOKEN") or None
    if token is not None and not TOKEN_RE.match(token):
        raise ConfigError("BOT_TOKEN does not look like a bot token (digits, colon, letters)")
    base = _api_base(merged.get("BOT_API_BASE") or TELEGRAM_API)
    exit_message = merged.get("EXIT_MESSAGE", "goodbye").strip().lower() or "goodbye"
    if exit_message not in ("goodbye", "none"):
        raise ConfigError(f"EXIT_MESSAGE must be 'goodbye' or 'none', got {exit_message!r}")
    level = merged.get("LOG_LEVEL", "WARNING").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    secret = merged.get("WEBHOOK_SECRET") or None
    if secret is not None and not SECRET_RE.match(secret):
        raise ConfigError(
            "WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)"
        )
    metrics = _address(merged, "METRICS_LISTEN", None)
    forced = _yes_no(merged, "METRICS_ALLOW_NON_LOOPBACK")
    if metrics is not None and not is_loopback(metrics[0]) and not forced:
        raise ConfigError(
            "METRICS_LISTEN must be a loopback address (127.0.0.1:PORT); "
            "set METRICS_ALLOW_NON_LOOPBACK=yes to expose the metrics elsewhere"
        )
    idle_minutes = _number(merged, "IDLE_MINUTES", 15, 1, 24 * 60)
    max_attachment_mb = int(_number(merged, "MAX_ATTACHMENT_MB", 10, 1, 20))
    evidence_memory_mb = int(_number(merged, "EVIDENCE_MEMORY_MB", 256, 1, 1_000_000))
    if evidence_memory_mb < max_attachment_mb:
        raise ConfigError(
            f"EVIDENCE_MEMORY_MB must be at least MAX_ATTACHMENT_MB ({max_attachment_mb}),"
            f" or no file could ever be taken; got {evidence_memory_mb}"
        )
    staff_chat = (merged.get("STAFF_CHAT_ID") or "").strip()
    if staff_chat and not re.fullmatch(r"-\d{1,20}", staff_chat):
        raise ConfigError(
            f"STAFF_CHAT_ID must be a group's id (a negative number), got {staff_chat!r}"
        )
    staff_language = (merged.get("STAFF_CHAT_LANGUAGE") or "ru").strip().lower()
    if staff_language not in ("kk", "ru", "en"):
        raise ConfigError(f"STAFF_CHAT_LANGUAGE must be kk, ru or en, got {staff_language!r}")
    return Settings(
        bot_token=token,
        bot_api_base=base,
        idle_minutes=idle_minutes,
        max_sessions=int(_number(merged, "MAX_SESSIONS", 20_000, 10, 10_000_000)),
        flood_updates=int(_number(merged, "FLOOD_UPDATES", 40, 31, 10_000)),
        flood_seconds=_number(merged, "FLOOD_SECONDS", 10, 1, 3600),
        exit_message=exit_message,
        exit_pin=_yes_no(merged, "EXIT_PIN", default=True),
        wipe_calls_per_second=_number(merged, "WIPE_CALLS_PER_SECOND", 20, 1, 1000),
        wipe_note_seconds=_number(merged, "WIPE_NOTE_SECONDS", 60, 1, 3600),
        shutdown_wipe_seconds=_number(merged, "SHUTDOWN_WIPE_SECONDS", 120, 0, 270),
        report_recipients=merged.get("REPORT_RECIPIENTS", "").strip(),
        allow_mixed_recipient_keys=_yes_no(merged, "ALLOW_MIXED_RECIPIENT_KEYS"),
        vault_path=Path(merged.get("VAULT_PATH") or DEFAULT_VAULT),
        retention_days=int(_number(merged, "RETENTION_DAYS", 90, 1, 3650)),
        max_attachment_mb=max_attachment_mb,
        evidence_memory_mb=evidence_memory_mb,
        vault_max_mb=int(_number(merged, "VAULT_MAX_MB", 4096, 1, 10_000_000)),
        reports_per_day=int(_number(merged, "REPORTS_PER_DAY", 300, 1, 1_000_000)),
        reports_per_account_day=int(_number(merged, "REPORTS_PER_ACCOUNT_DAY", 10, 1, 1_000_000)),
        directory_file=Path(merged["DIRECTORY_FILE"]) if merged.get("DIRECTORY_FILE") else None,
        organisation=merged.get("ORGANISATION", "").strip(),
        log_level=level,
        staff_chat_id=int(staff_chat) if staff_chat else None,
        staff_alert_days=int(_number(merged, "STAFF_ALERT_DAYS", 1, 1, 31)),
        staff_chat_language=staff_language,
        webhook_url=_webhook_url(merged),
        webhook_listen=_address(merged, "WEBHOOK_LISTEN", DEFAULT_WEBHOOK_LISTEN)
        or DEFAULT_WEBHOOK_LISTEN,
        webhook_secret=secret,
        webhook_max_connections=int(_number(merged, "WEBHOOK_MAX_CONNECTIONS", 40, 1, 100)),
        metrics_listen=metrics,
    )
