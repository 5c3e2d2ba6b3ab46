"""The desk in a real headless browser, used as a caseworker would: reports sent through the real
bot and the emulator appear after sync with their photo; two caseworkers see each other's work;
a wrong passphrase is refused; lock hides everything; a hostile report is only text."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from bot.config import Settings
from storage.report import Report
from storage.vault import Vault, utc_today
from telegram_emulator.client import SimUser
from tests.desk.harness import PASSPHRASE, Caseworker, caseworker, desk, png, staff_api
from tests.e2e.conftest import Harness, bot_texts, open_menu, running_bot, tap

pytestmark = pytest.mark.asyncio(loop_scope="session")

STORY = "He took my passport. I am staying with my sister in Almaty now."
PHOTO = png()


async def file_report(harness: Harness, story: str, photo: bytes) -> SimUser:
    """A survivor reports through the bot, with a photo, as in the e2e tests."""
    user = await open_menu(harness, "en")
    await tap(harness, user, "📝 Tell us what happened")
    await tap(harness, user, "I understand, continue")
    await tap(harness, user, "No, I'm not safe")
    await tap(harness, user, "Continue")
    await tap(harness, user, "Physical: hitting, pushing, choking")
    await tap(harness, user, "Next ➡️")
    await tap(harness, user, "This week")
    await tap(harness, user, "Almaty (city)")
    await tap(harness, user, "Husband or partner")
    await tap(harness, user, "Children saw or heard it")
    await user.send(story)
    await harness.settle()
    await tap(harness, user, "Next ➡️")
    await user.send_photo(photo)
    await harness.settle()
    await tap(harness, user, "Next ➡️")
    await tap(harness, user, "No, don't contact me")
    await tap(harness, user, "✅ Send")
    assert bot_texts(user)[-1].startswith("Thank you")
    return user


async def unlock(page: Page, url: str, passphrase: str = PASSPHRASE) -> None:
    await page.goto(url)
    await page.get_by_label("Passphrase of your key").fill(passphrase)
    await page.get_by_role("button", name="Unlock").click()


async def open_inbox(page: Page, url: str) -> None:
    await unlock(page, url)
    await expect(page.get_by_role("heading", name="Inbox")).to_be_attached()
    await expect(page.get_by_text("Synced:")).to_be_visible()


def _team(folder: Path) -> tuple[Caseworker, Caseworker]:
    return caseworker(folder, "Aigerim"), caseworker(folder, "Dana")


async def test_a_report_sent_through_the_bot_appears_with_its_photo(
    context: BrowserContext, tmp_path: Path
) -> None:
    aigerim, dana = _team(tmp_path)
    db = tmp_path / "vault.db"
    settings = Settings(
        report_recipients=f"{aigerim.public.text},{dana.public.text}", vault_path=db
    )
    async with running_bot(settings) as harness:
        await file_report(harness, STORY, PHOTO)
    async with staff_api(db, [aigerim.public, dana.public]) as api:
        async with desk(aigerim, tmp_path / "cache-a.sqlite3", server=api) as running:
            page = await context.new_page()
            await open_inbox(page, running.url)
            new = page.get_by_role("navigation", name="Cases by status").get_by_role(
                "link", name="New"
            )
            await expect(new).to_contain_text("1")
            row = page.get_by_role("row").filter(has_text="He took my passport")
            await expect(row).to_contain_text("Almaty (city)")
            await expect(row).to_contain_text("not safe")
            await page.keyboard.press("/")
            await expect(page.get_by_label("Search")).to_be_focused()
            await page.keyboard.press("Escape")
            await page.locator("body").click(position={"x": 5, "y": 400})
            await page.keyboard.press("j")  # from the keyboard: the first report, then open it
            await expect(row.get_by_role("link")).to_be_focused()
            await page.keyboard.press("Enter")
            await expect(page.get_by_role("heading", name="Report of")).to_be_visible()
            await expect(page.get_by_text(STORY)).to_be_visible()
            await expect(page.get_by_text("Physical: hitting, pushing, choking")).to_be_visible()
            photo = page.get_by_role("img", name="Photo 1 from the report")
            await expect(photo).to_be_visible()
            width = await photo.evaluate("img => img.complete && img.naturalWidth")
            assert width == 48  # decoded: the real photo, not a broken image


async def test_two_caseworkers_see_each_others_status_and_note(
    context: BrowserContext, tmp_path: Path
) -> None:
    aigerim, dana = _team(tmp_path)
    db = tmp_path / "vault.db"
    async with await Vault.open(db, recipients=[aigerim.public, dana.public]) as vault:
        await vault.store(
            Report(language="ru", answers={"story": STORY}, received_day=utc_today().isoformat())
        )
    async with staff_api(db, [aigerim.public, dana.public]) as api:
        async with (
            desk(aigerim, tmp_path / "a.sqlite3", server=api) as desk_a,
            desk(dana, tmp_path / "b.sqlite3", server=api) as desk_b,
        ):
            a = await context.new_page()
            await open_inbox(a, desk_a.url)
            await (
                a.get_by_role("row")
                .filter(has_text="He took my passport")
                .get_by_role("link")
                .click()
            )
            await a.get_by_label("Status").select_option(label="In progress")
            await a.get_by_role("button", name="Set status").click()
            await expect(a.get_by_role("status")).to_have_text("Saved and shared with the team.")
            await a.get_by_label("Note for the team").fill(
                "Called back; she is safe at her sister's."
            )
            await a.get_by_role("button", name="Add note").click()
            await expect(a.get_by_text("Called back; she is safe at her sister's.")).to_be_visible()

            other = await context.browser.new_context(locale="ru-RU")  # type: ignore[union-attr]
            b = await other.new_page()
            await b.goto(desk_b.url)
            await b.get_by_label("Пароль от вашего ключа").fill(PASSPHRASE)
            await b.get_by_role("button", name="Разблокировать").click()
            await expect(b.get_by_text("Синхронизировано:")).to_be_visible()
            in_progress = b.get_by_role("link", name="В работе")
            await expect(in_progress).to_contain_text("1")
            await in_progress.click()
            await (
                b.get_by_role("row")
                .filter(has_text="He took my passport")
                .get_by_role("link")
                .click()
            )
            history = b.get_by_role("list").filter(has_text="Called back")
            await expect(history).to_contain_text("Статус: В работе")
            await expect(history).to_contain_text("Aigerim")
            await expect(history).to_contain_text("Called back; she is safe at her sister's.")
            await b.get_by_text("Выгрузить это дело").click()
            await expect(b.get_by_text("открытым текстом")).to_be_visible()  # it says so
            await b.get_by_label("CSV").check()
            async with b.expect_download() as download_info:
                await b.get_by_role("button", name="Скачать выгрузку").click()
            download = await download_info.value
            exported = Path(await download.path()).read_text(encoding="utf-8-sig")
            assert "He took my passport" in exported and "in_progress" in exported
            await other.close()

            await a.get_by_role("link", name="Audit log").click()
            exports = a.get_by_role("row").filter(has_text="exported")
            await expect(exports).to_contain_text(dana.public.fingerprint)


async def test_wrong_passphrase_is_refused_and_lock_hides_everything(
    context: BrowserContext, tmp_path: Path
) -> None:
    aigerim, _ = _team(tmp_path)
    db = tmp_path / "vault.db"
    async with await Vault.open(db, recipients=[aigerim.public]) as vault:
        await vault.store(
            Report(language="kk", answers={"story": STORY}, received_day=utc_today().isoformat())
        )
    async with desk(aigerim, tmp_path / "a.sqlite3", db=db) as running:
        page = await context.new_page()
        await unlock(page, running.url, "not the passphrase")
        await expect(page.get_by_role("alert")).to_have_text(
            "Wrong passphrase. Nothing was unlocked."
        )
        assert STORY not in await page.content()
        await page.get_by_label("Passphrase of your key").fill(PASSPHRASE)
        await page.get_by_role("button", name="Unlock").click()
        await expect(page.get_by_text("He took my passport")).to_be_visible()
        report_url = (
            await page.get_by_role("row")
            .filter(has_text="passport")
            .get_by_role("link")
            .get_attribute("href")
        )

        await page.get_by_role("button", name="Lock").click()
        await expect(page.get_by_role("heading", name="Unlock the desk")).to_be_visible()
        assert STORY not in await page.content()
        for path in (report_url or "/", "/", "/stats", "/audit", f"{report_url}/file/1"):
            await page.goto(running.url.split("/open")[0] + path)
            await expect(page.get_by_role("heading", name="Unlock the desk")).to_be_visible()
            assert "passport" not in await page.content()
        await page.go_back()
        assert "passport" not in await page.content()
        await page.get_by_label("Language").select_option(label="Қазақша")
        await page.get_by_role("button", name="Change").click()
        # The change posts a form and redirects; reloading before that lands races the navigation.
        await expect(page.get_by_role("heading", name="Жұмыс орнын ашу")).to_be_visible()
        await page.reload()  # her choice is remembered by the desk, not by this page
        await expect(page.get_by_role("heading", name="Жұмыс орнын ашу")).to_be_visible()
        # The one-time link cannot open a second browser's session.
        stranger = await context.browser.new_context()  # type: ignore[union-attr]
        other = await stranger.new_page()
        answer = await other.goto(running.url)
        assert answer is not None and answer.status == 403
        await stranger.close()


HOSTILE = (
    "<script>alert('x')</script><img src=x onerror=alert(1)> "
    "\u202eevil\u202c \u200b zero-width " + "A" * 4000 + " {{ 7*7 }} ${7*7}"
)


async def test_a_hostile_report_renders_as_harmless_text(
    context: BrowserContext, tmp_path: Path
) -> None:
    aigerim, _ = _team(tmp_path)
    db = tmp_path / "vault.db"
    async with await Vault.open(db, recipients=[aigerim.public]) as vault:
        await vault.store(
            Report(
                language="en",
                answers={"story": HOSTILE, "region": "<b>bold</b>", "forms": ["\u202efake"]},
                received_day=(utc_today() - timedelta(days=1)).isoformat(),
            )
        )
    async with desk(aigerim, tmp_path / "a.sqlite3", db=db) as running:
        page = await context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        await unlock(page, running.url)
        await expect(page.get_by_text("<script>alert('x')</script>", exact=False)).to_be_visible()
        await page.get_by_role("row").filter(has_text="<script>").get_by_role("link").click()
        story = page.get_by_text("<img src=x onerror=alert(1)>", exact=False)
        await expect(story).to_be_visible()
        await expect(page.get_by_text("\\u202eevil")).to_be_visible()  # the override, shown
        assert await page.locator("main img").count() == 0  # nothing injected
        assert await page.locator("script:not([src])").count() == 0
        # No template evaluation: the story shows its braces as typed. (Not "no 49 on the
        # page": the report's random id holds "49" about one time in eight.)
        assert "{{ 7*7 }} ${7*7}" in await story.inner_text()
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth + 1"
        )
        assert overflow, "a 4,000-character word must not widen the page"
        assert dialogs == []


async def test_a_page_left_open_empties_itself_when_the_desk_locks(
    context: BrowserContext, tmp_path: Path
) -> None:
    aigerim, _ = _team(tmp_path)
    db = tmp_path / "vault.db"
    async with await Vault.open(db, recipients=[aigerim.public]) as vault:
        await vault.store(
            Report(language="en", answers={"story": STORY}, received_day=utc_today().isoformat())
        )
    async with desk(aigerim, tmp_path / "a.sqlite3", db=db) as running:
        page = await context.new_page()
        await unlock(page, running.url)
        await page.get_by_role("row").filter(has_text="passport").get_by_role("link").click()
        await expect(page.get_by_text("He took my passport")).to_be_visible()
        running.desk.lock()  # what the idle lock does while she is away; she touches nothing
        # A generous bound: the page asks every few seconds.
        heading = page.get_by_role("heading", name="Unlock the desk")
        await expect(heading).to_be_visible(timeout=30_000)
        assert "passport" not in await page.content()

        await page.get_by_label("Passphrase of your key").fill(PASSPHRASE)
        await page.get_by_role("button", name="Unlock").click()
        await page.get_by_role("row").filter(has_text="passport").get_by_role("link").click()
        await expect(page.get_by_text("He took my passport")).to_be_visible()
    # The desk is closed (Ctrl-C) with her report on the screen: the page empties itself too.
    await expect(page.locator("body")).not_to_contain_text("passport", timeout=30_000)
