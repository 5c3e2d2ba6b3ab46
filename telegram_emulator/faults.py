"""Faults injected on cue, so tests can prove the bot survives a misbehaving Telegram.

Usage::

    emu.faults.add("deleteMessages", status=429, retry_after=1, times=2)  # two flood waits
    emu.faults.add("sendMessage", status=502)                              # one Bad Gateway
    emu.faults.add("sendMessage", delay=3.0)                # answer after 3 s (past a 1 s timeout)
    emu.faults.add("sendMessage", drop=True, after=True)    # message sent, response lost
    emu.faults.outage(seconds=2.0)                          # getUpdates fails for 2 s
    emu.faults.outage(calls=3)                              # ... or for the next 3 calls
    emu.faults.add("file", delay=5.0, times=None)           # every file download takes 5 s
    emu.faults.failing("deleteMessages", seconds=30, status=502)       # every call, for 30 s
    emu.faults.failing("deleteMessages", seconds=5, status=429, retry_after=2)
    emu.faults.failing("deleteMessages", seconds=5, drop=True, after=True)  # done, answer lost

Rules are checked in the order they were added; the first live rule whose method matches (names are
case-insensitive; ``method=None`` matches every method; ``"file"`` names file downloads) is
consumed. A rule lives for ``times`` calls, or until ``seconds`` have passed, or both (whichever
ends first); ``times=None`` and no ``seconds`` means until :meth:`FaultPlan.clear`.

What a rule does, in this order: wait ``delay`` seconds; then, if ``after`` is false, fail without
running the method (error ``status`` or a dropped connection); if ``after`` is true, run the method
(its effect stays) and then fail, which models "the message was sent but the answer got lost".
A rule with only ``delay`` runs the method normally after the wait.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

_DESCRIPTIONS = {
    400: "Bad Request",
    403: "Forbidden",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Fault:
    """One injected fault rule (see the module docstring for the semantics)."""

    method: str | None
    status: int | None = None
    retry_after: int | None = None
    description: str | None = None
    delay: float = 0.0
    drop: bool = False
    after: bool = False
    times: int | None = 1
    until: float | None = None  # time.monotonic() deadline
    chat_id: int | None = None  # only calls about this chat (None: any)
    hits: int = 0

    def live(self, now: float) -> bool:
        """Whether the rule can still fire."""
        if self.times is not None and self.hits >= self.times:
            return False
        return self.until is None or now < self.until

    def matches(self, method: str, chat_id: object = None) -> bool:
        """Whether the rule applies to ``method`` (already lower-cased) in ``chat_id``."""
        if self.chat_id is not None and str(self.chat_id) != str(chat_id):
            return False
        return self.method is None or self.method.lower() == method

    def error_body(self) -> dict[str, Any] | None:
        """The JSON error to answer with, or None when the rule does not answer with an error."""
        if self.status is None:
            return None
        if self.status == 429:
            retry = self.retry_after if self.retry_after is not None else 1
            description = self.description or f"Too Many Requests: retry after {retry}"
            return {
                "ok": False,
                "error_code": 429,
                "description": description,
                "parameters": {"retry_after": retry},
            }
        return {
            "ok": False,
            "error_code": self.status,
            "description": self.description or _DESCRIPTIONS.get(self.status, "Error"),
        }


class FaultPlan:
    """The ordered list of fault rules of one emulator."""

    def __init__(self) -> None:
        self._rules: list[Fault] = []

    def add(
        self,
        method: str | None = None,
        *,
        status: int | None = None,
        retry_after: int | None = None,
        description: str | None = None,
        delay: float = 0.0,
        drop: bool = False,
        after: bool = False,
        times: int | None = 1,
        seconds: float | None = None,
        chat_id: int | None = None,
    ) -> Fault:
        """Add a rule; returns it so a test can read ``hits`` afterwards.

        ``chat_id`` limits it to calls about one chat (one user's lost message on a busy bot).

        ``status=429`` answers "Too Many Requests" with ``retry_after`` (aiogram raises
        ``TelegramRetryAfter``); 5xx answers like Telegram's front end (aiogram raises
        ``TelegramServerError``); ``drop=True`` closes the connection without an answer
        (aiogram raises ``TelegramNetworkError``); ``delay`` holds the answer back.
        """
        if status is None and not drop and delay <= 0:
            raise ValueError("a fault needs a status, drop=True or a delay")
        if status is not None and drop:
            raise ValueError("a fault either answers with a status or drops the connection")
        until = None if seconds is None else time.monotonic() + seconds
        rule = Fault(
            method=method,
            status=status,
            retry_after=retry_after,
            description=description,
            delay=delay,
            drop=drop,
            after=after,
            times=times,
            until=until,
            chat_id=chat_id,
        )
        self._rules.append(rule)
        return rule

    def failing(
        self,
        method: str | None,
        *,
        seconds: float,
        status: int | None = None,
        retry_after: int | None = None,
        description: str | None = None,
        delay: float = 0.0,
        drop: bool = False,
        after: bool = False,
    ) -> Fault:
        """Every call of ``method`` misbehaves (as :meth:`add` describes) for ``seconds``."""
        return self.add(
            method,
            status=status,
            retry_after=retry_after,
            description=description,
            delay=delay,
            drop=drop,
            after=after,
            times=None,
            seconds=seconds,
        )

    def outage(
        self, *, seconds: float | None = None, calls: int | None = None, status: int = 502
    ) -> Fault:
        """getUpdates fails with ``status`` for ``seconds`` or for ``calls`` calls."""
        if seconds is None and calls is None:
            raise ValueError("an outage needs seconds or calls")
        return self.add("getUpdates", status=status, times=calls, seconds=seconds)

    def take(self, method: str, chat_id: object = None) -> Fault | None:
        """Consume and return the first live rule for ``method`` (lower-cased) in ``chat_id``."""
        now = time.monotonic()
        for rule in self._rules:
            if rule.matches(method, chat_id) and rule.live(now):
                rule.hits += 1
                return rule
        if self._rules:
            self._rules = [rule for rule in self._rules if rule.live(now)]
        return None

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    @property
    def pending(self) -> list[Fault]:
        """Rules that can still fire."""
        now = time.monotonic()
        return [rule for rule in self._rules if rule.live(now)]
