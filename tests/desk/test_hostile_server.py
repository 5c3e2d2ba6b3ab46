"""A staff API that answers nonsense (broken, or in hostile hands) cannot crash the desk, loop
it for ever, or poison its cache: each such sync fails, says so, and the next one still runs.
A report sealed to her correctly but holding nonsense is counted as damaged, never more."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from caseworker.desk.cache import Cache, CachedReport
from caseworker.desk.state import FAILED, Desk, Phase
from caseworker.desk.sync import LAST_SYNC
from storage.envelope import pad, seal_padded
from storage.keys import Passphrase
from storage.report import ReportId
from storage.vault import utc_today
from tests.desk.harness import PASSPHRASE, caseworker, desk

ASYNC = pytest.mark.asyncio(loop_scope="session")
RID = "ab" * 16
TODAY = utc_today().isoformat()
TEAM = {"team": [], "you": ""}


def _index(*reports: list[Any], today: object = TODAY) -> dict[str, Any]:
    return {"today": today, "reports": list(reports), "events": []}


ANSWERS: dict[str, dict[str, Any]] = {
    "today is not a day": {"index": _index(today="not-a-day")},
    "a report's day is not a day": {
        "index": _index([RID, "yesterday", "2999-01-01", 10]),
        "fetch": {"reports": {RID: "AAAA"}, "events": {}, "deferred": []},
    },
    "envelopes as a list": {
        "index": _index([RID, TODAY, "2999-01-01", 10]),
        "fetch": {"reports": [], "events": {}, "deferred": []},
    },
    "every report deferred, always": {
        "index": _index([RID, TODAY, "2999-01-01", 10]),
        "fetch": {"reports": {}, "events": {}, "deferred": [RID]},
    },
    "a list for the index": {"index": []},
}


@asynccontextmanager
async def hostile_api(answers: dict[str, Any]) -> AsyncIterator[str]:
    """A server on loopback answering every signed call with the given JSON, unchecked."""

    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"team": TEAM, **answers}.get(request.match_info["call"], {}))

    app = web.Application()
    app.router.add_route("*", "/v1/{call}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def _settled(desk: Desk) -> None:
    for _ in range(500):  # a generous bound: the fake server answers at once
        if desk.phase is Phase.UNLOCKED and not desk.sync_status.running:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the desk's first sync never ended")


@ASYNC
@pytest.mark.parametrize("case", sorted(ANSWERS))
async def test_nonsense_from_the_server_fails_the_sync_and_nothing_else(
    tmp_path: Path, case: str
) -> None:
    me = caseworker(tmp_path, "Aigerim")
    async with (
        hostile_api(ANSWERS[case]) as url,
        desk(me, tmp_path / "cache.sqlite3", server=url) as running,
    ):
        await running.desk.unlock(Passphrase(PASSPHRASE))
        await _settled(running.desk)
        assert running.desk.sync_status.error == FAILED
        await running.desk.sync_now()  # the next sync runs, and fails the same way
        assert running.desk.sync_status.error == FAILED
        assert running.desk.phase is Phase.UNLOCKED
        assert running.desk.cache.setting(LAST_SYNC) == ""
        assert running.desk.cache.counts() == (0, 0)


@ASYNC
async def test_a_well_sealed_report_of_nonsense_is_counted_damaged(tmp_path: Path) -> None:
    # Anyone holding her public key can seal any bytes to her, and a server in hostile hands
    # can hand them to her desk: JSON nested deeper than the parser goes stopped every unlock
    # (the envelope stays in her cache, so for good).
    me = caseworker(tmp_path, "Aigerim")
    rid = ReportId.new()
    deep = bytes(seal_padded(pad(b"[" * 100_000 + b"]" * 100_000), rid, [me.public]))
    cache = Cache(tmp_path / "cache.sqlite3")
    cache.add_reports([CachedReport(rid, TODAY, "2999-01-01", deep)])
    cache.close()
    async with (
        hostile_api({"index": _index()}) as url,
        desk(me, tmp_path / "cache.sqlite3", server=url) as running,
    ):
        await running.desk.unlock(Passphrase(PASSPHRASE))
        await _settled(running.desk)
        assert running.desk.book is not None and running.desk.book.damaged == 1
        assert running.desk.book.cases == {}
