"""Resilience harness: the real bot against the emulator, with what went wrong kept for asserts.

Like the e2e harness, but it can handle updates as tasks (as production does), give the bot's HTTP
session a short timeout, and it records every error answer the bot received and every
``update failed`` the bot logged, so a test can prove there were none it did not expect.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType

from bot.app import App
from bot.config import Settings
from storage import generate_keypair
from telegram_emulator.client import Emulator, SimUser
from tests.e2e.conftest import Caseworker, FakeClock, running_bot

# Error answers the bot is built to expect and handle (an edit that changes nothing).
EXPECTED_REFUSALS = ("message is not modified",)


@dataclass
class ApiFailure:
    """One error answer (or network failure) the bot met: method, exception type, message."""

    method: str
    kind: str
    message: str


class FailureLog(BaseRequestMiddleware):
    """A request middleware that keeps every failed Bot API call the bot made."""

    def __init__(self) -> None:
        self.failures: list[ApiFailure] = []

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        try:
            return await make_request(bot, method)
        except TelegramAPIError as exc:
            self.failures.append(ApiFailure(method.__api_method__, type(exc).__name__, exc.message))
            raise

    def unexpected(self, also: Iterable[str] = ()) -> list[ApiFailure]:
        """Failures whose message matches none of the expected refusals nor ``also``."""
        allowed = (*EXPECTED_REFUSALS, *also)
        return [f for f in self.failures if not any(a in f.message for a in allowed)]


class Records(logging.Handler):
    """Every log record at WARNING or above, as scrubbed text (never the exception's message)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")

    @property
    def update_failures(self) -> list[str]:
        return [line for line in self.lines if "update failed" in line]


@dataclass
class Rig:
    """A running bot, its emulator, the session clock, and what went wrong so far."""

    emu: Emulator
    app: App
    clock: FakeClock
    api: FailureLog
    logs: Records
    extra: dict[str, Any] = field(default_factory=dict)

    def user(self, **kwargs: Any) -> SimUser:
        return self.emu.user(**kwargs)

    async def settle(self, timeout: float = 10.0, quiet: float = 0.03) -> None:
        await self.emu.settle(timeout=timeout, quiet=quiet)

    def assert_clean(self, also: Iterable[str] = ()) -> None:
        """No emulator bug, no unhandled update, no error answer the bot did not expect."""
        assert self.emu.errors == []
        assert self.logs.update_failures == []
        assert self.api.unexpected(also) == []


@contextlib.asynccontextmanager
async def rig(
    settings: Settings | None = None,
    *,
    handle_as_tasks: bool = False,
    request_timeout: float | None = None,
) -> AsyncIterator[Rig]:
    """The e2e harness's running bot, plus a record of what went wrong (API errors, logs)."""
    records = Records()
    root = logging.getLogger()
    root.addHandler(records)
    try:
        async with running_bot(
            settings, concurrent=handle_as_tasks, request_timeout=request_timeout
        ) as h:
            failures = FailureLog()
            h.app.bot.session.middleware(failures)
            yield Rig(emu=h.emu, app=h.app, clock=h.clock, api=failures, logs=records)
    finally:
        root.removeHandler(records)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: a resilience test that takes seconds (real processes, many users)"
    )


@pytest.fixture
def caseworkers() -> list[Caseworker]:
    """Two caseworkers' key pairs (both hybrid), kept by the test as on their own machines."""
    keys = [generate_keypair("mlkem768x25519"), generate_keypair("mlkem768x25519")]
    return [Caseworker(key=k, public=k.public.text) for k in keys]


@pytest.fixture(autouse=True)
def _info_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


def reporting(tmp_path: Path, caseworkers: list[Caseworker]) -> Settings:
    """Settings with reporting on: a vault in ``tmp_path`` sealed to both caseworkers."""
    return Settings(
        report_recipients=",".join(c.public for c in caseworkers),
        vault_path=tmp_path / "reports.sqlite3",
    )


async def at_menu(r: Rig, lang: str = "en", **user: Any) -> SimUser:
    """A new user who started the bot and chose her language: the main menu is showing."""
    u = r.user(language_code=lang, **user)
    await u.command("/start")
    await r.settle()
    await u.press_index(["kk", "ru", "en"].index(lang))
    await r.settle()
    return u


def texts(user: SimUser) -> list[str]:
    """What she sees from the bot, oldest first."""
    return [m.text or "" for m in user.visible if m.from_bot]
