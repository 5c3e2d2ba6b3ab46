"""Follow-up with a receipt: the vault's side (specified in storage/FORMAT.md, "Follow-up").

Beside a report whose writer took a receipt, the vault keeps only the receipt's lookup id and her
reply key's public half (`followups`), and her sealed follow-up messages (`followup_messages`).
The thread she reads is the report's case events of two kinds, `reply` and `reporter_status`,
which the desk seals to her reply key as well as to the team's; every other event (notes, the
internal status) is sealed to the team alone, and she cannot open it. Deleting the report (by her
receipt, or at expiry) deletes all of it in the same statement (the schema's triggers).

The bot uses `Followups` (async, over its `Vault`) and `read_thread`; the desk uses
`seal_for_reporter` and `open_message`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from storage.envelope import CASE_EVENT, FOLLOWUP, open_for, parse, seal_report_as
from storage.errors import StorageError, VaultError, VaultFull
from storage.events import (
    FOR_REPORTER,
    REPLY,
    REPORTER_STATUS,
    CaseEvent,
    EventId,
    open_event,
    seal_event,
)
from storage.keys import PrivateKey, PublicKey, parse_public_key
from storage.receipts import SALT_BYTES, ReceiptKeys, new_salt
from storage.report import Report, ReportId, decode_report
from storage.vault import Vault

SALT_NAME = "receipt_salt"
# Her messages per case: enough for months of back and forth, not a way to fill the vault.
MAX_MESSAGES_PER_CASE = 100
# What she sees until a caseworker sets it.
FIRST_STATUS = "received"


class MessageId(ReportId):
    """A random 128-bit follow-up message id (says nothing about time or order)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Case:
    """A report found by a receipt: its id and her reply key's public half."""

    report_id: ReportId
    reply_key: PublicKey = field(repr=False)


@dataclass(frozen=True, slots=True)
class Reply:
    """A caseworker's reply as she reads it: the day and the words, never who wrote it."""

    day: str
    text: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Thread:
    """What her receipt shows: the status a caseworker chose for her, and the replies in order."""

    status: str
    replies: tuple[Reply, ...]


