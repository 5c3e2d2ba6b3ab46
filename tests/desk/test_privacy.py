"""No plaintext at rest: after a full round (sync, notes, tags, a reply to her and the status she
sees, her follow-up message synced and read, an export), a raw-byte scan of the desk's cache
folder, the staff API's files and its log finds none of what was written, nor her receipt."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import async_playwright

from caseworker.desk.casebook import Filters
from caseworker.desk.state import Phase
from storage.followups import Followups
from storage.keys import Passphrase
from storage.receipts import derive, insecure_receipt_cost, new_receipt
from storage.report import Attachment, Report
from storage.vault import Vault, utc_today
from tests.desk.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.desk.harness import PASSPHRASE, caseworker, desk, png

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]
STORY = "STORY-MARKER-91f3 Меня зовут Айгерим"
CONTACT = "CONTACT-MARKER-77ab +7 701 000 00 00"
NOTE = "NOTE-MARKER-c0de"
TAG = "TAG-MARKER-5e"
REPLY = "REPLY-MARKER-3b1d we can meet on Tuesday"
HERS = "HERS-MARKER-a7 Сіңлім мені апарады"
PHOTO = png(rgb=(1, 2, 3))


async def _served(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(url + "/v1/health") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the staff API did not start")


async def test_nothing_readable_in_the_cache_the_vault_or_the_logs(tmp_path: Path) -> None:
    aigerim = caseworker(tmp_path, "Aigerim")
    server_side = tmp_path / "server"
    server_side.mkdir()
    db = server_side / "vault.db"
    receipt = new_receipt()
    async with await Vault.open(db, recipients=[aigerim.public]) as vault:
        report_id = await vault.store(
            Report(
                language="ru",
                answers={"story": STORY, "contact": CONTACT, "region": "astana"},
                received_day=utc_today().isoformat(),
                attachments=[Attachment(kind="photo", mime="image/jpeg", name="p.jpg", data=PHOTO)],
            )
        )
        # She took a receipt and wrote back once, as the bot does it.
        followups = Followups(vault)
        keys = derive(receipt, await followups.salt(), insecure_receipt_cost())
        await followups.attach(report_id, keys)
        case_of_hers = await followups.find(keys.lookup_id)
        assert case_of_hers is not None
        words = Report(
            language="kk", answers={"message": HERS}, received_day=utc_today().isoformat()
        )
        await followups.add_message(case_of_hers, words)
    log = server_side / "staff-api.log"
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "staff_api",
            "serve",
            stderr=sink,
            stdout=sink,
            env={
                "PATH": os.environ["PATH"],
                "PYTHONPATH": str(ROOT),
                "STAFF_API_ENABLED": "true",
                "STAFF_API_LISTEN": "127.0.0.1:0",
                "VAULT_PATH": str(db),
                "REPORT_RECIPIENTS": aigerim.public.text,
                "LOG_LEVEL": "DEBUG",
            },
            cwd=server_side,
        )
        try:
            url = await _url_of(log)
            await _served(url)
            cache_folder = tmp_path / "desk"
            async with desk(aigerim, cache_folder / "cache.sqlite3", server=url) as running:
                state = running.desk
                await state.unlock(Passphrase(PASSPHRASE))
                while state.phase is not Phase.UNLOCKED or state.sync_status.running:
                    await asyncio.sleep(0.02)
                assert state.book is not None and len(state.book.cases) == 1
                (case,) = state.book.cases.values()
                await state.record(case.id, "note", {"text": NOTE})
                await state.record(case.id, "tag", {"tag": TAG, "on": True})
                assert case.follow_up and [m.text for m in case.messages] == [HERS]
                await state.record(case.id, "reply", {"text": REPLY})
                await state.record(case.id, "reporter_status", {"status": "answered"})
                await state.mark_read(case)
                assert case.unread == 0 and case.reporter_status == "answered"
                data = await state.export(state.selection(Filters(status="all")), "json", True, {})
                assert HERS.encode() in data and REPLY.encode() in data
                assert STORY.encode() in data  # the export is plaintext: made in memory, handed out
                files = await state.files(case.id)
                assert files[0].data == PHOTO
        finally:
            process.terminate()
            await process.wait()
    scanned = [
        p for folder in (cache_folder, server_side) for p in folder.rglob("*") if p.is_file()
    ]
    assert {p.name for p in scanned} >= {"cache.sqlite3", "vault.db", "staff-api.log"}
    for path in scanned:
        raw = path.read_bytes()
        for marker in (
            STORY,
            CONTACT,
            NOTE,
            TAG,
            REPLY,
            HERS,
            "Айгерим",
            receipt.digits,
            receipt.shown,
        ):
            assert marker.encode() not in raw, f"{marker} in {path.name}"
        assert PHOTO not in raw, f"the photo in {path.name}"
    assert "listening on" in log.read_text()  # the log was written, and holds none of it


async def _url_of(log: Path) -> str:
    for _ in range(100):
        text = log.read_text() if log.exists() else ""
        if "listening on " in text:
            return text.split("listening on ", 1)[1].split()[0]
        await asyncio.sleep(0.1)
    raise AssertionError("the staff API did not say where it listens")


async def test_nothing_she_types_lands_in_her_browser_profile(tmp_path: Path) -> None:
    # Her browser writes URLs to its history and session files, and form entries to its
    # autofill store, all on disk: a search for a name, a tag or a note must reach none of them.
    searched, tag, note = "SEARCH-MARKER-4d2", "TAG-MARKER-b7", "NOTE-MARKER-e19"
    me = caseworker(tmp_path, "Aigerim")
    db = tmp_path / "vault.db"
    async with await Vault.open(db, recipients=[me.public]) as vault:
        for story in (f"He hid my passport. {searched}", "Another story"):
            await vault.store(
                Report(
                    language="en", answers={"story": story}, received_day=utc_today().isoformat()
                )
            )
    profile = tmp_path / "profile"
    async with (
        desk(me, tmp_path / "cache.sqlite3", db=db) as running,
        async_playwright() as playwright,
    ):
        browser = await playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        page = await browser.new_page()
        await page.goto(running.url)
        await page.get_by_label("Passphrase of your key").fill(PASSPHRASE)
        await page.get_by_role("button", name="Unlock").click()
        # The inbox reloads itself once its first sync ends: search after that, not during.
        await page.get_by_text("Synced:").wait_for()
        await page.get_by_label("Search").fill(searched)
        await page.get_by_label("Search").press("Enter")
        rows = page.get_by_role("row").filter(has_text="passport")
        await page.get_by_role("row").filter(has_text="Another story").wait_for(state="detached")
        assert searched not in page.url and await rows.count() == 1  # found, and only it
        await rows.get_by_role("link").click()
        await page.get_by_label("Tag", exact=True).fill(tag)
        await page.get_by_role("button", name="Add tag").click()
        await page.get_by_label("Note for the team").fill(note)
        await page.get_by_role("button", name="Add note").click()
        await page.get_by_text(note).wait_for()
        await browser.close()
    leaks = [
        (marker, str(path.relative_to(profile)))
        for path in profile.rglob("*")
        if path.is_file()
        for marker in (searched, tag, note)
        if marker.encode() in path.read_bytes()
    ]
    assert leaks == []
