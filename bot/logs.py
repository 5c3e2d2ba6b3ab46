"""Logging that cannot carry who a user is or what she wrote.

Every record is scrubbed where it is created, so no handler (the operator's, pytest's) ever sees an
unscrubbed one: long numbers (user, chat and message ids), @usernames and bot tokens are replaced,
and an exception keeps its type and its stack but never its message, which may quote user input.

And only our own loggers speak below WARNING (an allow-list): a library's debug lines are written
for its own developers, not for a bot whose every call carries someone's words. aiosqlite at DEBUG
logs each call with its arguments: the INSERT of a report with its id and the whole envelope.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
_NUMBER = re.compile(r"(?<![\w.])-?\d{5,}")
_HANDLE = re.compile(r"@[A-Za-z0-9_]{3,}")

_installed = False
# The loggers that may speak at the operator's LOG_LEVEL; every other one only from WARNING up.
OUR_LOGGERS = ("bot", "flows", "storage", "caseworker", "telegram_emulator")
THIRD_PARTY_LEVEL = logging.WARNING


def scrub(text: str) -> str:
    """``text`` with tokens, long numbers and @handles blanked out."""
    text = _TOKEN.sub("<token>", text)
    text = _NUMBER.sub("<n>", text)
    return _HANDLE.sub("@<user>", text)


def _scrubbing_factory(factory: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = factory(*args, **kwargs)
        if isinstance(record.args, tuple):
            # An exception's text can quote what she typed (aiogram logs a getUpdates decode
            # error with the whole update): only its type may be logged.
            record.args = tuple(
                type(a).__name__ if isinstance(a, BaseException) else a for a in record.args
            )
        try:
            record.msg = scrub(record.getMessage())
        except Exception:  # a malformed log call must not become a crash
            record.msg = scrub(str(record.msg))
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            stack = "".join(traceback.format_tb(exc.__traceback__))
            record.exc_text = scrub(f"Traceback (message withheld):\n{stack}{type(exc).__name__}")
            record.exc_info = None
        return record

    return make


def install_scrubbing() -> None:
    """Scrub every log record this process creates from now on (idempotent)."""
    global _installed
    if not _installed:
        logging.setLogRecordFactory(_scrubbing_factory(logging.getLogRecordFactory()))
        _installed = True


def is_ours(name: str) -> bool:
    """Whether logger ``name`` belongs to this project (see :data:`OUR_LOGGERS`)."""
    return name.split(".", 1)[0] in OUR_LOGGERS


class AllowList(logging.Filter):
    """A handler filter: our records from ``level``, everyone else's from WARNING only.

    The logger levels set in :func:`configure_logging` already keep a library's debug records
    from being made at all (cheaper: aiosqlite's would format a whole envelope); this catches a
    library that sets its own logger's level.
    """

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        floor = self.level if is_ours(record.name) else max(self.level, THIRD_PARTY_LEVEL)
        return record.levelno >= floor


def configure_logging(level: str) -> None:
    """Plain lines on stderr, no timestamps: a log line must not tell when someone wrote.

    Our loggers at ``level``; every other logger (aiogram, aiohttp, aiosqlite, asyncio, ...) at
    WARNING or above only. aiogram, for one, logs every handled update at INFO: a record of
    someone's action and its time.
    """
    install_scrubbing()
    number = logging.getLevelName(level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(AllowList(number))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(number, THIRD_PARTY_LEVEL))
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(number)
    # Whatever escapes every handler is logged like the rest, never printed raw: Python's own
    # traceback printer would show the exception's message (a URL with the token, her words).
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda hook: _log_uncaught(
        hook.exc_type, hook.exc_value, hook.exc_traceback
    )


def _log_uncaught(
    kind: type[BaseException],
    exc: BaseException | None,
    tb: TracebackType | None,
) -> None:
    if exc is not None and exc.__traceback__ is None:
        exc = exc.with_traceback(tb)
    logging.getLogger("bot").critical("uncaught %s", kind.__name__, exc_info=exc)
