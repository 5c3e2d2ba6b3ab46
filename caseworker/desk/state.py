"""The desk's state: locked, unlocking (decrypting, with progress), or unlocked.

The private key and everything decrypted live here, in this process's memory, and only while
unlocked: `lock` drops them (and ends the decryption workers, which saw the key). The cache on
disk holds sealed envelopes only. Every change to a case is a signed, sealed event posted to the
source first, and kept locally only once the source has it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from caseworker import export
from caseworker.desk.cache import Cache, CachedEvent
from caseworker.desk.casebook import Case, Casebook, Filters
from caseworker.desk.decrypt import Decryptor, OpenedEvent, open_message_attachments
from caseworker.desk.source import LocalSource, RemoteSource, Source, SourceError
from caseworker.desk.sync import cached_team, sync
from caseworker.opening import Opened
from flows.catalog import N_
from storage.envelope import open_envelope
from storage.errors import StorageError, WrongPassphrase
from storage.events import FOR_REPORTER, CaseEvent, EventId, SignedEvent, seal_event
from storage.followups import MessageId, seal_for_reporter
from storage.keys import (
    KeyFileInfo,
    Passphrase,
    PrivateKey,
    PublicKey,
    parse_public_key,
    read_private_key_file,
)
from storage.report import Attachment, ReportId
from storage.staff_store import AuditEntry
from storage.vault import StoredReport, utc_today

log = logging.getLogger(__name__)

WRONG_PASSPHRASE = N_("desk.unlock.wrong")
BAD_KEY = N_("desk.unlock.bad_key")
OLD_KEY = N_("desk.unlock.old_key")
UNREACHABLE = N_("desk.error.unreachable")
REFUSED = N_("desk.error.refused")
FAILED = N_("desk.error.failed")
NO_TEAM = N_("desk.error.no_team")
GONE = N_("desk.error.gone")
NO_RECEIPT = N_("desk.error.no_receipt")
ATTACHMENT_CACHE = 3  # reports whose files are held decrypted at once (her last few pages)


class Phase(Enum):
    LOCKED = "locked"
    UNLOCKING = "unlocking"
    UNLOCKED = "unlocked"


class DeskError(Exception):
    """A failure to show her: `msgid` is a desk text."""

    def __init__(self, msgid: str) -> None:
        super().__init__(msgid)
        self.msgid = msgid


def _source_error(error: SourceError) -> DeskError:
    return DeskError(
        {"unreachable": UNREACHABLE, "refused": REFUSED, "missing": GONE}.get(error.reason, FAILED)
    )


@dataclass(frozen=True, slots=True)
class DeskConfig:
    """How this desk was started."""

    key_path: Path
    key_info: KeyFileInfo
    server: str | None = None
    db: Path | None = None
    team_spec: str = ""
    idle_minutes: float = 10.0
    sync_minutes: float = 5.0


@dataclass(slots=True)
class SyncStatus:
    """The last sync, for the page header."""

    running: bool = False
    error: str = ""  # a desk msgid, or ""
    day: str = ""


@dataclass
class Desk:
    """One caseworker's desk."""

    config: DeskConfig
    cache: Cache
    decryptor: Decryptor
    clock: Callable[[], float] = time.monotonic
    today: Callable[[], date] = utc_today
    phase: Phase = Phase.LOCKED
    progress: tuple[int, int] = (0, 0)
    book: Casebook | None = None
    team: list[PublicKey] = field(default_factory=list)
    sync_status: SyncStatus = field(default_factory=SyncStatus)
    last_activity: float = 0.0
    # Her inbox search: words from the reports, so held in memory only and forgotten at lock.
    search: str = ""
    _key: PrivateKey | None = None
    _source: Source | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _files: OrderedDict[ReportId, list[Attachment]] = field(default_factory=OrderedDict)

    @property
    def me(self) -> PublicKey:
        return self.config.key_info.public

    @property
    def my_name(self) -> str:
        return self.config.key_info.name

    def touch(self) -> None:
        """She did something: the idle lock starts counting again."""
        self.last_activity = self.clock()

    # --- unlocking and locking -----------------------------------------------------------------

    async def unlock(self, passphrase: Passphrase) -> None:
        """Check the passphrase (Argon2id, in a thread) and start decrypting. Raises DeskError."""
        if self.phase is not Phase.LOCKED:
            return
        try:
            key = await asyncio.to_thread(read_private_key_file, self.config.key_path, passphrase)
        except WrongPassphrase:
            raise DeskError(WRONG_PASSPHRASE) from None
        except StorageError:
            raise DeskError(BAD_KEY) from None
        if self.config.server is not None and key.signing is None:
            raise DeskError(OLD_KEY)
        self._key = key
        self.phase = Phase.UNLOCKING
        self.touch()
        self._spawn(self._open())

    async def _open(self) -> None:
        assert self._key is not None
        key = self._key
        reports = await asyncio.to_thread(self.cache.reports)
        events = await asyncio.to_thread(self.cache.events)
        messages = await asyncio.to_thread(self.cache.messages)
        self.progress = (0, len(reports) + len(events) + len(messages))

        def advance(done: int) -> None:
            self.progress = (done, self.progress[1])

        opening = await self.decryptor.open_all(key, reports, events, advance, messages)
        book = Casebook(key.public)
        book.seen = await asyncio.to_thread(self.cache.seen)
        book.set_reply_keys(await self._reply_keys())
        book.add_reports(opening.reports)
        book.add_events(opening.events)
        book.add_messages(opening.messages)
        book.not_for_this_key, book.damaged = opening.not_for_this_key, opening.damaged
        book.drop_expired(self.today().isoformat())
        self.team = await asyncio.to_thread(cached_team, self.cache)
        self.book = book
        # The first sync is under way from the moment the inbox can show: a page rendered now
        # says so, and reloads when it ends, instead of showing the cache as if it were all.
        self.sync_status.running = True
        self.phase = Phase.UNLOCKED
        try:
            self._source = await self._make_source(key)
        except SourceError as error:
            self.sync_status.running = False
            self.sync_status.error = _source_error(error).msgid
            return
        self._spawn(self._sync_forever(first_claimed=True))

    async def _reply_keys(self) -> dict[ReportId, PublicKey]:
        """The cached reply keys, parsed (sync kept only well-formed ones)."""
        lines = await asyncio.to_thread(self.cache.reply_keys)
        return {rid: parse_public_key(line) for rid, line in lines.items()}

    async def _make_source(self, key: PrivateKey) -> Source:
        if self.config.server is not None:
            return RemoteSource(self.config.server, key)
        assert self.config.db is not None
        return await LocalSource.open(self.config.db, key, self.config.team_spec)

    def lock(self) -> None:
        """Forget the key and everything decrypted; end the workers that saw the key."""
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        source, self._source = self._source, None
        if source is not None:
            self._spawn_detached(source.close())
        self._key = None
        self.book = None
        self.search = ""
        self._files.clear()
        self.progress = (0, 0)
        self.sync_status = SyncStatus()
        self.phase = Phase.LOCKED
        self.decryptor.reset()

    def idle(self) -> bool:
        """Whether she has been away longer than the idle limit."""
        return self.clock() - self.last_activity > self.config.idle_minutes * 60

    # --- sync ---------------------------------------------------------------------------------

    async def _sync_forever(self, *, first_claimed: bool = False) -> None:
        claimed = first_claimed
        while True:
            await self.sync_now(claimed=claimed)
            claimed = False
            await asyncio.sleep(self.config.sync_minutes * 60)

    async def sync_now(self, *, claimed: bool = False) -> None:
        """Fetch what is new and decrypt it into the casebook (errors go to `sync_status`).

        ``claimed``: the caller already marked the sync as running (the first one, at unlock).
        """
        if self._source is None or self._key is None:
            self.sync_status.running = False
            return
        if self.sync_status.running and not claimed:
            return
        self.sync_status.running = True
        try:
            result = await sync(self._source, self.cache)
            key, book = self._key, self.book
            if key is None or book is None:
                return  # locked meanwhile
            reports = await asyncio.to_thread(self.cache.reports_by_id, result.reports)
            events = await asyncio.to_thread(self.cache.events_by_id, result.events)
            messages = await asyncio.to_thread(self.cache.messages_by_id, result.messages)
            opening = await self.decryptor.open_all(key, reports, events, None, messages)
            book.drop(result.deleted)
            book.set_reply_keys(await self._reply_keys())
            book.add_reports(opening.reports)
            book.add_events(opening.events)
            book.add_messages(opening.messages)
            book.not_for_this_key += opening.not_for_this_key
            book.damaged += opening.damaged
            book.drop_expired(result.today)
            self.team = await asyncio.to_thread(cached_team, self.cache)
            self.sync_status.error = ""
            self.sync_status.day = result.today
        except SourceError as error:
            self.sync_status.error = _source_error(error).msgid
        except Exception as error:  # the answers came from the network
            # Whatever a sync meets, she is told it failed and the next one still runs: a sync
            # that dies takes the periodic sync with it, silently.
            log.error("sync failed: %s", type(error).__name__)
            self.sync_status.error = FAILED
        finally:
            self.sync_status.running = False

    # --- what she does ------------------------------------------------------------------------

    def _unlocked(self) -> tuple[PrivateKey, Casebook, Source]:
        if self._key is None or self.book is None:
            raise DeskError(FAILED)
        if self._source is None:
            raise DeskError(self.sync_status.error or UNREACHABLE)
        return self._key, self.book, self._source

    def recipients(self) -> list[PublicKey]:
        """Everyone a case event is sealed to: the team and herself."""
        team = list(self.team)
        if all(k.key_id != self.me.key_id for k in team):
            team.append(self.me)
        return team

    async def record(self, report_id: ReportId, kind: str, body: dict[str, Any]) -> None:
        """Sign, seal and post one case event; it counts only once the source kept it."""
        key, book, source = self._unlocked()
        case = book.get(report_id)
        if case is None:
            raise DeskError(GONE)
        if not self.team:
            raise DeskError(NO_TEAM)
        try:
            event = CaseEvent(kind=kind, body=body, day=self.today().isoformat(), seq=case.next_seq)
        except StorageError:
            raise DeskError(FAILED) from None
        event_id = EventId.new()
        if kind in FOR_REPORTER:
            # Her reply key too: what the bot shows her when she types her receipt.
            if case.reply_key is None:
                raise DeskError(NO_RECEIPT)
            envelope = await asyncio.to_thread(
                seal_for_reporter,
                event,
                event_id,
                report_id,
                key,
                self.recipients(),
                case.reply_key,
                self.my_name,
            )
        else:
            envelope = await asyncio.to_thread(
                seal_event, event, event_id, report_id, key, self.recipients(), self.my_name
            )
        try:
            await source.post_event(event_id, report_id, envelope)
        except SourceError as error:
            raise _source_error(error) from None
        await asyncio.to_thread(
            self.cache.add_events, [CachedEvent(event_id, report_id, event.day, envelope)]
        )
        book.add_events(
            [OpenedEvent(event_id, report_id, SignedEvent(event, key.public, self.my_name))]
        )

    async def mark_read(self, case: Case) -> None:
        """She opened this case: its messages from the survivor are no longer new (only their
        ids are remembered, in the cache)."""
        _, book, _ = self._unlocked_key_only()
        fresh = [m.id for m in case.messages if m.id not in book.seen]
        if fresh:
            await asyncio.to_thread(self.cache.mark_seen, fresh)
            book.mark_seen(fresh)

    async def message_files(self, report_id: ReportId, message_id: MessageId) -> list[Attachment]:
        """The files of one of her follow-up messages, decrypted in memory (not kept)."""
        key, _, _ = self._unlocked_key_only()
        found = await asyncio.to_thread(self.cache.messages_by_id, [message_id])
        if not found or found[0].report_id != report_id:
            raise DeskError(GONE)
        return await asyncio.to_thread(open_message_attachments, key, found[0])

    async def files(self, report_id: ReportId) -> list[Attachment]:
        """A report's attachments, decrypted in memory (the last few reports' are kept)."""
        key, _, _ = self._unlocked_key_only()
        if report_id in self._files:
            self._files.move_to_end(report_id)
            return self._files[report_id]
        cached = await asyncio.to_thread(self.cache.report, report_id)
        if cached is None:
            raise DeskError(GONE)
        report = await asyncio.to_thread(open_envelope, cached.envelope, cached.id, key)
        if self._key is not key:
            # Locked while the files were opening: hold nothing decrypted for a locked desk.
            raise DeskError(FAILED)
        self._files[report_id] = list(report.attachments)
        while len(self._files) > ATTACHMENT_CACHE:
            self._files.popitem(last=False)
        return self._files[report_id]

    def _unlocked_key_only(self) -> tuple[PrivateKey, Casebook, None]:
        if self._key is None or self.book is None:
            raise DeskError(FAILED)
        return self._key, self.book, None

    async def export(
        self, cases: Sequence[Case], fmt: str, with_attachments: bool, names: dict[str, str]
    ) -> bytes:
        """Record the export in the audit log, then build the file (plaintext: she asked)."""
        key, _, source = self._unlocked()
        ids = [c.id for c in cases]
        if ids:
            try:
                await source.record_export(ids)
            except SourceError as error:
                raise _source_error(error) from None
        rows = await asyncio.to_thread(self.cache.reports_by_id, ids)

        def build() -> bytes:
            opened = [
                Opened(
                    row=StoredReport(r.id, r.received_day, r.expires_day, r.envelope),
                    report=open_envelope(r.envelope, r.id, key),
                )
                for r in rows
            ]
            described = {str(c.id): case_summary(c, names) for c in cases}
            if fmt == "csv":
                flat = {rid: {**d, "tags": "; ".join(d["tags"])} for rid, d in described.items()}
                return export.to_csv(opened, cases=flat)
            return export.to_json(opened, with_attachments=with_attachments, cases=described)

        return await asyncio.to_thread(build)

    async def record_download(self, report_id: ReportId) -> None:
        """Put a download of one of this report's files in the audit log (an export: the file
        leaves the desk unencrypted). Raises DeskError, and then nothing is downloaded."""
        _, _, source = self._unlocked()
        try:
            await source.record_export([report_id])
        except SourceError as error:
            raise _source_error(error) from None

    async def audit(self, days: int = 31) -> list[AuditEntry]:
        """The staff audit log of the last `days` days."""
        _, _, source = self._unlocked()
        try:
            return await source.audit(self.today() - timedelta(days=days))
        except SourceError as error:
            raise _source_error(error) from None

    def selection(self, filters: Filters) -> list[Case]:
        """The cases an export of the current filters takes."""
        _, book, _ = self._unlocked_key_only()
        return book.selection(filters)

    # --- tasks --------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _spawn_detached(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("desk task failed: %s", type(task.exception()).__name__)
            if self.phase is Phase.UNLOCKING:
                self.lock()

    async def close(self) -> None:
        """Lock and let go of everything (the desk is stopping)."""
        self.lock()
        self.decryptor.stop()
        with contextlib.suppress(Exception):
            await asyncio.sleep(0)
        self.cache.close()


def case_summary(case: Case, names: dict[str, str]) -> dict[str, Any]:
    """A case as the export writes it: status, tags, assignee, and its history by day; with a
    receipt, the status she sees and her follow-up messages (words and file names, by day)."""
    summary: dict[str, Any] = {
        "status": case.status,
        "tags": sorted(case.tags),
        "assignee": case.assignee,
        "history": [
            {
                "day": e.day,
                "by": e.author.fingerprint,
                "name": e.name or names.get(e.author.fingerprint, ""),
                "kind": e.kind,
                "body": dict(e.body),
            }
            for e in case.history
        ],
    }
    if case.follow_up:
        summary["reporter_status"] = case.reporter_status
        summary["messages"] = [
            {"day": m.day, "text": m.text, "files": [a.name for a in m.attachments]}
            for m in sorted(case.messages, key=lambda m: (m.day, m.id.value))
        ]
    return summary
