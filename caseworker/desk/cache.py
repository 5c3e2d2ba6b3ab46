"""The desk's local cache: sealed envelopes only, on the caseworker's own computer.

Reports, case events and the survivors' follow-up messages are kept exactly as the server sent
them (sealed), so the cache is as safe at rest as the vault: opening it needs her key and
passphrase. Beside them: the day of the last sync, the team's public keys, her choice of language,
the public reply key of each report whose writer took a receipt, and the ids of the follow-up
messages this caseworker has opened (ids only: which message is new to her). Nothing decrypted is
ever written here.

One file per key (by its fingerprint) in the user's data folder (``$XDG_DATA_HOME`` or
``~/.local/share``/``safe-report-desk``), owner-only, with the vault's pragmas: secure delete, no
temp files, and the WAL truncated after expired envelopes are dropped.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TypeVar

from storage.events import EventId
from storage.followups import MessageId
from storage.report import ReportId

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    id BLOB PRIMARY KEY CHECK (length(id) = 16),
    received_day TEXT NOT NULL CHECK (date(received_day) IS received_day),
    expires_day TEXT NOT NULL CHECK (date(expires_day) IS expires_day),
    envelope BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id BLOB PRIMARY KEY CHECK (length(id) = 16),
    report_id BLOB NOT NULL CHECK (length(report_id) = 16),
    day TEXT NOT NULL CHECK (date(day) IS day),
    envelope BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
    id BLOB PRIMARY KEY CHECK (length(id) = 16),
    report_id BLOB NOT NULL CHECK (length(report_id) = 16),
    day TEXT NOT NULL CHECK (date(day) IS day),
    envelope BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reply_keys (
    report_id BLOB PRIMARY KEY CHECK (length(report_id) = 16),
    public_key TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seen_messages (
    id BLOB PRIMARY KEY CHECK (length(id) = 16)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""


def default_folder() -> Path:
    """Where caches live unless `--cache` says otherwise."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "safe-report-desk"


@dataclass(frozen=True, slots=True)
class CachedReport:
    """A sealed report as the cache holds it."""

    id: ReportId
    received_day: str
    expires_day: str
    envelope: bytes


@dataclass(frozen=True, slots=True)
class CachedEvent:
    """A sealed case event as the cache holds it."""

    id: EventId
    report_id: ReportId
    day: str
    envelope: bytes


@dataclass(frozen=True, slots=True)
class CachedMessage:
    """One of her sealed follow-up messages as the cache holds it."""

    id: MessageId
    report_id: ReportId
    day: str
    envelope: bytes


def _locked(method: Callable[..., _T]) -> Callable[..., _T]:
    @wraps(method)
    def call(self: Cache, *args: object, **kwargs: object) -> _T:
        with self._lock:
            return method(self, *args, **kwargs)

    return call


