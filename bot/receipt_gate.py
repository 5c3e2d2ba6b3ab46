"""Who may check a receipt, and when: limits on wrong receipts, and Argon2id off the event loop.

- **Wrong receipts per conversation**: a few an hour. Counted under a keyed hash of the chat id
  (a key made at start, never stored), in memory only, and kept after she exits: an exit must not
  reset the count for someone guessing.
- **Wrong receipts for everyone**: a cap an hour, so many accounts guessing together get no
  further than the cap allows. Past it, every check waits for the hour to pass (the price: a
  flood of guesses also pauses honest checks; docs/threat-model.md says so).
- **Derivations at once**: Argon2id takes ~64 MiB and a tenth of a second of one core. A few run
  at a time in the gate's own worker threads (cryptography releases the GIL while hashing), by
  default one core fewer than the machine has; a bounded number wait, and past that she is asked
  to try again in a minute. The workers run at the lowest CPU priority (Linux sets a thread's
  nice value on its own): when the machine is busy, the event loop that answers everyone else
  goes first, and a receipt waits a little longer instead (bench/receipts.py measures both).

Every refusal is a kind notice that says nothing about whether any receipt exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flows.catalog import N_
from storage.receipts import RECEIPT_COST, Receipt, ReceiptCost, ReceiptKeys, derive

Clock = Callable[[], float]

HOUR = 3600.0
WRONG_PER_CHAT = 5
WRONG_PER_HOUR = 1000
# Chats whose wrong tries are remembered: past this, the oldest are forgotten first.
REMEMBERED_CHATS = 50_000
MAX_WAITING = 32

TOO_MANY = N_("followup.code.limit")
PAUSED = N_("followup.code.paused")
BUSY = N_("followup.code.busy")


LOWEST_PRIORITY = 19


def _lowest_priority() -> None:
    """Run this worker thread at nice 19 (a no-op where the system does not allow it)."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWEST_PRIORITY)


def default_workers() -> int:
    """Derivations at once: one core fewer than the machine has, at least one."""
    return max(1, (os.cpu_count() or 2) - 1)


class GateBusy(Exception):
    """Too many derivations wait already: she is asked to try again in a minute."""


class ReceiptGate:
    """The limits and the derivation pool of one bot."""

    def __init__(
        self,
        *,
        cost: ReceiptCost = RECEIPT_COST,
        workers: int | None = None,
        per_chat: int = WRONG_PER_CHAT,
        per_hour: int = WRONG_PER_HOUR,
        max_waiting: int = MAX_WAITING,
        clock: Clock = time.monotonic,
    ) -> None:
        self.cost = cost
        self.workers = workers or default_workers()
        self.per_chat = per_chat
        self.per_hour = per_hour
        self.max_waiting = max_waiting
        self.clock = clock
        self._key = secrets.token_bytes(32)
        self._pool = ThreadPoolExecutor(
            self.workers, thread_name_prefix="receipt", initializer=_lowest_priority
        )
        self._waiting = 0
        self._wrong_by_chat: OrderedDict[bytes, list[float]] = OrderedDict()
        self._wrong_all: deque[float] = deque()

    def refusal(self, chat_id: int) -> str | None:
        """The notice (a msgid) that refuses a check now, or None when she may try."""
        now = self.clock()
        while self._wrong_all and now - self._wrong_all[0] >= HOUR:
            self._wrong_all.popleft()
        if len(self._recent(self._tag(chat_id), now)) >= self.per_chat:
            return TOO_MANY
        if len(self._wrong_all) >= self.per_hour:
            return PAUSED
        return None

    def wrong(self, chat_id: int) -> None:
        """Count one wrong receipt from this chat (and for everyone)."""
        now = self.clock()
        tag = self._tag(chat_id)
        self._wrong_by_chat[tag] = [*self._recent(tag, now), now]
        self._wrong_by_chat.move_to_end(tag)
        while len(self._wrong_by_chat) > REMEMBERED_CHATS:
            self._wrong_by_chat.popitem(last=False)
        self._wrong_all.append(now)

    async def derive(self, receipt: Receipt, salt: bytes) -> ReceiptKeys:
        """Argon2id in a worker thread, a few at a time. Raises `GateBusy` when too many wait."""
        if self._waiting >= self.max_waiting:
            raise GateBusy
        self._waiting += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, derive, receipt, salt, self.cost)
        finally:
            self._waiting -= 1

    def _tag(self, chat_id: int) -> bytes:
        # Not the chat id itself: after she exits, nothing in memory says which chat guessed.
        return hmac.new(self._key, str(chat_id).encode(), hashlib.sha256).digest()[:16]

    def _recent(self, tag: bytes, now: float) -> list[float]:
        times = [t for t in self._wrong_by_chat.get(tag, ()) if now - t < HOUR]
        if not times:
            self._wrong_by_chat.pop(tag, None)
        return times
