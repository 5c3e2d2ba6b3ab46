"""The desk's web gate, over real HTTP: loopback only, the one-time link, the session cookie,
CSRF and Origin on every change, strict headers on every answer, the idle lock, and files
served inline only when their bytes are an image or a sound."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from caseworker.desk.server import Running, check_loopback
from caseworker.desk.state import DeskError, Phase
from caseworker.errors import ConsoleError
from storage.report import Attachment, Report, ReportId
from storage.vault import Vault, utc_today
from tests.desk.harness import PASSPHRASE, caseworker, desk, png

ASYNC = pytest.mark.asyncio(loop_scope="session")

FILES = [
    Attachment(kind="photo", mime="image/jpeg", name="photo.jpg", data=png()),
    Attachment(kind="document", mime="image/svg+xml", name="x.svg", data=b"<svg onload=alert(1)/>"),
    Attachment(kind="photo", mime="image/jpeg", name="fake.jpg", data=b"<html><script>x</script>"),
    Attachment(kind="voice", mime="audio/ogg", name="voice.ogg", data=b"OggS\x00rest"),
]


class Browser:
    """A plain HTTP client that keeps the desk's cookie, as a browser would."""

    def __init__(self, running: Running) -> None:
        self.running = running
        self.base = running.url.split("/open")[0]
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def get(self, path: str, **kw: object) -> aiohttp.ClientResponse:
        response = await self.session.get(self.base + path, allow_redirects=False, **kw)  # type: ignore[arg-type]
        text = await response.text(errors="replace")
        found = re.search(r'name="csrf" value="([^"]+)"', text)
        if found:
            self.csrf = found.group(1)
        return response

    async def post(self, path: str, data: dict[str, str], **kw: object) -> aiohttp.ClientResponse:
        return await self.session.post(
            self.base + path,
            data=data,
            allow_redirects=False,
            **kw,  # type: ignore[arg-type]
        )

    async def unlock(self) -> None:
        await self.get("/open?" + self.running.url.split("?", 1)[1])
        await self.get("/unlock")
        answer = await self.post("/unlock", {"csrf": self.csrf, "passphrase": PASSPHRASE})
        assert answer.status == 303
        for _ in range(200):
            if (
                self.running.desk.phase is Phase.UNLOCKED
                and not self.running.desk.sync_status.running
            ):
                return
            await asyncio.sleep(0.02)
        raise AssertionError("did not unlock")


@pytest_asyncio.fixture(loop_scope="session")
async def opened(tmp_path: Path) -> AsyncIterator[tuple[Browser, ReportId]]:
    me = caseworker(tmp_path, "Aigerim")
    db = tmp_path / "vault.db"
    async with await Vault.open(db, recipients=[me.public]) as vault:
        rid = await vault.store(
            Report(
                language="en",
                answers={"story": "x"},
                received_day=utc_today().isoformat(),
                attachments=FILES,
            )
        )
    async with desk(me, tmp_path / "cache.sqlite3", db=db) as running:
        browser = Browser(running)
        try:
            yield browser, rid
        finally:
            await browser.session.close()


def _strict(response: aiohttp.ClientResponse) -> None:
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@ASYNC
async def test_without_the_one_time_link_there_is_nothing(opened: tuple[Browser, ReportId]) -> None:
    browser, _ = opened
    for path in ("/", "/unlock", "/stats", f"/report/{opened[1].hex}"):
        answer = await browser.get(path)
        assert answer.status == 403 and "link printed in its terminal" in await answer.text()
        _strict(answer)


@ASYNC
async def test_the_link_works_once_and_sets_a_strict_cookie(
    opened: tuple[Browser, ReportId],
) -> None:
    browser, _ = opened
    token = browser.running.url.split("?", 1)[1]
    first = await browser.get("/open?" + token)
    assert first.status == 303 and first.headers["Location"] == "/unlock"
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    second = await browser.get("/open?" + token)
    assert second.status == 403
    assert (await browser.get("/")).status == 303  # the session works: locked, to /unlock


@ASYNC
async def test_another_host_name_is_refused(opened: tuple[Browser, ReportId]) -> None:
    browser, _ = opened
    await browser.unlock()
    answer = await browser.get("/", headers={"Host": "evil.example"})
    assert answer.status == 400


@ASYNC
async def test_every_change_needs_the_csrf_token_and_this_origin(
    opened: tuple[Browser, ReportId],
) -> None:
    browser, rid = opened
    await browser.unlock()
    await browser.get(f"/report/{rid.hex}")
    path = f"/report/{rid.hex}/status"
    assert (await browser.post(path, {"status": "closed"})).status == 403
    assert (await browser.post(path, {"status": "closed", "csrf": "forged"})).status == 403
    foreign = {"Origin": "http://evil.example"}
    assert (
        await browser.post(path, {"status": "closed", "csrf": browser.csrf}, headers=foreign)
    ).status == 403
    cross = {"Sec-Fetch-Site": "cross-site"}
    assert (await browser.post("/lock", {"csrf": browser.csrf}, headers=cross)).status == 403
    assert browser.running.desk.phase is Phase.UNLOCKED
    assert browser.running.desk.book.get(rid).status == "new"  # type: ignore[union-attr]


