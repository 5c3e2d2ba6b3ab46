"""The staff API's view of the vault: an index without time, envelopes out, case events and the
audit log in, everything purged with its report, and the bot's guarantees kept while a second
process uses the same file."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from storage_helpers import MARKER, make_report

from storage.events import CaseEvent, EventId, seal_event
from storage.keys import PrivateKey
from storage.report import ReportId
from storage.staff_store import EVENT, EXPORT, FETCH, EventRefused, StaffStore
from storage.vault import Vault

HERE = Path(__file__).parent


class Day:
    """A clock both handles share, moved by the test."""

    def __init__(self, today: date) -> None:
        self.value = today

    def __call__(self) -> date:
        return self.value


def _event(key: PrivateKey, rid: ReportId, text: str = "called back") -> tuple[EventId, bytes]:
    eid = EventId.new()
    event = CaseEvent(kind="note", body={"text": text}, day="2025-03-14", seq=1)
    return eid, seal_event(event, eid, rid, key, [key.public])


async def _filled(tmp_path: Path, key: PrivateKey, day: Day) -> tuple[Path, list[ReportId]]:
    db = tmp_path / "vault.db"
    async with await Vault.open(db, recipients=[key.public], clock=day, retention_days=30) as v:
        ids = []
        for offset in (0, 1, 2):
            day_of = (date(2025, 3, 14) + timedelta(days=offset)).isoformat()
            ids.append(await v.store(make_report(day=day_of)))
    return db, ids


async def test_index_lists_since_a_day_in_id_order_with_sizes(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    day = Day(date(2025, 3, 16))
    db, ids = await _filled(tmp_path, hybrid_key, day)
    async with await StaffStore.open(db, clock=day) as store:
        everything = await store.index(None)
        assert sorted(r.id.value for r in everything.reports) == sorted(i.value for i in ids)
        assert [r.id.value for r in everything.reports] == sorted(i.value for i in ids)
        assert everything.today == "2025-03-16"
        since = await store.index(date(2025, 3, 15))
        assert {r.received_day for r in since.reports} == {"2025-03-15", "2025-03-16"}
        assert all(r.size > 1024 and r.expires_day > r.received_day for r in since.reports)


async def test_fetch_returns_envelopes_and_audits_each_report_once_a_day(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    day = Day(date(2025, 3, 16))
    db, ids = await _filled(tmp_path, hybrid_key, day)
    async with await StaffStore.open(db, clock=day) as store:
        got = await store.fetch_reports([ids[0], ReportId.new()], "AAAA-BBBB")
        assert list(got) == [ids[0]] and got[ids[0]].startswith(b"SRPT")
        await store.fetch_reports([ids[0]], "AAAA-BBBB")
        log = await store.audit_log(None)
        assert [(e.day, e.actor, e.action, e.report_id) for e in log] == [
            ("2025-03-16", "AAAA-BBBB", FETCH, ids[0])
        ]
        assert await store.record([ids[1], ReportId.new()], "CCCC", EXPORT) == 1


async def test_case_events_are_kept_once_and_refused_when_wrong(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    day = Day(date(2025, 3, 16))
    db, ids = await _filled(tmp_path, hybrid_key, day)
    async with await StaffStore.open(db, clock=day) as store:
        eid, envelope = _event(hybrid_key, ids[0])
        assert await store.add_event(eid, ids[0], envelope, "AAAA") is True
        assert await store.add_event(eid, ids[0], envelope, "AAAA") is False  # a retry
        _, other = _event(hybrid_key, ids[0], "something else")
        with pytest.raises(EventRefused, match="conflict"):
            await store.add_event(eid, ids[0], other, "AAAA")
        with pytest.raises(EventRefused, match="no-report"):
            await store.add_event(EventId.new(), ReportId.new(), envelope, "AAAA")
        with pytest.raises(EventRefused, match="malformed"):
            await store.add_event(EventId.new(), ids[0], b"SRPT" + envelope[4:], "AAAA")
        index = await store.index(None)
        assert [(e.id, e.report_id, e.day) for e in index.events] == [(eid, ids[0], "2025-03-16")]
        fetched = await store.fetch_events([eid])
        assert fetched == {eid: (ids[0], envelope)}
        assert {e.action for e in await store.audit_log(None)} == {EVENT}


async def test_events_and_audit_rows_go_with_their_report(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    day = Day(date(2025, 3, 16))
    db, ids = await _filled(tmp_path, hybrid_key, day)
    async with await StaffStore.open(db, clock=day) as store:
        eid, envelope = _event(hybrid_key, ids[0])
        await store.add_event(eid, ids[0], envelope, "AAAA")
        await store.fetch_reports(ids, "AAAA")
    # The bot's daily purge on the first report's expiry day (received 2025-03-14, 30 days).
    async with await Vault.open(db, recipients=[hybrid_key.public], retention_days=30) as vault:
        assert await vault.purge(date(2025, 4, 13)) == 1
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM case_events").fetchone()[0] == 0
    audited = {bytes(r) for (r,) in conn.execute("SELECT report_id FROM staff_audit")}
    assert audited == {ids[1].value, ids[2].value}
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("vault.db"))
    assert envelope not in raw  # secure_delete and the WAL truncation leave no copy


async def test_nothing_in_the_store_is_plaintext(tmp_path: Path, hybrid_key: PrivateKey) -> None:
    day = Day(date(2025, 3, 16))
    db, ids = await _filled(tmp_path, hybrid_key, day)
    async with await StaffStore.open(db, clock=day) as store:
        eid, envelope = _event(hybrid_key, ids[0], "NOTE-MARKER-51c2")
        await store.add_event(eid, ids[0], envelope, "AAAA")
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert MARKER.encode() not in raw and b"NOTE-MARKER-51c2" not in raw


async def test_a_second_process_keeps_the_bots_acknowledgements(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    """The bot (a child process) stores reports while the staff API's store, here, reads, audits
    and adds events on the same file: every acknowledged report is there, whole, and both
    connections commit with synchronous=FULL."""
    db = tmp_path / "vault.db"
    store = await StaffStore.open(db)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "writer_child.py"),
        str(db),
        hybrid_key.public.text,
        "40",
        stdout=asyncio.subprocess.PIPE,
        env={"PYTHONPATH": str(HERE.parent.parent)},
    )
    assert child.stdout is not None
    assert (await child.stdout.readline()).strip() == b"synchronous=2"
    acknowledged: list[ReportId] = []
    events = 0
    while line := (await child.stdout.readline()).strip():
        rid = ReportId(bytes.fromhex(line.decode()))
        acknowledged.append(rid)
        index = await store.index(None)
        assert rid in {r.id for r in index.reports}  # visible to the other process at once
        eid, envelope = _event(hybrid_key, rid)
        events += await store.add_event(eid, rid, envelope, "AAAA")
        await store.fetch_reports([rid], "AAAA")
    assert await child.wait() == 0
    synchronous = await store._one("PRAGMA synchronous", ())
    assert synchronous == (2,)
    await store.close()
    assert len(acknowledged) == 40 and events == 40
    conn = sqlite3.connect(db)
    stored = {bytes(r) for (r,) in conn.execute("SELECT id FROM reports")}
    assert stored == {r.value for r in acknowledged}
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
