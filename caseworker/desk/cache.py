"""The desk's local cache: sealed envelopes only, on the caseworker's own computer.

Reports and case events are kept exactly as the server sent them (sealed), so the cache is as safe
at rest as the vault: opening it needs her key and passphrase. Beside them: the day of the last
sync, the team's public keys, and her choice of language. Nothing decrypted is ever written here.

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

    @_locked
    def counts(self) -> tuple[int, int]:
        """(reports, events) cached."""
        reports = self._conn.execute("SELECT count(*) FROM reports").fetchone()[0]
        events = self._conn.execute("SELECT count(*) FROM events").fetchone()[0]
        return int(reports), int(events)

    @_locked
    def drop_expired(self, today: str) -> int:
        """Forget reports whose retention ended (and their events), as the server purges them;
        then truncate the WAL so no copy lingers. Returns how many reports went."""
        with self._transaction():
            gone = [
                bytes(r)
                for (r,) in self._conn.execute(
                    "SELECT id FROM reports WHERE expires_day <= ?", (today,)
                )
            ]
            self._conn.executemany("DELETE FROM events WHERE report_id = ?", [(g,) for g in gone])
            self._conn.executemany("DELETE FROM reports WHERE id = ?", [(g,) for g in gone])
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
