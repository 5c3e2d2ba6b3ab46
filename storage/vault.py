"""The report database: sealed envelopes, the day of receipt, the day of expiry. Nothing else.

- Plaintext never reaches this module's disk writes: `store` seals in memory, then inserts the
  envelope. No drafts, no temp files (`temp_store=MEMORY`).
- A report is acknowledged only after its transaction committed with `synchronous=FULL`
  (design invariant 7): `store` returns only then, and the bot says "received" only after that.
- Ids are random 128-bit values in a `WITHOUT ROWID` table, so neither ids nor row order say when
  or in which order reports arrived.
- `secure_delete=ON` overwrites deleted envelopes; `purge` then truncates the WAL so no copy of a
  purged envelope lingers in it.
- A report is refused (`VaultFull`) before it is sealed when it would take the vault past its
  byte budget, or leave the disk nearly full: one account must not fill the disk for everyone.
  The last tenth of the budget is kept for small reports (words, small photos), so a flood of
  large files cannot silence the next woman's words.
- The WAL is folded into the database and emptied after every report, so it never holds the order
  in which reports arrived; `tidy` (the bot's sweep) does it again and sets the files' times to
  the start of the day, so they do not date the last report (docs/threat-model.md says what file
  times still tell: the inode change time cannot be set).

The bot uses the async `Vault`; the caseworker console uses the sync `VaultReader` (read-only) and
`purge_file`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiosqlite

from storage.envelope import parse, seal, sealed_size
from storage.errors import ReportNotFound, StorageError, VaultError, VaultFull
from storage.keys import PublicKey
from storage.report import Report, ReportId, id_prefix

DEFAULT_RETENTION_DAYS = 90
# Room on the disk that a report never takes: the host, its logs and SQLite's own work need it.
MIN_FREE_BYTES = 256 * 1024 * 1024
# An envelope up to this size is a small report: the longest story and contact in words, or a
# small photo. Larger ones may fill only LARGE_SHARE of the budget; the rest is kept for these.
SMALL_REPORT_BYTES = 64 * 1024
LARGE_SHARE = 0.9

# Append-only: step N brings `PRAGMA user_version` from N to N + 1. Never edit a released step.
# The CHECKs hold invariant 1 at the lowest level: a day column cannot take a time of day.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE reports (
        id BLOB PRIMARY KEY CHECK (length(id) = 16),
        received_day TEXT NOT NULL CHECK (date(received_day) IS received_day),
        expires_day TEXT NOT NULL CHECK (date(expires_day) IS expires_day),
        envelope BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX reports_by_expiry ON reports (expires_day);
    """,
    # Schema 2, the staff API: case events as opaque envelopes beside their report, and the staff
    # audit log (who, by key fingerprint, did what to which report, on which day). Random ids and
    # days only, as for reports; the trigger purges both with their report, whoever deletes it.
    """
    CREATE TABLE case_events (
        report_id BLOB NOT NULL CHECK (length(report_id) = 16),
        id BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
        day TEXT NOT NULL CHECK (date(day) IS day),
        envelope BLOB NOT NULL,
        PRIMARY KEY (report_id, id)
    ) WITHOUT ROWID;
    CREATE INDEX case_events_by_day ON case_events (day);
    CREATE TABLE staff_audit (
        report_id BLOB NOT NULL CHECK (length(report_id) = 16),
        day TEXT NOT NULL CHECK (date(day) IS day),
        actor TEXT NOT NULL CHECK (length(actor) BETWEEN 1 AND 64),
        action TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 16),
        PRIMARY KEY (report_id, day, actor, action)
    ) WITHOUT ROWID;
    CREATE INDEX staff_audit_by_day ON staff_audit (day);
    CREATE TRIGGER reports_take_their_case_along AFTER DELETE ON reports BEGIN
        DELETE FROM case_events WHERE report_id = old.id;
        DELETE FROM staff_audit WHERE report_id = old.id;
    END;
    """,
    # Schema 3, follow-up with a receipt (storage/followups.py): the installation's receipt salt
    # (written on first open, not here: a migration is plain SQL), the lookup id and reply key
    # kept beside a report whose writer took a receipt, and her sealed follow-up messages. The
    # trigger purges both with their report, as for case events.
    """
    CREATE TABLE installation (
        name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 32),
        value BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE followups (
        report_id BLOB PRIMARY KEY CHECK (length(report_id) = 16),
        lookup_id BLOB NOT NULL UNIQUE CHECK (length(lookup_id) = 32),
        reply_key TEXT NOT NULL CHECK (length(reply_key) BETWEEN 1 AND 4096)
    ) WITHOUT ROWID;
    CREATE TABLE followup_messages (
        report_id BLOB NOT NULL CHECK (length(report_id) = 16),
        id BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
        day TEXT NOT NULL CHECK (date(day) IS day),
        envelope BLOB NOT NULL,
        PRIMARY KEY (report_id, id)
    ) WITHOUT ROWID;
    CREATE INDEX followup_messages_by_day ON followup_messages (day);
    CREATE TRIGGER reports_take_their_followup_along AFTER DELETE ON reports BEGIN
        DELETE FROM followups WHERE report_id = old.id;
        DELETE FROM followup_messages WHERE report_id = old.id;
    END;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_CONNECTION_PRAGMAS = (
    "PRAGMA secure_delete = ON",  # deleted envelopes are overwritten, not left in free pages
    "PRAGMA synchronous = FULL",  # a COMMIT is on disk before store() returns
    "PRAGMA temp_store = MEMORY",  # sorting and temp tables never spill to a temp file
    "PRAGMA trusted_schema = OFF",
)
_INSERT = "INSERT INTO reports (id, received_day, expires_day, envelope) VALUES (?, ?, ?, ?)"
# The expiry day itself is NOT kept: expires_day is the first day on which the report is gone.
_PURGE = "DELETE FROM reports WHERE expires_day <= ?"
_CHECKPOINT = "PRAGMA wal_checkpoint(TRUNCATE)"
# SQLite's files beside the database: their times are set with the database's.
_COMPANIONS = ("-wal", "-shm")

Clock = Callable[[], date]
# Called with "sealed" (before the transaction), "inserted" (inside it, before COMMIT) and
# "committed". Tests use it to kill the process at each point; production passes nothing.
CrashHook = Callable[[str], None]


def utc_today() -> date:
    """Today's date in UTC: the default clock. Only the day is ever used."""
    return datetime.now(UTC).date()


