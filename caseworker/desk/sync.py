"""One sync: ask the source what exists since the last sync day, fetch what the cache lacks.

The cursor is a day, never a sequence number or a time: the desk asks for reports received (and
events recorded) on or after the day before its last sync, diffs the ids against its cache, and
fetches the missing envelopes in batches bounded by count and by size. Reports past their expiry
day leave the cache as they leave the server.

Follow-up: the index also lists her messages (fetched like events, within the server's size
budget) and the reply key of every live report that has a receipt. A report whose key the cache
held and the index no longer lists was deleted by her with her receipt (or purged): the desk
forgets it with its whole thread, as the server did.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from caseworker.desk.cache import Cache, CachedEvent, CachedMessage, CachedReport
from caseworker.desk.source import Source, SourceError
from storage.errors import StorageError
from storage.events import EventId
from storage.followups import MessageId
from storage.keys import PublicKey, parse_public_key
from storage.report import ReportId
from storage.staff_store import MAX_BATCH, Index, IndexedReport

LAST_SYNC = "last_sync_day"
TEAM = "team"
# One fetch asks for at most this many bytes of envelopes (the server also caps its answer).
BATCH_BYTES = 8 * 1024 * 1024


@dataclass(slots=True)
class SyncResult:
    """What one sync brought: new report, event and message ids, how many expired reports went,
    and the reports she deleted with her receipt."""

    reports: list[ReportId] = field(default_factory=list)
    events: list[EventId] = field(default_factory=list)
    messages: list[MessageId] = field(default_factory=list)
    deleted: list[ReportId] = field(default_factory=list)
    dropped: int = 0
    today: str = ""


def batches(reports: list[IndexedReport], count: int, size: int) -> Iterator[list[IndexedReport]]:
    """Split by count and by total size; a report bigger than `size` goes alone."""
    batch: list[IndexedReport] = []
    spent = 0
    for report in reports:
        if batch and (len(batch) >= count or spent + report.size > size):
            yield batch
            batch, spent = [], 0
        batch.append(report)
        spent += report.size
    if batch:
        yield batch


def cached_team(cache: Cache) -> list[PublicKey]:
    """The team's public keys as last synced (events are sealed to all of them)."""
    lines = json.loads(cache.setting(TEAM, "[]"))
    return [parse_public_key(line) for line in lines]


async def sync(source: Source, cache: Cache, *, full: bool = False) -> SyncResult:
    """Bring the cache up to date with `source`; returns what is new."""
    team = await source.team()
    await asyncio.to_thread(cache.set_setting, TEAM, json.dumps([k.text for k in team]))
    last = await asyncio.to_thread(cache.setting, LAST_SYNC)
    since = None if full or not last else date.fromisoformat(last) - timedelta(days=1)
    index = await source.index(since)
    result = SyncResult(today=index.today)
    have_reports = await asyncio.to_thread(cache.report_ids)
    wanted = deque(r for r in index.reports if r.id not in have_reports)
    known = {r.id: r for r in index.reports}
    while wanted:
        batch = next(batches(list(wanted), MAX_BATCH, BATCH_BYTES))
        for _ in batch:
            wanted.popleft()
        fetched = await source.fetch([r.id for r in batch], [])
        rows = [
            CachedReport(rid, known[rid].received_day, known[rid].expires_day, envelope)
            for rid, envelope in fetched.reports.items()
            if rid in known
        ]
        if not rows and fetched.deferred:
            # Deferring everything and sending nothing (an honest answer always sends one):
            # asking again would loop for ever.
            raise SourceError("failed", "a fetch deferred everything")
        await asyncio.to_thread(cache.add_reports, rows)
        result.reports.extend(r.id for r in rows)
        wanted.extendleft(known[r] for r in fetched.deferred if r in known)
    have_events = await asyncio.to_thread(cache.event_ids)
    missing = [e for e in index.events if e.id not in have_events]
    for start in range(0, len(missing), MAX_BATCH):
        ids = [e.id for e in missing[start : start + MAX_BATCH]]
        fetched = await source.fetch([], ids)
        days = {e.id: e.day for e in missing}
        events = [
            CachedEvent(eid, rid, days[eid], envelope)
            for eid, (rid, envelope) in fetched.events.items()
            if eid in days
        ]
        await asyncio.to_thread(cache.add_events, events)
        result.events.extend(e.id for e in events)
    result.messages = await _sync_messages(source, cache, index)
    result.deleted = await _sync_reply_keys(cache, index)
    result.dropped = await asyncio.to_thread(cache.drop_expired, index.today)
    await asyncio.to_thread(cache.set_setting, LAST_SYNC, index.today)
    return result


async def _sync_messages(source: Source, cache: Cache, index: Index) -> list[MessageId]:
    """Fetch her follow-up messages the cache lacks (they may carry files: the server defers
    what does not fit one answer, and the loop asks again)."""
    have = await asyncio.to_thread(cache.message_ids)
    days = {m.id: m.day for m in index.messages}
    wanted = deque(m.id for m in index.messages if m.id not in have)
    got: list[MessageId] = []
    while wanted:
        ids = [wanted.popleft() for _ in range(min(MAX_BATCH, len(wanted)))]
        fetched = await source.fetch([], [], ids)
        rows = [
            CachedMessage(mid, rid, days[mid], envelope)
            for mid, (rid, envelope) in fetched.messages.items()
            if mid in days
        ]
        await asyncio.to_thread(cache.add_messages, rows)
        got.extend(m.id for m in rows)
        again = [m for m in fetched.deferred_messages if m in days and m not in got]
        if again and not rows:
            break  # the server sent nothing and deferred all: stop rather than loop
        wanted.extendleft(reversed(again))
    return got


async def _sync_reply_keys(cache: Cache, index: Index) -> list[ReportId]:
    """Keep the index's reply keys (well-formed ones); forget the cached reports whose key it no
    longer lists (she deleted her case). Returns those reports' ids."""
    keys: dict[ReportId, str] = {}
    for rid, line in index.reply_keys.items():
        try:
            parse_public_key(line)
        except StorageError:
            continue  # a key the desk cannot seal to: that case shows no reply form
        keys[rid] = line
    before = await asyncio.to_thread(cache.reply_keys)
    gone = [rid for rid in before if rid not in index.reply_keys]
    await asyncio.to_thread(cache.set_reply_keys, keys)
    if gone:
        await asyncio.to_thread(cache.drop_reports, gone)
    return gone
