"""Opening many sealed envelopes fast: worker processes, one per core, with progress.

At unlock the desk opens every cached report and case event. Each opening is CPU work (an HPKE
decapsulation, an AEAD, JSON), so the rows go to a pool of worker processes in chunks and come
back as plain summaries: the answers and the attachments' names and sizes, not the attachment
bytes (a report's files are decrypted again, in memory, when its page is opened). The workers
hold her key only while the pool lives; it is shut down as soon as the work is done.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from caseworker.desk.cache import CachedEvent, CachedMessage, CachedReport
from storage.envelope import open_envelope
from storage.errors import NotForThisKey, StorageError
from storage.events import CaseEvent, EventId, SignedEvent, author_key, open_event
from storage.followups import MessageId, open_message
from storage.keys import PrivateKey
from storage.report import Attachment, ReportId

CHUNK = 250
_REPORT, _EVENT, _MESSAGE = "report", "event", "message"
# Below this many envelopes a pool costs more to start than it saves.
POOL_THRESHOLD = 1500

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    """An attachment's description, without its bytes."""

    kind: str
    mime: str
    name: str
    size: int


@dataclass(frozen=True, slots=True)
class OpenedReport:
    """What the inbox needs of a decrypted report (in memory only, while unlocked)."""

    id: ReportId
    received_day: str
    expires_day: str
    language: str
    answers: dict[str, str | list[str]]
    attachments: tuple[AttachmentInfo, ...]


@dataclass(frozen=True, slots=True)
class OpenedEvent:
    """A decrypted, signature-checked case event and where it belongs."""

    id: EventId
    report_id: ReportId
    signed: SignedEvent


@dataclass(frozen=True, slots=True)
class OpenedMessage:
    """One of her follow-up messages, decrypted: the day she wrote, her words (attacker-controlled:
    only ever shown escaped) and her files' descriptions."""

    id: MessageId
    report_id: ReportId
    day: str
    language: str
    text: str
    attachments: tuple[AttachmentInfo, ...]


@dataclass(slots=True)
class Opening:
    """The result of opening a set of envelopes: what opened, and how many did not (by reason)."""

    reports: list[OpenedReport]
    events: list[OpenedEvent]
    messages: list[OpenedMessage] = field(default_factory=list)
    not_for_this_key: int = 0
    damaged: int = 0


# --- the worker side (plain tuples cross the process boundary) ---------------------------------

_WORKER_KEY: dict[tuple[str, bytes, bytes | None], PrivateKey] = {}


def _key(kind: str, raw: bytes, signing: bytes | None) -> PrivateKey:
    cached = _WORKER_KEY.get((kind, raw, signing))
    if cached is None:
        _WORKER_KEY.clear()
        cached = PrivateKey(kind=kind, raw=raw, signing=signing)  # type: ignore[arg-type]
        _WORKER_KEY[(kind, raw, signing)] = cached
    return cached


def _failure(error: StorageError) -> str:
    return "foreign" if isinstance(error, NotForThisKey) else "damaged"


def open_report_rows(
    kind: str, raw: bytes, signing: bytes | None, rows: Sequence[tuple[bytes, str, str, bytes]]
) -> list[tuple[Any, ...]]:
    """Open report rows `(id, received_day, expires_day, envelope)` with one key."""
    key = _key(kind, raw, signing)
    out: list[tuple[Any, ...]] = []
    for rid, received, expires, envelope in rows:
        try:
            report = open_envelope(envelope, ReportId(rid), key)
        except StorageError as error:
            out.append(("!", _failure(error)))
            continue
        files = tuple((a.kind, a.mime, a.name, len(a.data)) for a in report.attachments)
        out.append((rid, received, expires, report.language, report.answers, files))
    return out


def open_event_rows(
    kind: str, raw: bytes, signing: bytes | None, rows: Sequence[tuple[bytes, bytes, bytes]]
) -> list[tuple[Any, ...]]:
    """Open case event rows `(event id, report id, envelope)` with one key."""
    key = _key(kind, raw, signing)
    out: list[tuple[Any, ...]] = []
    for eid, rid, envelope in rows:
        try:
            signed = open_event(envelope, EventId(eid), ReportId(rid), key)
        except StorageError as error:
            out.append(("!", _failure(error)))
            continue
        e = signed.event
        out.append((eid, rid, e.kind, dict(e.body), e.day, e.seq, signed.author.text, signed.name))
    return out


def open_message_rows(
    kind: str, raw: bytes, signing: bytes | None, rows: Sequence[tuple[bytes, bytes, bytes]]
) -> list[tuple[Any, ...]]:
    """Open her follow-up message rows `(message id, report id, envelope)` with one key."""
    key = _key(kind, raw, signing)
    out: list[tuple[Any, ...]] = []
    for mid, rid, envelope in rows:
        try:
            message = open_message(envelope, MessageId(mid), ReportId(rid), key)
        except StorageError as error:
            out.append(("!", _failure(error)))
            continue
        words = message.answers.get("message", "")
        files = tuple((a.kind, a.mime, a.name, len(a.data)) for a in message.attachments)
        text = words if isinstance(words, str) else ""
        out.append((mid, rid, message.received_day, message.language, text, files))
    return out


