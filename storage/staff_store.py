"""The vault as the staff API sees it: sealed reports out, sealed case events in, the audit log.

Everything here is ciphertext, ids, days and key fingerprints; nothing is ever decrypted. The
staff API and the desk's `--db` mode both use this class on the same file as the bot, as a second
SQLite connection (WAL lets it read while the bot writes; each write is its own short transaction
committed with `synchronous=FULL` before the caller answers, as the bot's are).

Sync without a cursor that tells time: a caller asks for what was received on or after a day and
gets ids, days, sizes and expiry days, in id order (random), never in arrival order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any

import aiosqlite

from storage.envelope import CASE_EVENT, parse
from storage.errors import StorageError, VaultError
from storage.events import EventId
from storage.followups import MessageId
from storage.report import ReportId
from storage.vault import _CONNECTION_PRAGMAS, Clock, migrate, utc_today

# Audit actions the staff API records. The desk reports its exports itself (signed).
FETCH, EVENT, EXPORT = "fetch", "event", "export"
AUDIT_ACTIONS = (FETCH, EVENT, EXPORT)
# A case event is a small envelope: the longest note, one hybrid stanza per caseworker, padding.
MAX_EVENT_ENVELOPE = 256 * 1024
MAX_BATCH = 500  # ids per fetch or audit call


@dataclass(frozen=True, slots=True)
class IndexedReport:
    """What the index says about a report: no content, no time of day."""

    id: ReportId
    received_day: str
    expires_day: str
    size: int


@dataclass(frozen=True, slots=True)
class IndexedEvent:
    """What the index says about a case event."""

    id: EventId
    report_id: ReportId
    day: str
    size: int


@dataclass(frozen=True, slots=True)
class IndexedMessage:
    """What the index says about one of her follow-up messages (an `SRFM` envelope)."""

    id: MessageId
    report_id: ReportId
    day: str
    size: int


@dataclass(frozen=True, slots=True)
class Index:
    """Reports received, and events recorded, on or after a day; `today` is the store's day, the
    `since` of the next sync (less one day, for the day boundary). `messages`: her follow-up
    messages kept on or after that day; `reply_keys`: the public reply key (an `srk1-` line) of
    every listed report whose writer took a receipt, which replies are sealed to as well."""

    today: str
    reports: list[IndexedReport]
    events: list[IndexedEvent]
    messages: list[IndexedMessage] = field(default_factory=list)
    reply_keys: dict[ReportId, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the staff audit log: on `day`, key `actor` did `action` to `report_id`."""

    day: str
    actor: str
    action: str
    report_id: ReportId