class Followups:
    """The follow-up tables of a bot's open vault."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._salt: bytes | None = None

    async def salt(self) -> bytes:
        """The installation's receipt salt, created on first use (the first start after schema 3)
        and kept in the vault, so a backup restores the receipts with the reports."""
        if self._salt is None:
            select = "SELECT value FROM installation WHERE name = ?"
            rows = await self.vault.rows(select, (SALT_NAME,))
            if not rows:
                insert = "INSERT OR IGNORE INTO installation (name, value) VALUES (?, ?)"
                await self.vault.write([(insert, (SALT_NAME, new_salt()))])
                rows = await self.vault.rows(select, (SALT_NAME,))
            salt = bytes(rows[0][0])
            if len(salt) != SALT_BYTES:
                raise VaultError("the vault's receipt salt is damaged")
            self._salt = salt
        return self._salt

    async def attach(self, report_id: ReportId, keys: ReceiptKeys) -> None:
        """Keep a receipt's lookup id and public reply key beside a stored report. Raises
        `VaultError` if the report is gone, already has a receipt, or the lookup id is taken
        (then draw another receipt: at 10^16 receipts that is a once-in-never event)."""
        try:
            added = await self.vault.write(
                [
                    (
                        "INSERT INTO followups (report_id, lookup_id, reply_key) "
                        "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM reports WHERE id = ?)",
                        (report_id.value, keys.lookup_id, keys.public.text, report_id.value),
                    )
                ]
            )
        except sqlite3.IntegrityError:
            raise VaultError("this report or this lookup id already has a receipt") from None
        if added != 1:
            raise VaultError("the report is gone")

    async def find(self, lookup_id: bytes) -> Case | None:
        """The live (unexpired) case a lookup id opens, or None."""
        rows = await self.vault.rows(
            "SELECT f.report_id, f.reply_key FROM followups f JOIN reports r ON r.id = f.report_id"
            " WHERE f.lookup_id = ? AND r.expires_day > ?",
            (lookup_id, self.vault.today().isoformat()),
        )
        if not rows:
            return None
        report_id, key = rows[0]
        return Case(ReportId(bytes(report_id)), parse_public_key(str(key)))

    async def case_of(self, report_id: ReportId) -> Case | None:
        """The live case of a report that has a receipt (her session keeps the report id, not
        the lookup id), or None once it was deleted or expired."""
        rows = await self.vault.rows(
            "SELECT f.report_id, f.reply_key FROM followups f JOIN reports r ON r.id = f.report_id"
            " WHERE f.report_id = ? AND r.expires_day > ?",
            (report_id.value, self.vault.today().isoformat()),
        )
        if not rows:
            return None
        return Case(ReportId(bytes(rows[0][0])), parse_public_key(str(rows[0][1])))

    async def events(self, case: Case) -> list[tuple[EventId, bytes]]:
        """Every sealed case event of her report (`read_thread` keeps those she may read)."""
        rows = await self.vault.rows(
            "SELECT id, envelope FROM case_events WHERE report_id = ?", (case.report_id.value,)
        )
        return [(EventId(bytes(eid)), bytes(env)) for eid, env in rows]

    async def add_message(self, case: Case, message: Report) -> MessageId:
        """Seal what she wrote back to every caseworker key and keep it beside her report.
        Returns only after COMMIT. Raises `VaultFull` (reason ``thread`` past the per-case cap)."""
        message_id = MessageId.new()
        envelope = await asyncio.to_thread(
            seal_message, message, message_id, case.report_id, self.vault.recipients
        )
        added = await self.vault.write(
            [
                (
                    "INSERT INTO followup_messages (report_id, id, day, envelope) "
                    "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM reports WHERE id = ?) AND "
                    "(SELECT count(*) FROM followup_messages WHERE report_id = ?) < ?",
                    (
                        case.report_id.value,
                        message_id.value,
                        message.received_day,
                        envelope,
                        case.report_id.value,
                        case.report_id.value,
                        MAX_MESSAGES_PER_CASE,
                    ),
                )
            ],
            size=len(envelope),
        )
        if added != 1:
            raise VaultFull("thread", "this case holds as many messages as it may")
        return message_id

    async def delete(self, case: Case) -> bool:
        """Delete her report and, with it (triggers), its case events, audit rows, receipt and
        messages; the WAL is emptied after. False if it was already gone."""
        deleted = await self.vault.write(
            [("DELETE FROM reports WHERE id = ?", (case.report_id.value,))]
        )
        return deleted == 1


def seal_message(
    message: Report, message_id: MessageId, report_id: ReportId, recipients: Sequence[PublicKey]
) -> bytes:
    """Her follow-up message as an `SRFM` envelope: a report's payload sealed to the team, its
    associated data `message_id || report_id`."""
    return bytes(seal_report_as(FOLLOWUP, message, message_id.value + report_id.value, recipients))


def open_message(
    envelope: bytes, message_id: MessageId, report_id: ReportId, key: PrivateKey
) -> Report:
    """Open one of her follow-up messages with a caseworker key (the desk). Raises as
    `open_envelope` does."""
    return decode_report(open_for(FOLLOWUP, envelope, message_id.value + report_id.value, key))


def seal_for_reporter(
    event: CaseEvent,
    event_id: EventId,
    report_id: ReportId,
    author: PrivateKey,
    team: Sequence[PublicKey],
    reply_key: PublicKey,
    name: str = "",
) -> bytes:
    """A `reply` or `reporter_status` event sealed to the whole team and to her reply key (the
    desk posts it through the staff API like any case event)."""
    if event.kind not in FOR_REPORTER:
        raise VaultError(f"only {sorted(FOR_REPORTER)} events are sealed to the reporter")
    recipients = [k for k in team if k.key_id != reply_key.key_id] + [reply_key]
    return seal_event(event, event_id, report_id, author, recipients, name)


def read_thread(
    events: Iterable[tuple[EventId, bytes]],
    report_id: ReportId,
    key: PrivateKey,
    team: Sequence[PublicKey],
) -> Thread:
    """What she may read of her case: events sealed to her key, of a kind meant for her, signed
    by a key of the team, in (seq, id) order. Anything else is skipped without a word (a damaged
    or foreign event must not stop her reading the rest)."""
    own = key.public.key_id
    signers = {k.fingerprint for k in team if k.can_sign}
    opened = []
    for event_id, envelope in events:
        try:
            if not any(s.key_id == own for s in parse(envelope, CASE_EVENT).stanzas):
                continue  # a note or the internal status: sealed to the team alone
            signed = open_event(envelope, event_id, report_id, key)
        except StorageError:
            continue
        if signed.event.kind in FOR_REPORTER and signed.author.fingerprint in signers:
            opened.append((signed.event.seq, event_id.value, signed.event))
    opened.sort(key=lambda item: (item[0], item[1]))
    status = FIRST_STATUS
    replies = []
    for _, _, event in opened:
        if event.kind == REPORTER_STATUS:
            status = str(event.body["status"])
        elif event.kind == REPLY:
            replies.append(Reply(day=event.day, text=str(event.body["text"])))
    return Thread(status=status, replies=tuple(replies))


__all__ = [
    "FIRST_STATUS",
    "MAX_MESSAGES_PER_CASE",
    "Case",
    "Followups",
    "MessageId",
    "Reply",
    "Thread",
    "open_message",
    "read_thread",
    "seal_for_reporter",
    "seal_message",
]