# --- the desk side --------------------------------------------------------------------------------


def _report(row: tuple[Any, ...]) -> OpenedReport:
    rid, received, expires, language, answers, files = row
    return OpenedReport(
        id=ReportId(rid),
        received_day=received,
        expires_day=expires,
        language=language,
        answers=answers,
        attachments=tuple(AttachmentInfo(*f) for f in files),
    )


def _event(row: tuple[Any, ...]) -> OpenedEvent:
    eid, rid, kind, body, day, seq, author, name = row
    event = CaseEvent(kind=kind, body=body, day=day, seq=seq)
    signed = SignedEvent(event, author_key(author), name)
    return OpenedEvent(EventId(eid), ReportId(rid), signed)


def _message(row: tuple[Any, ...]) -> OpenedMessage:
    mid, rid, day, language, text, files = row
    return OpenedMessage(
        id=MessageId(mid),
        report_id=ReportId(rid),
        day=day,
        language=language,
        text=text,
        attachments=tuple(AttachmentInfo(*f) for f in files),
    )


def _warm() -> int:
    return os.getpid()


class Decryptor:
    """A pool of worker processes, started (and warmed) before she unlocks so unlocking pays
    only for the work. `reset` after a lock: the old workers, which saw her key, are ended."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(1, min(os.cpu_count() or 1, 4))
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the workers in the background (no key involved)."""
        if self._pool is None:
            # forkserver: the workers start from a clean process, not a fork of this one (which
            # runs threads: the web server's, SQLite's), and import only what opening needs.
            # They inherit the desk's RLIMIT_CORE=0 (python -m caseworker sets it first thing),
            # so a worker that saw her key never writes a core file either.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["caseworker.desk.decrypt"])
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
            for _ in range(self.workers):
                self._pool.submit(_warm)

    def reset(self) -> None:
        """End the workers (they may hold her key) and start fresh ones."""
        self.stop()
        self.start()

    def stop(self) -> None:
        """End the workers."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def open_all(
        self,
        key: PrivateKey,
        reports: Sequence[CachedReport],
        events: Sequence[CachedEvent],
        progress: Progress | None = None,
        messages: Sequence[CachedMessage] = (),
    ) -> Opening:
        """Open every report, event and follow-up message; `progress(n)` is called with the
        running count."""
        opening = Opening(reports=[], events=[])
        total = len(reports) + len(events) + len(messages)
        key_args = (key.kind, key.raw, key.signing)
        report_chunks = [
            [
                (r.id.value, r.received_day, r.expires_day, r.envelope)
                for r in reports[i : i + CHUNK]
            ]
            for i in range(0, len(reports), CHUNK)
        ]
        event_chunks = [
            [(e.id.value, e.report_id.value, e.envelope) for e in events[i : i + CHUNK]]
            for i in range(0, len(events), CHUNK)
        ]
        message_chunks = [
            [(m.id.value, m.report_id.value, m.envelope) for m in messages[i : i + CHUNK]]
            for i in range(0, len(messages), CHUNK)
        ]
        loop = asyncio.get_running_loop()
        if total >= POOL_THRESHOLD:
            self.start()
        pool: Executor | None = self._pool if total >= POOL_THRESHOLD else None
        jobs = (
            [
                (loop.run_in_executor(pool, open_report_rows, *key_args, chunk), _REPORT)
                for chunk in report_chunks
            ]
            + [
                (loop.run_in_executor(pool, open_event_rows, *key_args, chunk), _EVENT)
                for chunk in event_chunks
            ]
            + [
                (loop.run_in_executor(pool, open_message_rows, *key_args, chunk), _MESSAGE)
                for chunk in message_chunks
            ]
        )
        done = 0
        for job, what in jobs:
            rows = await job
            for row in rows:
                if row[0] == "!":
                    if row[1] == "foreign":
                        opening.not_for_this_key += 1
                    else:
                        opening.damaged += 1
                elif what == _REPORT:
                    opening.reports.append(_report(row))
                elif what == _EVENT:
                    opening.events.append(_event(row))
                else:
                    opening.messages.append(_message(row))
            done += len(rows)
            if progress is not None:
                progress(done)
        return opening


def open_attachments(key: PrivateKey, cached: CachedReport) -> list[Attachment]:
    """A report's attachments with their bytes (for its page; kept in memory only)."""
    return list(open_envelope(cached.envelope, cached.id, key).attachments)


def open_message_attachments(key: PrivateKey, cached: CachedMessage) -> list[Attachment]:
    """The files of one of her follow-up messages, with their bytes (in memory only)."""
    return list(open_message(cached.envelope, cached.id, cached.report_id, key).attachments)
