"""Follow-up in the vault: a receipt finds one case and opens only what was sealed to it; her
messages are sealed to the team; deleting by receipt, or expiry, takes the whole thread along."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from storage_helpers import MARKER, make_report

from storage.envelope import seal
from storage.errors import InvalidReport, NotForThisKey, VaultError, VaultFull
from storage.events import CaseEvent, EventId, seal_event
from storage.followups import (
    MAX_MESSAGES_PER_CASE,
    Case,
    Followups,
    open_message,
    read_thread,
    seal_for_reporter,
)
from storage.keys import PrivateKey, generate_keypair
from storage.receipts import Receipt, ReceiptKeys, derive, insecure_receipt_cost, new_receipt
from storage.report import Report, ReportId
from storage.staff_store import StaffStore
from storage.vault import MIGRATIONS, Vault, _statements

DAY = "2025-03-14"
CHEAP = insecure_receipt_cost()


class Clock:
    def __init__(self, today: date) -> None:
        self.value = today

    def __call__(self) -> date:
        return self.value


def _words(text: str) -> Report:
    return Report(language="ru", answers={"message": text}, received_day=DAY)


def _for_her(
    kind: str,
    body: dict[str, object],
    seq: int,
    author: PrivateKey,
    case: Case,
    team: list[PrivateKey],
) -> tuple[EventId, bytes]:
    eid = EventId.new()
    event = CaseEvent(kind=kind, body=body, day=DAY, seq=seq)
    team_keys = [k.public for k in team]
    return eid, seal_for_reporter(event, eid, case.report_id, author, team_keys, case.reply_key)


async def _case(
    vault: Vault, followups: Followups, text: str = MARKER
) -> tuple[Receipt, ReceiptKeys, Case]:
    report_id = await vault.store(make_report(text, day=DAY))
    receipt = new_receipt()
    keys = derive(receipt, await followups.salt(), CHEAP)
    await followups.attach(report_id, keys)
    case = await followups.find(keys.lookup_id)
    assert case is not None and case.report_id == report_id and case.reply_key == keys.public
    return receipt, keys, case


async def _post(db: Path, clock: Clock, report_id: ReportId, eid: EventId, envelope: bytes) -> None:
    async with await StaffStore.open(db, clock=clock) as store:
        assert await store.add_event(eid, report_id, envelope, "AAAA")


async def test_the_salt_is_made_once_per_installation_and_kept(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    salts = []
    for name in ("a.db", "a.db", "b.db"):
        async with await Vault.open(
            tmp_path / name, recipients=[hybrid_key.public], clock=Clock(date(2025, 3, 14))
        ) as vault:
            salts.append(await Followups(vault).salt())
    assert salts[0] == salts[1] != salts[2]
    assert all(len(s) == 32 for s in salts)


async def test_she_reads_the_status_and_replies_meant_for_her_and_nothing_else(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    db, clock = tmp_path / "vault.db", Clock(date(2025, 3, 14))
    team = [hybrid_key, generate_keypair("x25519")]
    async with await Vault.open(db, recipients=[k.public for k in team], clock=clock) as vault:
        followups = Followups(vault)
        _, keys, case = await _case(vault, followups)
        posts = [
            _for_her("reply", {"text": "REPLY-ONE"}, 1, team[0], case, team),
            _for_her("reporter_status", {"status": "reading"}, 2, team[1], case, team),
            _for_her("reply", {"text": "REPLY-TWO"}, 3, team[1], case, team),
        ]
        note_id = EventId.new()
        note = CaseEvent(kind="note", body={"text": "INTERNAL-NOTE"}, day=DAY, seq=4)
        posts.append(
            (note_id, seal_event(note, note_id, case.report_id, team[0], [k.public for k in team]))
        )
        # A reply meant for her but signed by a key outside the team is not shown.
        outsider = generate_keypair("x25519")
        posts.append(_for_her("reply", {"text": "FORGED"}, 5, outsider, case, team))
        for eid, envelope in posts:
            await _post(db, clock, case.report_id, eid, envelope)
        thread = read_thread(
            await followups.events(case), case.report_id, keys.reply_key, vault.recipients
        )
    assert thread.status == "reading"
    assert [r.text for r in thread.replies] == ["REPLY-ONE", "REPLY-TWO"]
    assert all(r.day == DAY for r in thread.replies)


async def test_a_new_case_reads_received_with_no_replies(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    async with await Vault.open(
        tmp_path / "v.db", recipients=[hybrid_key.public], clock=Clock(date(2025, 3, 14))
    ) as vault:
        followups = Followups(vault)
        _, keys, case = await _case(vault, followups)
        thread = read_thread(
            await followups.events(case), case.report_id, keys.reply_key, vault.recipients
        )
    assert thread.status == "received" and thread.replies == ()


async def test_receipt_a_cannot_read_find_or_delete_case_b(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    db, clock = tmp_path / "vault.db", Clock(date(2025, 3, 14))
    team = [hybrid_key]
    async with await Vault.open(db, recipients=[hybrid_key.public], clock=clock) as vault:
        followups = Followups(vault)
        _, keys_a, case_a = await _case(vault, followups, "STORY-A")
        _, keys_b, case_b = await _case(vault, followups, "STORY-B")
        eid, envelope = _for_her("reply", {"text": "FOR-B-ONLY"}, 1, hybrid_key, case_b, team)
        await _post(db, clock, case_b.report_id, eid, envelope)
        # A's key on B's events (as if the bot were tricked into B's report id): nothing opens.
        thread = read_thread(
            await followups.events(case_b), case_b.report_id, keys_a.reply_key, vault.recipients
        )
        assert thread.replies == ()
        # Even moved under A's report id, B's reply fails authentication.
        assert (
            read_thread(
                [(eid, envelope)], case_a.report_id, keys_b.reply_key, vault.recipients
            ).replies
            == ()
        )
        assert (await followups.find(keys_a.lookup_id)) == case_a
        assert await followups.delete(case_a)
        assert await followups.find(keys_a.lookup_id) is None
        assert await followups.find(keys_b.lookup_id) == case_b
        b_thread = read_thread(
            await followups.events(case_b), case_b.report_id, keys_b.reply_key, vault.recipients
        )
        assert [r.text for r in b_thread.replies] == ["FOR-B-ONLY"]


async def test_her_messages_are_sealed_to_the_team_only(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    db = tmp_path / "vault.db"
    async with await Vault.open(
        db, recipients=[hybrid_key.public], clock=Clock(date(2025, 3, 14))
    ) as vault:
        followups = Followups(vault)
        _, keys, case = await _case(vault, followups)
        message_id = await followups.add_message(case, _words("MESSAGE-BACK-77"))
        rows = await vault.rows(
            "SELECT envelope FROM followup_messages WHERE id = ?", (message_id.value,)
        )
        envelope = bytes(rows[0][0])
    opened = open_message(envelope, message_id, case.report_id, hybrid_key)
    assert opened.answers == {"message": "MESSAGE-BACK-77"}
    with pytest.raises(NotForThisKey):
        open_message(envelope, message_id, case.report_id, keys.reply_key)
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"MESSAGE-BACK-77" not in raw and MARKER.encode() not in raw


async def test_a_case_holds_a_bounded_number_of_messages(
    tmp_path: Path, x25519_key: PrivateKey
) -> None:
    async with await Vault.open(
        tmp_path / "v.db", recipients=[x25519_key.public], clock=Clock(date(2025, 3, 14))
    ) as vault:
        followups = Followups(vault)
        _, _, case = await _case(vault, followups)
        for n in range(MAX_MESSAGES_PER_CASE):
            await followups.add_message(case, _words(f"m{n}"))
        with pytest.raises(VaultFull):
            await followups.add_message(case, _words("one too many"))


async def test_deleting_by_receipt_takes_the_whole_thread_and_leaves_no_copy(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    db, clock = tmp_path / "vault.db", Clock(date(2025, 3, 14))
    async with await Vault.open(db, recipients=[hybrid_key.public], clock=clock) as vault:
        followups = Followups(vault)
        _, keys, case = await _case(vault, followups)
        keep = await vault.store(make_report("ANOTHER-WOMANS-REPORT", day=DAY))
        eid, reply = _for_her("reply", {"text": "R"}, 1, hybrid_key, case, [hybrid_key])
        await _post(db, clock, case.report_id, eid, reply)
        await followups.add_message(case, _words("M"))
        message = bytes((await vault.rows("SELECT envelope FROM followup_messages"))[0][0])
        report = bytes(
            (
                await vault.rows(
                    "SELECT envelope FROM reports WHERE id = ?", (case.report_id.value,)
                )
            )[0][0]
        )
        assert await followups.delete(case)
        assert not await followups.delete(case)
    conn = sqlite3.connect(db)
    for table in ("case_events", "followups", "followup_messages", "staff_audit"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    assert [bytes(r) for (r,) in conn.execute("SELECT id FROM reports")] == [keep.value]
    conn.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("vault.db"))
    for envelope in (message, reply, report, keys.lookup_id):
        assert envelope not in raw


async def test_an_expired_report_is_found_by_no_receipt_and_purged_with_its_thread(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    clock = Clock(date(2025, 3, 14))
    async with await Vault.open(
        tmp_path / "v.db", recipients=[hybrid_key.public], clock=clock, retention_days=30
    ) as vault:
        followups = Followups(vault)
        _, keys, case = await _case(vault, followups)
        await followups.add_message(case, _words("M"))
        clock.value = date(2025, 4, 13)
        assert await followups.find(keys.lookup_id) is None
        assert await vault.purge() == 1
        assert await vault.rows("SELECT * FROM followups") == []
        assert await vault.rows("SELECT * FROM followup_messages") == []


async def test_one_receipt_per_report_and_none_for_a_missing_report(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    async with await Vault.open(
        tmp_path / "v.db", recipients=[hybrid_key.public], clock=Clock(date(2025, 3, 14))
    ) as vault:
        followups = Followups(vault)
        _, _, case = await _case(vault, followups)
        salt = await followups.salt()
        with pytest.raises(VaultError):
            await followups.attach(case.report_id, derive(new_receipt(), salt, CHEAP))
        with pytest.raises(VaultError):
            await followups.attach(ReportId.new(), derive(new_receipt(), salt, CHEAP))


async def test_the_staff_store_lists_and_hands_out_her_messages_and_reply_key(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    db, clock = tmp_path / "vault.db", Clock(date(2025, 3, 14))
    async with await Vault.open(db, recipients=[hybrid_key.public], clock=clock) as vault:
        followups = Followups(vault)
        _, keys, case = await _case(vault, followups)
        other = await vault.store(make_report(day=DAY))
        message_id = await followups.add_message(case, _words("M"))
    async with await StaffStore.open(db, clock=clock) as store:
        index = await store.index(None)
        assert index.reply_keys == {case.report_id: keys.public.text}
        assert other not in index.reply_keys
        assert [(m.id, m.report_id, m.day) for m in index.messages] == [
            (message_id, case.report_id, DAY)
        ]
        fetched = await store.fetch_messages([message_id], "AAAA")
        ((report_id, envelope),) = fetched.values()
        assert report_id == case.report_id
        assert open_message(envelope, message_id, report_id, hybrid_key).answers == {"message": "M"}
        assert [(e.action, e.report_id) for e in await store.audit_log(None)] == [
            ("fetch", case.report_id)
        ]


@pytest.mark.parametrize("version", range(1, 3))
async def test_a_vault_from_an_earlier_version_takes_receipts_for_its_old_reports(
    tmp_path: Path, hybrid_key: PrivateKey, version: int
) -> None:
    db = tmp_path / "vault.db"
    conn = sqlite3.connect(db, isolation_level=None)
    for step in MIGRATIONS[:version]:
        for statement in _statements(step):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    old = ReportId.new()
    envelope = seal(make_report(day=DAY), old, [hybrid_key.public])
    conn.execute(
        "INSERT INTO reports VALUES (?, ?, ?, ?)", (old.value, DAY, "2099-01-01", envelope)
    )
    conn.close()
    async with await Vault.open(
        db, recipients=[hybrid_key.public], clock=Clock(date(2025, 3, 14))
    ) as vault:
        followups = Followups(vault)
        keys = derive(new_receipt(), await followups.salt(), CHEAP)
        await followups.attach(old, keys)
        assert (await followups.find(keys.lookup_id)) == Case(old, keys.public)


def test_the_events_she_sees_have_checked_bodies() -> None:
    with pytest.raises(InvalidReport):
        CaseEvent(kind="reporter_status", body={"status": "in_progress"}, day=DAY, seq=1)
    with pytest.raises(InvalidReport):
        CaseEvent(kind="reply", body={"text": ""}, day=DAY, seq=1)
    with pytest.raises(InvalidReport):
        CaseEvent(kind="reply", body={"text": "x", "to": "her"}, day=DAY, seq=1)
    for status in ("received", "reading", "answered", "closed"):
        CaseEvent(kind="reporter_status", body={"status": status}, day=DAY, seq=1)