def blur_file_times(path: Path, day: date) -> None:
    """Set the access and modification times of the database and its WAL and shared-memory
    files to the start of ``day`` (UTC): after a write they would give its exact time."""
    start = datetime.combine(day, time(), tzinfo=UTC).timestamp()
    for file in (path, *(path.with_name(path.name + suffix) for suffix in _COMPANIONS)):
        try:
            os.utime(file, (start, start))
        except FileNotFoundError:
            continue  # no WAL yet, or the last connection removed it


def _connect_rw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in _CONNECTION_PRAGMAS:
        conn.execute(pragma)
    return conn


def migrate(path: Path) -> int:
    """Create or upgrade the database at `path` to `SCHEMA_VERSION`; returns the version.

    Each step runs in its own transaction together with its `user_version` bump, so a crash
    leaves the database at a whole step, never between two.
    """
    if not path.exists():
        # Owner-only from the first byte; SQLite gives the -wal and -shm files the same mode.
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    conn = _connect_rw(path)
    try:
        if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
            raise VaultError(f"cannot switch {path} to WAL journaling")
        version = _schema_version(conn, path)
        for number in range(version, SCHEMA_VERSION):
            conn.execute("BEGIN IMMEDIATE")
            try:
                # The bot and the staff API may start together: the other may have taken this
                # step between our first look and our write lock.
                if _schema_version(conn, path) <= number:
                    for statement in _statements(MIGRATIONS[number]):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {number + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return SCHEMA_VERSION
    except sqlite3.DatabaseError as exc:
        raise VaultError(f"{path} is not a usable report database: {exc}") from exc
    finally:
        conn.close()


def _statements(script: str) -> list[str]:
    """Split a migration script into whole statements (a trigger's body holds semicolons)."""
    statements: list[str] = []
    current = ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n;"):
                statements.append(current.strip())
            current = ""
    return statements


def _schema_version(conn: sqlite3.Connection, path: Path) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise VaultError(
            f"{path} has schema version {version}; this software knows up to {SCHEMA_VERSION}"
            " (upgrade it)"
        )
    return version


class Vault:
    """The bot's handle on the report database. Create with `await Vault.open(...)`."""

    def __init__(
        self,
        *,
        connection: aiosqlite.Connection,
        path: Path,
        recipients: Sequence[PublicKey],
        retention_days: int,
        clock: Clock,
        crash_hook: CrashHook | None,
        max_bytes: int | None = None,
    ) -> None:
        if not recipients:
            # A vault without recipients would store reports nobody can ever read.
            raise VaultError("a vault needs at least one recipient key")
        if retention_days < 1:
            raise VaultError("retention_days must be at least 1")
        self._conn = connection
        self.path = path
        self._recipients = tuple(recipients)
        self._retention = timedelta(days=retention_days)
        self._clock = clock
        self._crash_hook = crash_hook
        self._max_bytes = max_bytes
        # One connection, one transaction at a time: concurrent store() calls queue here.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        recipients: Sequence[PublicKey],
        retention_days: int = DEFAULT_RETENTION_DAYS,
        clock: Clock = utc_today,
        crash_hook: CrashHook | None = None,
        max_bytes: int | None = None,
    ) -> Vault:
        """Open (creating or migrating if needed) the vault at `path`. ``max_bytes``: the byte
        budget of the database (None: only the disk's free space limits it)."""
        path = Path(path)
        await asyncio.to_thread(migrate, path)
        connection = await aiosqlite.connect(path, isolation_level=None)
        try:
            for pragma in _CONNECTION_PRAGMAS:
                await connection.execute(pragma)
            return cls(
                connection=connection,
                path=path,
                recipients=recipients,
                retention_days=retention_days,
                clock=clock,
                crash_hook=crash_hook,
                max_bytes=max_bytes,
            )
        except BaseException:
            await connection.close()
            raise

    def today(self) -> date:
        """The vault's clock: use `vault.today().isoformat()` as a new report's received_day."""
        return self._clock()

    @property
    def recipients(self) -> tuple[PublicKey, ...]:
        """The caseworkers' keys every envelope is sealed to."""
        return self._recipients

    async def rows(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only query (storage/followups.py reads its tables with this). Under
        the vault's lock: on this one connection, a statement still open when another task
        commits or checkpoints would make that fail."""
        async with self._lock, self._conn.execute(sql, args) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]

    async def write(
        self, statements: Sequence[tuple[str, tuple[object, ...]]], size: int = 0
    ) -> int:
        """Run `statements` as one durable transaction, after the room check for `size` bytes,
        then empty the WAL (as `store` does). Returns the rows the last statement changed."""
        async with self._lock:
            if size:
                await self._make_room(size)
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                changed = 0
                for sql, args in statements:
                    changed = (await self._conn.execute(sql, args)).rowcount
                await self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute(_CHECKPOINT)
        return changed

    async def store(self, report: Report) -> ReportId:
        """Seal `report` to every recipient and commit it durably. Returns only after COMMIT.

        Raises `VaultFull` (before sealing anything) when there is no room for it.
        """
        report_id = ReportId.new()
        expires = report.day + self._retention
        async with self._lock:
            await self._make_room(sealed_size(report, [r.kind for r in self._recipients]))
            # Sealing is CPU work (and may cover megabytes of attachments): off the event loop,
            # and one at a time (under the lock), so its buffer exists once, not once per sender.
            envelope = await asyncio.to_thread(seal, report, report_id, self._recipients)
            self._checkpoint("sealed")
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                await self._conn.execute(
                    _INSERT,
                    (report_id.value, report.received_day, expires.isoformat(), envelope),
                )
                self._checkpoint("inserted")
                await self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")
                raise
            # Fold the report into the database file and empty the WAL at once: frames left in
            # the WAL would keep the order in which reports arrived until the next checkpoint.
            await self._conn.execute(_CHECKPOINT)
        self._checkpoint("committed")
        return report_id

    async def used_bytes(self) -> int:
        """Bytes the database's pages hold (free pages left by purged reports not counted)."""
        sizes = []
        for pragma in ("page_count", "freelist_count", "page_size"):
            async with self._conn.execute(f"PRAGMA {pragma}") as cursor:
                row = await cursor.fetchone()
            sizes.append(int(row[0]) if row else 0)
        pages, free, page_size = sizes
        return (pages - free) * page_size

    async def _make_room(self, size: int) -> None:
        """Raise `VaultFull` unless a `size`-byte envelope fits the budget and the disk."""
        if self._max_bytes is not None:
            used = await self.used_bytes()
            small = size <= SMALL_REPORT_BYTES
            if used + size > (self._max_bytes if small else self._max_bytes * LARGE_SHARE):
                if small or used + SMALL_REPORT_BYTES > self._max_bytes:
                    raise VaultFull("budget", "the vault's byte budget is spent")
                raise VaultFull("words_only", "only the room kept for small reports is left")
        free = (await asyncio.to_thread(shutil.disk_usage, self.path.parent)).free
        # The envelope goes to the WAL first, then into the database: twice, for a moment.
        if free < 2 * size + MIN_FREE_BYTES:
            raise VaultFull("disk", "the disk is nearly full")

    async def purge(self, today: date | None = None) -> int:
        """Delete every report whose expiry day is today or earlier; returns how many.

        Then truncates the WAL so that the deleted envelopes leave no copy behind in it.
        """
        day = (today or self._clock()).isoformat()
        async with self._lock:
            cursor = await self._conn.execute(_PURGE, (day,))
            deleted = cursor.rowcount
        await self.tidy()
        return deleted

    async def tidy(self) -> None:
        """Fold the WAL into the database, empty it, and set the files' times to the start of
        today: the bot calls this on every sweep, whether or not anything was written, so the
        files look the same after a quiet half-minute as after a report."""
        async with self._lock:
            await self._conn.execute(_CHECKPOINT)
            await asyncio.to_thread(blur_file_times, self.path, self._clock())

    async def count_received(self, first: date, last: date) -> int:
        """How many stored reports were received from day `first` to day `last`, inclusive (the
        staff chat's alert counts with this, never from memory of who reported)."""
        async with self._conn.execute(
            "SELECT count(*) FROM reports WHERE received_day BETWEEN ? AND ?",
            (first.isoformat(), last.isoformat()),
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def count(self) -> int:
        """Number of stored reports (for health checks; says nothing about content)."""
        async with self._conn.execute("SELECT count(*) FROM reports") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def close(self) -> None:
        """Close the connection. Committed reports are already on disk."""
        await self._conn.close()

    async def __aenter__(self) -> Vault:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _checkpoint(self, point: str) -> None:
        if self._crash_hook is not None:
            self._crash_hook(point)


def purge_file(path: Path | str, *, today: date) -> int:
    """Sync purge for the console and cron: delete reports expired on `today`, truncate the WAL."""
    path = Path(path)
    if not path.is_file():
        raise VaultError(f"database not found: {path}")
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise VaultError(f"cannot open {path} for writing: {exc}") from exc
    try:
        for pragma in _CONNECTION_PRAGMAS:
            conn.execute(pragma)
        _require_vault(conn, path)
        deleted = conn.execute(_PURGE, (today.isoformat(),)).rowcount
        conn.execute(_CHECKPOINT)
        blur_file_times(path, today)
        return deleted
    except sqlite3.DatabaseError as exc:
        raise VaultError(f"{path} is not a usable report database: {exc}") from exc
    finally:
        conn.close()


def _require_vault(conn: sqlite3.Connection, path: Path) -> None:
    if _schema_version(conn, path) < 1:
        raise VaultError(f"{path} is not a report vault")


@dataclass(frozen=True, slots=True)
class StoredReport:
    """One row: the id, its two days and the still-sealed envelope."""

    id: ReportId
    received_day: str
    expires_day: str
    envelope: bytes

    @property
    def size_class(self) -> int | None:
        """The padded payload size in bytes, or None when the envelope is structurally damaged."""
        try:
            return parse(self.envelope).padded_size
        except StorageError:
            return None


class VaultReader:
    """Read-only access for the caseworker console (sqlite3, `mode=ro`): works on the live file
    or on a copy, and cannot change either."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise VaultError(f"database not found: {self.path}")
        self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        uri = f"file:{quote(str(self.path))}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True)
            conn.execute("PRAGMA temp_store = MEMORY")
            _require_vault(conn, self.path)
        except sqlite3.DatabaseError as exc:
            raise VaultError(f"{self.path} is not a readable report database: {exc}") from exc
        return conn

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> Iterator[StoredReport]:
        try:
            for rid, received, expires, envelope in self._conn.execute(sql, args):
                yield StoredReport(
                    id=ReportId(bytes(rid)),
                    received_day=str(received),
                    expires_day=str(expires),
                    envelope=bytes(envelope),
                )
        except sqlite3.DatabaseError as exc:
            raise VaultError(f"cannot read {self.path}: {exc}") from exc

    def iter_all(self) -> Iterator[StoredReport]:
        """Every stored report, by day of receipt then id (ids are random, so that is no order)."""
        return self._rows(
            "SELECT id, received_day, expires_day, envelope FROM reports ORDER BY received_day, id"
        )

    def list_rows(self) -> list[StoredReport]:
        """Every stored report as a list (the console's `list`)."""
        return list(self.iter_all())

    def count(self) -> int:
        """How many reports are stored."""
        return int(self._conn.execute("SELECT count(*) FROM reports").fetchone()[0])

    def fetch(self, report_id: ReportId | str) -> StoredReport:
        """One report by id, or by a unique prefix of its hex form (like a short git hash)."""
        if isinstance(report_id, ReportId):
            rows = list(
                self._rows(
                    "SELECT id, received_day, expires_day, envelope FROM reports WHERE id = ?",
                    (report_id.value,),
                )
            )
        else:
            prefix = id_prefix(report_id)
            if len(prefix) < 4:
                raise ReportNotFound("give at least 4 hex digits of the report id")
            rows = list(
                self._rows(
                    "SELECT id, received_day, expires_day, envelope FROM reports "
                    "WHERE hex(id) LIKE ? ORDER BY id",
                    (prefix.upper() + "%",),
                )
            )
        if not rows:
            raise ReportNotFound(f"no report with id {report_id}")
        if len(rows) > 1:
            raise ReportNotFound(f"id {report_id} matches {len(rows)} reports; give more digits")
        return rows[0]

    def close(self) -> None:
        """Close the read-only connection."""
        self._conn.close()

    def __enter__(self) -> VaultReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
