"""How many reports one account, and everyone together, may store: an hour's and a day's worth.

Her session forgets everything when she exits, so a count kept there let one account send without
end by exiting between reports. The hourly count is kept per account instead, outside the session,
under a name that is not her chat id:

- the key is an HMAC-SHA-256 of the chat id under a random key made when the process starts and
  never written anywhere, so the table cannot be matched to a chat id without the process's
  memory, and a restart forgets it all (nothing of this reaches the disk);
- an entry holds only the times of her reports within the last 24 hours, and goes when they age
  out. They bound her to so many an hour and so many a day: without the day's cap one account,
  sending its hour's worth every hour, could take a quarter of everyone's daily allowance, and a
  handful of accounts all of it.

The table holds one entry per account that stored a report in the last 24 hours, so the daily
allowance bounds it too. The daily allowance is one count for everyone: past it, reports wait for
tomorrow, whoever sends them, so a crowd of accounts cannot fill the vault in a day either.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from datetime import date

HOUR = 3600.0
DAY = 24 * HOUR
REPORTS_PER_HOUR = 3
REPORTS_PER_ACCOUNT_DAY = 10


class AccountQuota:
    """Reports per account within the last hour and the last 24 hours, keyed by a keyed hash
    of the chat id."""

    def __init__(
        self, per_hour: int = REPORTS_PER_HOUR, per_day: int = REPORTS_PER_ACCOUNT_DAY
    ) -> None:
        self.per_hour = per_hour
        self.per_day = per_day
        self._key = secrets.token_bytes(32)
        self._sent: dict[bytes, tuple[float, ...]] = {}

    def _name(self, chat_id: int) -> bytes:
        return hmac.new(self._key, str(chat_id).encode(), hashlib.sha256).digest()

    def recent(self, chat_id: int, now: float, within: float = HOUR) -> tuple[float, ...]:
        """The times of this account's reports within ``within`` seconds before ``now``."""
        self._expire(now)
        return tuple(t for t in self._sent.get(self._name(chat_id), ()) if now - t < within)

    def full(self, chat_id: int, now: float) -> bool:
        """Whether this account has stored its hour's worth of reports."""
        return len(self.recent(chat_id, now)) >= self.per_hour

    def full_for_the_day(self, chat_id: int, now: float) -> bool:
        """Whether this account has stored its 24 hours' worth of reports."""
        return len(self.recent(chat_id, now, DAY)) >= self.per_day

    def minutes_until_next(self, chat_id: int, now: float) -> int:
        """Whole minutes until one more report of hers fits the hour (at least one)."""
        recent = self.recent(chat_id, now)
        return max(1, math.ceil((min(recent, default=now) + HOUR - now) / 60))

    def record(self, chat_id: int, now: float) -> None:
        """Count one report stored for this account at ``now``."""
        name = self._name(chat_id)
        self._sent[name] = (*self._sent.get(name, ()), now)

    def __len__(self) -> int:
        return len(self._sent)

    def _expire(self, now: float) -> None:
        for name, times in list(self._sent.items()):
            kept = tuple(t for t in times if now - t < DAY)
            if not kept:
                del self._sent[name]
            elif kept != times:
                self._sent[name] = kept


class DailyAllowance:
    """Reports stored today by everyone together, against one allowance."""

    def __init__(self, per_day: int) -> None:
        self.per_day = per_day
        self._day: date | None = None
        self.stored = 0

    def take(self, today: date) -> bool:
        """Count one report about to be stored ``today``, if the allowance has room for it.

        Counted before the report is stored, so that reports sealed at the same moment cannot
        together pass the allowance; :meth:`give_back` when it was not stored after all.
        """
        if self._day != today:
            self._day, self.stored = today, 0
        if self.stored >= self.per_day:
            return False
        self.stored += 1
        return True

    def give_back(self, today: date) -> None:
        """Uncount a report :meth:`take` counted that was not stored."""
        if self._day == today and self.stored > 0:
            self.stored -= 1