class Cache:
    """The local cache file. Synchronous (sqlite3) and locked: the desk calls it from worker
    threads, one call at a time."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "PRAGMA secure_delete = ON",
            "PRAGMA temp_store = MEMORY",
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = FULL",
        ):
            self._conn.execute(pragma)
        self._conn.executescript(_SCHEMA)

    @classmethod
    def for_key(cls, fingerprint: str, folder: Path | None = None) -> Cache:
        """The cache of the key with this fingerprint."""
        return cls((folder or default_folder()) / f"cache-{fingerprint}.sqlite3")

    # --- settings (not secret: a day, public keys, a language) ---------------------------------

    @_locked
    def setting(self, name: str, default: str = "") -> str:
        """A stored setting, or `default`."""
        row = self._conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row else default

    @_locked
    def set_setting(self, name: str, value: str) -> None:
        """Store a setting."""
        self._conn.execute(
            "INSERT INTO settings (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    # --- envelopes ------------------------------------------------------------------------------

    @_locked
    def report_ids(self) -> set[ReportId]:
        """Every cached report's id."""
        return {ReportId(bytes(r)) for (r,) in self._conn.execute("SELECT id FROM reports")}

    @_locked
    def event_ids(self) -> set[EventId]:
        """Every cached event's id."""
        return {EventId(bytes(e)) for (e,) in self._conn.execute("SELECT id FROM events")}

    @_locked
    def add_reports(self, reports: Iterable[CachedReport]) -> None:
        """Keep these sealed reports (one transaction)."""
        with self._transaction():
            self._conn.executemany(
                "INSERT OR REPLACE INTO reports (id, received_day, expires_day, envelope) "
                "VALUES (?, ?, ?, ?)",
                [(r.id.value, r.received_day, r.expires_day, r.envelope) for r in reports],
            )

    @_locked
    def add_events(self, events: Iterable[CachedEvent]) -> None:
        """Keep these sealed case events (one transaction)."""
        with self._transaction():
            self._conn.executemany(
                "INSERT OR IGNORE INTO events (id, report_id, day, envelope) VALUES (?, ?, ?, ?)",
                [(e.id.value, e.report_id.value, e.day, e.envelope) for e in events],
            )

    @_locked
    def reports(self) -> list[CachedReport]:
        """Every cached report."""
        return [
            CachedReport(ReportId(bytes(rid)), str(received), str(expires), bytes(envelope))
            for rid, received, expires, envelope in self._conn.execute(
                "SELECT id, received_day, expires_day, envelope FROM reports"
            )
        ]

    @_locked
    def report(self, report_id: ReportId) -> CachedReport | None:
        """One cached report, or None."""
        row = self._conn.execute(
            "SELECT received_day, expires_day, envelope FROM reports WHERE id = ?",
            (report_id.value,),
        ).fetchone()
        if row is None:
            return None
        return CachedReport(report_id, str(row[0]), str(row[1]), bytes(row[2]))

    @_locked
    def reports_by_id(self, ids: Iterable[ReportId]) -> list[CachedReport]:
        """The cached reports among `ids`."""
        found = []
        for rid in ids:
            row = self._conn.execute(
                "SELECT received_day, expires_day, envelope FROM reports WHERE id = ?", (rid.value,)
            ).fetchone()
            if row is not None:
                found.append(CachedReport(rid, str(row[0]), str(row[1]), bytes(row[2])))
        return found

    @_locked
    def events_by_id(self, ids: Iterable[EventId]) -> list[CachedEvent]:
        """The cached events among `ids`."""
        found = []
        for eid in ids:
            row = self._conn.execute(
                "SELECT report_id, day, envelope FROM events WHERE id = ?", (eid.value,)
            ).fetchone()
            if row is not None:
                found.append(CachedEvent(eid, ReportId(bytes(row[0])), str(row[1]), bytes(row[2])))
        return found

    @_locked
    def events(self) -> list[CachedEvent]:
        """Every cached case event."""
        return [
            CachedEvent(EventId(bytes(eid)), ReportId(bytes(rid)), str(day), bytes(envelope))
            for eid, rid, day, envelope in self._conn.execute(
                "SELECT id, report_id, day, envelope FROM events"
            )
        ]

    # --- follow-up: her messages, the reply keys, which messages she opened ------------------

    @_locked
    def message_ids(self) -> set[MessageId]:
        """Every cached follow-up message's id."""
        return {MessageId(bytes(m)) for (m,) in self._conn.execute("SELECT id FROM messages")}

    @_locked
    def add_messages(self, messages: Iterable[CachedMessage]) -> None:
        """Keep these sealed follow-up messages (one transaction)."""
        with self._transaction():
            self._conn.executemany(
                "INSERT OR IGNORE INTO messages (id, report_id, day, envelope) VALUES (?, ?, ?, ?)",
                [(m.id.value, m.report_id.value, m.day, m.envelope) for m in messages],
            )

    @_locked
    def messages(self) -> list[CachedMessage]:
        """Every cached follow-up message."""
        return [
            CachedMessage(MessageId(bytes(mid)), ReportId(bytes(rid)), str(day), bytes(envelope))
            for mid, rid, day, envelope in self._conn.execute(
                "SELECT id, report_id, day, envelope FROM messages"
            )
        ]

    @_locked
    def messages_by_id(self, ids: Iterable[MessageId]) -> list[CachedMessage]:
        """The cached follow-up messages among `ids` (each read alone: they may carry files)."""
        found = []
        for mid in ids:
            row = self._conn.execute(
                "SELECT report_id, day, envelope FROM messages WHERE id = ?", (mid.value,)
            ).fetchone()
            if row is not None:
                found.append(
                    CachedMessage(mid, ReportId(bytes(row[0])), str(row[1]), bytes(row[2]))
                )
        return found

    @_locked
    def reply_keys(self) -> dict[ReportId, str]:
        """The public reply key (an `srk1-` line) of every cached report that has a receipt."""
        return {
            ReportId(bytes(rid)): str(line)
            for rid, line in self._conn.execute("SELECT report_id, public_key FROM reply_keys")
        }

    @_locked
    def set_reply_keys(self, keys: dict[ReportId, str]) -> None:
        """Replace the reply keys with the index's (every live report's, as the server lists)."""
        with self._transaction():
            self._conn.execute("DELETE FROM reply_keys")
            self._conn.executemany(
                "INSERT INTO reply_keys (report_id, public_key) VALUES (?, ?)",
                [(rid.value, line) for rid, line in keys.items()],
            )

    @_locked
    def seen(self) -> set[MessageId]:
        """The follow-up messages this caseworker has opened."""
        return {MessageId(bytes(m)) for (m,) in self._conn.execute("SELECT id FROM seen_messages")}

    @_locked
    def mark_seen(self, ids: Iterable[MessageId]) -> None:
        """Remember that she opened these messages (ids only)."""
        with self._transaction():
            self._conn.executemany(
                "INSERT OR IGNORE INTO seen_messages (id) VALUES (?)", [(i.value,) for i in ids]
            )

    @_locked
    def drop_reports(self, ids: Iterable[ReportId]) -> int:
        """Forget these reports with everything of theirs (she deleted her case with her
        receipt); then truncate the WAL. Returns how many were cached."""
        with self._transaction():
            gone = self._drop([i.value for i in ids])
        if gone:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return gone

    def _drop(self, ids: list[bytes]) -> int:
        pairs = [(i,) for i in ids]
        mids = [
            (bytes(m),)
            for i in ids
            for (m,) in self._conn.execute("SELECT id FROM messages WHERE report_id = ?", (i,))
        ]
        self._conn.executemany("DELETE FROM seen_messages WHERE id = ?", mids)
        self._conn.executemany("DELETE FROM messages WHERE report_id = ?", pairs)
        self._conn.executemany("DELETE FROM reply_keys WHERE report_id = ?", pairs)
        self._conn.executemany("DELETE FROM events WHERE report_id = ?", pairs)
        before = self._conn.total_changes
        self._conn.executemany("DELETE FROM reports WHERE id = ?", pairs)
        return self._conn.total_changes - before

    @_locked
    def counts(self) -> tuple[int, int]:
        """(reports, events) cached."""
        reports = self._conn.execute("SELECT count(*) FROM reports").fetchone()[0]
        events = self._conn.execute("SELECT count(*) FROM events").fetchone()[0]
        return int(reports), int(events)

    @_locked
    def drop_expired(self, today: str) -> int:
        """Forget reports whose retention ended (and their events, her messages and reply key:
        the whole thread expires with the report), as the server purges them; then truncate the
        WAL so no copy lingers. Returns how many reports went."""
        with self._transaction():
            gone = [
                bytes(r)
                for (r,) in self._conn.execute(
                    "SELECT id FROM reports WHERE expires_day <= ?", (today,)
                )
            ]
            self._drop(gone)
        if gone:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(gone)

    @_locked
    def close(self) -> None:
        """Close the file."""
        self._conn.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