class EventRefused(StorageError):
    """A case event the store will not keep: `reason` is `no-report`, `malformed` or `conflict`."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"case event refused: {reason}")
        self.reason = reason


class StaffStore:
    """Create with `await StaffStore.open(path)`; one per process."""

    def __init__(self, connection: aiosqlite.Connection, clock: Clock) -> None:
        self._conn = connection
        self._clock = clock
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, clock: Clock = utc_today) -> StaffStore:
        """Open (creating or migrating if needed) the vault at `path`."""
        path = Path(path)
        await asyncio.to_thread(migrate, path)
        connection = await aiosqlite.connect(path, isolation_level=None)
        try:
            for pragma in _CONNECTION_PRAGMAS:
                await connection.execute(pragma)
        except BaseException:
            await connection.close()
            raise
        return cls(connection, clock)

    def today(self) -> date:
        """The store's clock (UTC day)."""
        return self._clock()

    async def index(self, since: date | None) -> Index:
        """Reports received and events recorded on or after `since` (everything when None),
        leaving out reports already expired but not yet purged."""
        today = self.today().isoformat()
        first = since.isoformat() if since is not None else "0000-01-01"
        reports = [
            IndexedReport(ReportId(bytes(rid)), str(received), str(expires), int(size))
            for rid, received, expires, size in await self._all(
                "SELECT id, received_day, expires_day, length(envelope) FROM reports "
                "WHERE received_day >= ? AND expires_day > ? ORDER BY id",
                (first, today),
            )
        ]
        events = [
            IndexedEvent(EventId(bytes(eid)), ReportId(bytes(rid)), str(day), int(size))
            for eid, rid, day, size in await self._all(
                "SELECT e.id, e.report_id, e.day, length(e.envelope) FROM case_events e "
                "JOIN reports r ON r.id = e.report_id "
                "WHERE e.day >= ? AND r.expires_day > ? ORDER BY e.id",
                (first, today),
            )
        ]
        messages = [
            IndexedMessage(MessageId(bytes(mid)), ReportId(bytes(rid)), str(day), int(size))
            for mid, rid, day, size in await self._all(
                "SELECT m.id, m.report_id, m.day, length(m.envelope) FROM followup_messages m "
                "JOIN reports r ON r.id = m.report_id "
                "WHERE m.day >= ? AND r.expires_day > ? ORDER BY m.id",
                (first, today),
            )
        ]
        # Every live report's key, not only those received since: a receipt can be taken on a
        # later day than the report's, and a desk seals each reply to the key she holds now.
        reply_keys = {
            ReportId(bytes(rid)): str(key)
            for rid, key in await self._all(
                "SELECT f.report_id, f.reply_key FROM followups f "
                "JOIN reports r ON r.id = f.report_id WHERE r.expires_day > ? ORDER BY f.report_id",
                (today,),
            )
        }
        return Index(
            today=today, reports=reports, events=events, messages=messages, reply_keys=reply_keys
        )

    async def fetch_reports(self, ids: Sequence[ReportId], actor: str) -> dict[ReportId, bytes]:
        """The envelopes of the reports among `ids` that exist; each fetch is audited (once per
        report, key and day)."""
        _check_batch(ids)
        found = {
            ReportId(bytes(rid)): bytes(envelope)
            for rid, envelope in await self._all(
                f"SELECT id, envelope FROM reports WHERE id IN ({_marks(ids)})",  # noqa: S608
                tuple(i.value for i in ids),
            )
        }
        await self._audit(found, actor, FETCH)
        return found

    async def fetch_events(self, ids: Sequence[EventId]) -> dict[EventId, tuple[ReportId, bytes]]:
        """The envelopes (and report ids) of the case events among `ids` that exist."""
        _check_batch(ids)
        rows = await self._all(
            f"SELECT id, report_id, envelope FROM case_events WHERE id IN ({_marks(ids)})",  # noqa: S608
            tuple(i.value for i in ids),
        )
        return {EventId(bytes(e)): (ReportId(bytes(r)), bytes(env)) for e, r, env in rows}

    async def fetch_messages(
        self, ids: Sequence[MessageId], actor: str
    ) -> dict[MessageId, tuple[ReportId, bytes]]:
        """The envelopes (and report ids) of her follow-up messages among `ids` that exist; each
        fetch is audited against its report (once per report, key and day), like a report's."""
        _check_batch(ids)
        rows = await self._all(
            f"SELECT id, report_id, envelope FROM followup_messages WHERE id IN ({_marks(ids)})",  # noqa: S608
            tuple(i.value for i in ids),
        )
        found = {MessageId(bytes(m)): (ReportId(bytes(r)), bytes(env)) for m, r, env in rows}
        await self._audit({rid for rid, _ in found.values()}, actor, FETCH)
        return found

    async def add_event(
        self, event_id: EventId, report_id: ReportId, envelope: bytes, actor: str
    ) -> bool:
        """Keep a sealed case event beside its report; True if new, False if this exact event was
        already kept (a retry). Raises `EventRefused`. Returns only after COMMIT."""
        if len(envelope) > MAX_EVENT_ENVELOPE:
            raise EventRefused("malformed")
        try:
            parse(envelope, CASE_EVENT)  # structure only: the store cannot open it, by design
        except StorageError:
            raise EventRefused("malformed") from None
        day = self.today().isoformat()
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                known = await self._one(
                    "SELECT envelope FROM case_events WHERE id = ?", (event_id.value,)
                )
                if known is not None:
                    await self._conn.execute("COMMIT")
                    if bytes(known[0]) != envelope:
                        raise EventRefused("conflict")
                    return False
                exists = await self._one(
                    "SELECT 1 FROM reports WHERE id = ? AND expires_day > ?",
                    (report_id.value, day),
                )
                if exists is None:
                    await self._conn.execute("COMMIT")
                    raise EventRefused("no-report")
                await self._conn.execute(
                    "INSERT INTO case_events (report_id, id, day, envelope) VALUES (?, ?, ?, ?)",
                    (report_id.value, event_id.value, day, envelope),
                )
                await self._insert_audit([report_id], actor, EVENT, day)
                await self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")
                raise
        return True

    async def record(self, ids: Sequence[ReportId], actor: str, action: str) -> int:
        """Audit `action` (an export the desk reports) on those of `ids` that exist; returns how
        many were recorded."""
        if action not in AUDIT_ACTIONS:
            raise VaultError(f"unknown audit action {action!r}")
        _check_batch(ids)
        existing = [
            ReportId(bytes(rid))
            for (rid,) in await self._all(
                f"SELECT id FROM reports WHERE id IN ({_marks(ids)})",  # noqa: S608
                tuple(i.value for i in ids),
            )
        ]
        await self._audit(existing, actor, action)
        return len(existing)

    async def audit_log(self, since: date | None) -> list[AuditEntry]:
        """The audit log from `since` on (all of it when None), newest day first."""
        first = since.isoformat() if since is not None else "0000-01-01"
        rows = await self._all(
            "SELECT day, actor, action, report_id FROM staff_audit WHERE day >= ? "
            "ORDER BY day DESC, actor, action, report_id",
            (first,),
        )
        return [AuditEntry(str(d), str(a), str(act), ReportId(bytes(r))) for d, a, act, r in rows]

    async def close(self) -> None:
        """Close the connection; every write is already committed."""
        await self._conn.close()

    async def __aenter__(self) -> StaffStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _audit(self, ids: Iterable[ReportId], actor: str, action: str) -> None:
        ids = list(ids)
        if not ids:
            return
        day = self.today().isoformat()
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                await self._insert_audit(ids, actor, action, day)
                await self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")
                raise

    async def _insert_audit(
        self, ids: Iterable[ReportId], actor: str, action: str, day: str
    ) -> None:
        await self._conn.executemany(
            "INSERT OR IGNORE INTO staff_audit (report_id, day, actor, action) VALUES (?, ?, ?, ?)",
            [(i.value, day, actor, action) for i in ids],
        )

    async def _all(self, sql: str, args: tuple[object, ...]) -> list[tuple[Any, ...]]:
        async with self._conn.execute(sql, args) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]

    async def _one(self, sql: str, args: tuple[object, ...]) -> tuple[Any, ...] | None:
        async with self._conn.execute(sql, args) as cursor:
            row = await cursor.fetchone()
        return tuple(row) if row is not None else None


def _marks(ids: Sequence[object]) -> str:
    # Only "?" placeholders are ever formatted into SQL; the ids travel as parameters.
    return ",".join("?" * len(ids))


def _check_batch(ids: Sequence[object]) -> None:
    if not 1 <= len(ids) <= MAX_BATCH:
        raise VaultError(f"give 1 to {MAX_BATCH} ids at a time")