@ASYNC
async def test_a_reply_needs_the_csrf_token_and_a_code_for_replies(
    opened: tuple[Browser, ReportId],
) -> None:
    browser, rid = opened
    await browser.unlock()
    await browser.get(f"/report/{rid.hex}")
    for kind, form in (("reply", {"text": "hello"}), ("reporter_status", {"status": "closed"})):
        path = f"/report/{rid.hex}/{kind}"
        assert (await browser.post(path, form)).status == 403
        assert (await browser.post(path, {**form, "csrf": "forged"})).status == 403
        # With the token, this report (no receipt) still takes neither: nothing can reach her.
        answer = await browser.post(path, {**form, "csrf": browser.csrf})
        assert answer.status == 303
        page = await (await browser.get(f"/report/{rid.hex}")).text()
        assert "У этого сообщения нет кода для ответов" in page  # the desk's default language
    case = browser.running.desk.book.get(rid)  # type: ignore[union-attr]
    assert case is not None and case.history == []


@ASYNC
async def test_pages_carry_the_strict_headers(opened: tuple[Browser, ReportId]) -> None:
    browser, rid = opened
    await browser.unlock()
    for path in (
        "/",
        f"/report/{rid.hex}",
        "/stats",
        "/stats/weeks.svg",
        "/audit",
        "/static/desk.js",
    ):
        answer = await browser.get(path)
        assert answer.status == 200, path
        _strict(answer)
    chart = await browser.get("/stats/regions.svg")
    body = await chart.read()
    assert b"<script" not in body and b"http://" not in body.replace(b"http://www.w3.org", b"")


@ASYNC
async def test_files_inline_only_when_their_bytes_are_images_or_sound(
    opened: tuple[Browser, ReportId],
) -> None:
    browser, rid = opened
    await browser.unlock()
    photo = await browser.get(f"/report/{rid.hex}/file/1")
    assert photo.headers["Content-Type"] == "image/png"  # sniffed, whatever was declared
    assert photo.headers["Content-Disposition"].startswith("inline")
    for number in (2, 3):  # an SVG, and HTML dressed as a JPEG: downloads, never rendered
        answer = await browser.get(f"/report/{rid.hex}/file/{number}")
        assert answer.headers["Content-Type"] == "application/octet-stream"
        assert answer.headers["Content-Disposition"].startswith("attachment")
        assert "sandbox" in answer.headers["Content-Security-Policy"]
    voice = await browser.get(f"/report/{rid.hex}/file/4")
    assert voice.headers["Content-Type"] == "audio/ogg"
    assert (await browser.get(f"/report/{rid.hex}/file/9")).status == 404
    download = await browser.get(f"/report/{rid.hex}/file/1?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment")


@ASYNC
async def test_a_downloaded_file_is_in_the_audit_log_as_an_export(
    opened: tuple[Browser, ReportId],
) -> None:
    browser, rid = opened
    await browser.unlock()
    desk = browser.running.desk
    assert (await browser.get(f"/report/{rid.hex}/file/1")).status == 200  # shown, not saved
    assert [e for e in await desk.audit() if e.action == "export"] == []
    download = await browser.get(f"/report/{rid.hex}/file/1?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment")
    exports = [e for e in await desk.audit() if e.action == "export"]
    assert [(e.report_id, e.actor) for e in exports] == [(rid, desk.me.fingerprint)]


@ASYNC
async def test_an_idle_desk_locks_itself(opened: tuple[Browser, ReportId]) -> None:
    browser, _ = opened
    await browser.unlock()
    desk = browser.running.desk
    await browser.get("/?q=passport")  # her search: words from the reports
    assert desk.search == "passport"
    now = desk.clock()
    desk.clock = lambda: now + 11 * 60  # ten minutes is the default
    answer = await browser.get("/")
    assert answer.status == 303 and answer.headers["Location"] == "/unlock"
    assert desk.phase is Phase.LOCKED and desk.book is None and desk._key is None
    assert desk.search == ""


@ASYNC
async def test_files_opening_when_the_desk_locks_are_not_kept(
    opened: tuple[Browser, ReportId],
) -> None:
    browser, rid = opened
    await browser.unlock()
    desk = browser.running.desk
    opening = asyncio.ensure_future(desk.files(rid))
    await asyncio.sleep(0)  # the files are being read and decrypted in a thread
    desk.lock()  # as the idle lock or the Lock button would, meanwhile
    with pytest.raises(DeskError):
        await opening
    assert desk.phase is Phase.LOCKED and not desk._files


def test_the_desk_listens_on_loopback_only() -> None:
    assert check_loopback("127.0.0.1") == "127.0.0.1"
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.org"):
        with pytest.raises(ConsoleError, match=r"127\.0\.0\.1 only"):
            check_loopback(host)
