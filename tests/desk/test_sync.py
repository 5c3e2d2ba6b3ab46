"""Sync of follow-up through the real staff API: her messages and the reply keys reach the cache
sealed, a later sync fetches only what is new, and a case she deleted with her receipt leaves the
cache with its whole thread."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseworker.desk.cache import Cache
from caseworker.desk.source import RemoteSource
from caseworker.desk.sync import sync
from storage.events import CaseEvent, EventId
from storage.followups import Case, Followups, seal_for_reporter
from storage.receipts import derive, insecure_receipt_cost, new_receipt
from storage.report import Report
from storage.vault import Vault, utc_today
from tests.desk.harness import caseworker, staff_api

pytestmark = pytest.mark.asyncio(loop_scope="session")


def words(text: str) -> Report:
    return Report(language="ru", answers={"message": text}, received_day=utc_today().isoformat())


async def test_messages_and_reply_keys_sync_and_a_deleted_case_leaves_the_cache(
    tmp_path: Path,
) -> None:
    aigerim = caseworker(tmp_path, "Aigerim")
    db = tmp_path / "vault.db"
    today = utc_today().isoformat()
    async with await Vault.open(db, recipients=[aigerim.public]) as vault:
        followups = Followups(vault)
        hers = await vault.store(Report(language="ru", answers={"story": "a"}, received_day=today))
        plain = await vault.store(Report(language="ru", answers={"story": "b"}, received_day=today))
        keys = derive(new_receipt(), await followups.salt(), insecure_receipt_cost())
        await followups.attach(hers, keys)
        case = Case(hers, keys.public)
        first = await followups.add_message(case, words("first"))
        async with staff_api(db, [aigerim.public]) as api:
            source = RemoteSource(api, aigerim.key)
            cache = Cache(tmp_path / "cache.sqlite3")
            try:
                result = await sync(source, cache)
                assert set(result.reports) == {hers, plain}
                assert result.messages == [first] and cache.message_ids() == {first}
                assert cache.reply_keys() == {hers: keys.public.text}
                # A reply sealed to her key, posted and fetched back like any event.
                eid = EventId.new()
                reply = CaseEvent(kind="reply", body={"text": "hi"}, day=today, seq=1)
                sealed = seal_for_reporter(
                    reply, eid, hers, aigerim.key, [aigerim.public], keys.public
                )
                await source.post_event(eid, hers, sealed)
                second = await followups.add_message(case, words("second"))
                again = await sync(source, cache)
                assert (again.reports, again.events, again.messages) == ([], [eid], [second])
                cache.mark_seen([first, second])
                # She deletes her case with her receipt: the desk forgets all of it.
                assert await followups.delete(case)
                gone = await sync(source, cache)
                assert gone.deleted == [hers]
                assert cache.report_ids() == {plain}
                assert (cache.message_ids(), cache.event_ids(), cache.seen()) == (
                    set(),
                    set(),
                    set(),
                )
                assert cache.reply_keys() == {}
            finally:
                await source.close()
                cache.close()
