"""Start-up checks: one clear line each (the keys: one per key), before the first update.

Called from bot/startup.py. A check that finds the bot cannot work as configured stops the start
with a :class:`~bot.config.ConfigError` (one line, naming what to fix); one that finds a risk the
bot can live with says so and lets it run:

| check | when it fails |
|---|---|
| vault writable | stops: reports could never be stored |
| free space | warns below :data:`LOW_SPACE` on the vault's disk |
| recipient keys | stops on a key that does not parse, or on a mix of kinds not allowed by name |
| clock | stops before :data:`EARLIEST`; warns :data:`MAX_SKEW` off the Bot API server's |
| no webhook (polling) | stops: a webhook set elsewhere would take every update from the poll |
| webhook reachable | warns when Telegram reports an error delivering to it |

The caseworkers' keys are read here, once for the whole process: the report desk seals with
the very list this check logged and judged (bot/startup.py hands it on).

Nothing here is about a user: paths, sizes, key fingerprints, the webhook's host.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramAPIError
from aiohttp import ClientError, ClientTimeout

from bot.config import ConfigError, Settings
from storage import PublicKey, StorageError, load_recipients
from storage.keys import mixed_kinds, require_one_kind

log = logging.getLogger(__name__)

LOW_SPACE = 500 * 1024 * 1024  # bytes free on the vault's disk below which the start warns
EARLIEST = datetime(2025, 1, 1, tzinfo=UTC)  # a clock before this has never been set
MAX_SKEW = 60.0  # seconds between this clock and the Bot API server's
WEBHOOK_SETTLE = 5.0  # seconds to watch Telegram deliver what waited while the bot was down


def passed(line: str) -> str:
    """Log a check that passed."""
    log.warning("check: %s", line)
    return line


def warned(line: str) -> str:
    """Log a check that found a risk the bot can run with."""
    log.warning("check WARNING: %s", line)
    return line


def failed(line: str) -> ConfigError:
    """Log a check that stops the start; raise what this returns."""
    log.error("check FAILED: %s", line)
    return ConfigError(line)


def vault_writable(settings: Settings) -> str:
    """The vault's folder exists (or can be made) and takes a new file."""
    folder = settings.vault_path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise failed(f"vault not writable: {folder}: {exc.strerror}") from None
    if settings.vault_path.exists() and not os.access(settings.vault_path, os.W_OK):
        raise failed(f"vault not writable: {settings.vault_path}")
    return passed(f"vault writable: {settings.vault_path}")


def free_space(settings: Settings) -> str:
    """Room left on the vault's disk."""
    folder = settings.vault_path.parent
    free = shutil.disk_usage(folder if folder.exists() else Path.cwd()).free
    line = f"{free / 1024**3:.1f} GiB free on the vault's disk"
    return warned(f"only {line}") if free < LOW_SPACE else passed(line)


def recipient_keys(settings: Settings) -> list[PublicKey]:
    """The caseworkers' keys, read once: each parses, one kind unless the operator allows the mix
    by name, and each one's fingerprint logged on its own line, for the operator to compare
    with what the caseworker reads aloud. The report desk seals with exactly these keys."""
    try:
        keys = load_recipients(settings.report_recipients)
        require_one_kind(keys, allow_mixed=settings.allow_mixed_recipient_keys)
    except StorageError as exc:
        raise failed(f"REPORT_RECIPIENTS: {exc}") from None
    for number, key in enumerate(keys, start=1):
        passed(f"recipient {number} of {len(keys)}: {key.kind} key, fingerprint {key.fingerprint}")
    if mixed_kinds(keys):
        warned(
            "ALLOW_MIXED_RECIPIENT_KEYS: hybrid and X25519 keys side by side; an X25519 key alone"
            " opens every report, so no report has post-quantum protection"
        )
    elif keys[0].kind == "x25519":
        warned("every recipient key is X25519: reports have no post-quantum protection")
    return keys


def clock_set(now: datetime | None = None) -> str:
    """The clock has been set at all (a report's day and retention depend on it)."""
    now = now or datetime.now(UTC)
    if now < EARLIEST:
        raise failed(f"the clock says {now:%Y-%m-%d}: set it (timedatectl set-ntp true)")
    return passed(f"clock set ({now:%Y-%m-%d} UTC)")


async def clock_skew(bot: Bot, base: str, *, clock: Callable[[], float] = time.time) -> str:
    """This clock against the ``Date`` of the Bot API server's answer to getMe."""
    if not isinstance(bot.session, AiohttpSession):
        return warned("clock not compared: not an HTTP session")
    session = await bot.session.create_session()
    url = f"{base}/bot{bot.token}/getMe"  # never logged: the token is in it
    try:
        sent = clock()
        async with session.get(url, timeout=ClientTimeout(total=10)) as response:
            stamp = response.headers.get("Date")
        received = clock()
    except (ClientError, TimeoutError) as exc:
        return warned(
            f"clock not compared: the Bot API server did not answer ({type(exc).__name__})"
        )
    if not stamp:
        return warned("clock not compared: the Bot API server sent no Date")
    theirs = email.utils.parsedate_to_datetime(stamp).timestamp()
    skew = (sent + received) / 2 - theirs
    if abs(skew) > MAX_SKEW:
        return warned(
            f"this clock is {skew:+.0f} s off the Bot API server's: set up NTP "
            "(timedatectl set-ntp true)"
        )
    return passed(f"clock agrees with the Bot API server's (within {MAX_SKEW:g} s)")


async def no_webhook(bot: Bot) -> str:
    """Polling: no webhook is set, which would take every update from the poll."""
    info = await bot.get_webhook_info()
    if info.url:
        raise failed(
            f"a webhook is set ({_site(info.url)}): stop the bot that serves it, or delete it "
            "with `python -m bot webhook delete`, before polling"
        )
    return passed("no webhook set: polling")


async def webhook_reachable(bot: Bot, url: str, *, settle: float = WEBHOOK_SETTLE) -> str:
    """After setWebhook: Telegram has it, and reports no error delivering to it.

    Telegram tries the webhook only when there is an update, so this watches the updates that
    waited while the bot was down for up to ``settle`` seconds, and reads the last error.
    """
    set_at = time.time()
    deadline = time.monotonic() + settle
    while True:
        try:
            info = await bot.get_webhook_info()
        except TelegramAPIError as exc:
            return warned(f"webhook not checked: getWebhookInfo failed ({exc.message})")
        if info.url != url:
            return warned(f"webhook not as set: Telegram has {_site(info.url) or 'none'}")
        error_at = info.last_error_date.timestamp() if info.last_error_date else 0.0
        if error_at >= set_at - 1 and info.last_error_message:
            return warned(
                f"Telegram cannot deliver to {_site(url)}: {info.last_error_message} "
                "(check the TLS proxy and WEBHOOK_LISTEN)"
            )
        if not info.pending_update_count or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.25)
    waiting = info.pending_update_count
    tail = f"; {waiting} update(s) still waiting" if waiting else ""
    return passed(f"webhook set at {_site(url)}; Telegram reports no delivery error{tail}")


def _site(url: str) -> str:
    """Scheme, host and port of a URL, not its path (which an operator may keep secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


def reporting(settings: Settings) -> list[PublicKey]:
    """The checks reporting needs (keys, vault, disk); the keys, for the report desk."""
    keys = recipient_keys(settings)
    vault_writable(settings)
    free_space(settings)
    return keys
