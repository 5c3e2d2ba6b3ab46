"""Shared by the follow-up tests: a report with a receipt, and replies posted as the desk would."""

from __future__ import annotations

import re
from pathlib import Path

from storage.events import CaseEvent, EventId
from storage.followups import MessageId, open_message, seal_for_reporter
from storage.keys import PrivateKey, parse_public_key
from storage.report import ReportId
from storage.staff_store import StaffStore
from storage.vault import utc_today
from telegram_emulator.client import SimUser
from tests.e2e.conftest import Harness, bot_texts, tap
from tests.resilience.flows import AFTER_STORY, BEFORE_STORY, SEND

CODE = re.compile(r"\d{4} \d{4} \d{4} \d{4}")
TAKE = "🔑 Get a code for replies"
HAVE = "🔑 I have a code"


async def report_with_receipt(harness: Harness, user: SimUser, story: str) -> str:
    """From the main menu: a short report carrying ``story``, sent, and a receipt taken. Returns
    the receipt as she saw it."""
    for label in BEFORE_STORY:
        await tap(harness, user, label)
    await user.send(story)
    await harness.settle()
    for label in (*AFTER_STORY, SEND):
        await tap(harness, user, label)
    assert bot_texts(user)[-1].startswith("Thank you")
    await tap(harness, user, TAKE)
    shown = bot_texts(user)[-1]
    found = CODE.search(shown)
    assert found is not None, shown
    return found.group(0)


async def reply_as_desk(
    db: Path, author: PrivateKey, team: list[PrivateKey], events: list[tuple[str, dict[str, str]]]
) -> dict[ReportId, str]:
    """What the desk does: read the reply keys from the index, then seal each event to the team
    and to her key and keep it through the staff store. Returns the reply keys it saw."""
    async with await StaffStore.open(db) as store:
        index = await store.index(None)
        for report_id, line in index.reply_keys.items():
            for seq, (kind, body) in enumerate(events, start=1):
                eid = EventId.new()
                event = CaseEvent(kind=kind, body=body, day=utc_today().isoformat(), seq=seq)
                envelope = seal_for_reporter(
                    event,
                    eid,
                    report_id,
                    author,
                    [k.public for k in team],
                    parse_public_key(line),
                )
                await store.add_event(eid, report_id, envelope, author.public.fingerprint)
        return index.reply_keys


async def messages_as_desk(db: Path, key: PrivateKey) -> dict[ReportId, list[str]]:
    """Her follow-up messages as the desk reads them: words by report."""
    async with await StaffStore.open(db) as store:
        index = await store.index(None)
        if not index.messages:
            return {}
        fetched = await store.fetch_messages([m.id for m in index.messages], "test")
    found: dict[ReportId, list[str]] = {}
    for mid, (rid, envelope) in fetched.items():
        words = open_message(envelope, MessageId(mid.value), rid, key).answers.get("message", "")
        found.setdefault(rid, []).append(str(words))
    return found
