"""Follow-up in the desk, in a real headless browser: the round trip of issue 13 (a report with a
receipt sent through the real bot and the emulator, a reply and the status she sees set in the
desk, read by her in the bot with her receipt, her answer back in the desk after sync, a second
caseworker's desk seeing it all, her exit leaving nothing); and a report without a receipt, which
offers no reply form."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, expect

from bot.config import Settings
from bot.receipt_gate import ReceiptGate
from storage.receipts import insecure_receipt_cost
from storage.report import Report
from storage.vault import Vault, utc_today
from tests.desk.harness import PASSPHRASE, caseworker, desk, png, staff_api
from tests.desk.test_browser import open_inbox
from tests.e2e.conftest import bot_texts, open_menu, running_bot, tap
from tests.e2e.followup_helpers import report_with_receipt
from tests.e2e.test_followup import type_code

pytestmark = pytest.mark.asyncio(loop_scope="session")

STORY = "He keeps my documents locked in his car."
REPLY = "We read your message. Call us on weekdays; say it is about the clinic."
# Her words are attacker-controlled like a report's: the desk shows them as text, nothing more.
BACK = "Tuesday at ten suits me. <img src=x onerror=alert(1)> {{ 7*7 }}"
PHOTO = png(rgb=(10, 120, 30))


async def test_round_trip_reply_in_the_desk_read_in_the_bot_answer_back_and_exit(
    context: BrowserContext, tmp_path: Path
) -> None:
    aigerim, dana = caseworker(tmp_path, "Aigerim"), caseworker(tmp_path, "Dana")
    db = tmp_path / "vault.db"
    settings = Settings(
        report_recipients=f"{aigerim.public.text},{dana.public.text}", vault_path=db
    )
    gate = ReceiptGate(cost=insecure_receipt_cost())
    async with (
        running_bot(settings, receipts=gate) as bot,
        staff_api(db, [aigerim.public, dana.public]) as api,
        desk(aigerim, tmp_path / "a.sqlite3", server=api) as desk_a,
        desk(dana, tmp_path / "b.sqlite3", server=api) as desk_b,
    ):
        she = await open_menu(bot, "en")
        code = await report_with_receipt(bot, she, STORY)

        # Aigerim opens the report: it offers a reply, and says what she sees now.
        a = await context.new_page()
        dialogs: list[str] = []
        a.on("dialog", lambda dialog: dialogs.append(dialog.message))
        await open_inbox(a, desk_a.url)
        await a.get_by_role("row").filter(has_text="documents locked").get_by_role("link").click()
        followup = a.get_by_role("region", name="Replies to her (she sees this part)")
        await expect(followup).to_contain_text(
            "In the bot she now sees: Status: received, not read yet"
        )
        await expect(a.get_by_text("For the team only: she never sees")).to_be_visible()
        await a.get_by_label("Reply to her").fill(REPLY)
        await expect(a.get_by_label("Also show her: a caseworker has replied")).to_be_checked()
        await a.get_by_role("button", name="Send the reply").click()
        await expect(a.get_by_role("status")).to_have_text(
            "Reply sealed and sent. She reads it when she types her code in the bot."
        )
        await expect(followup).to_contain_text("Status: a caseworker has replied")
        history = a.get_by_role("list").filter(has_text=REPLY)
        await expect(history).to_contain_text("Reply to her: " + REPLY)
        await expect(history).to_contain_text("Shown to her: Answered")
        await expect(history).to_contain_text("Aigerim")

        # She types her receipt in the bot, reads the reply and the status, and writes back.
        await tap(bot, she, "🏠 Menu")
        case = await type_code(bot, she, code)
        assert "Status: a caseworker has replied" in case
        assert REPLY in case
        await tap(bot, she, "✏️ Write back")
        await she.send(BACK)
        await bot.settle()
        await tap(bot, she, "Next ➡️")
        await she.send_photo(PHOTO)
        await bot.settle()
        await tap(bot, she, "Next ➡️")
        await tap(bot, she, "📨 Send")
        assert bot_texts(she)[-1].startswith("Sent")

        # After a sync the inbox marks the case, the filter finds it, the history shows her words.
        await a.get_by_role("link", name="Inbox", exact=True).click()
        await a.get_by_role("button", name="Sync now").click()
        marker = a.get_by_role("link", name="Cases with new messages from her: 1")
        await expect(marker).to_be_visible()
        await expect(a.get_by_role("row").filter(has_text="documents locked")).to_contain_text(
            "1 new from her"
        )
        await marker.click()
        await expect(a.get_by_label("New messages from her")).to_be_checked()
        rows = a.get_by_role("row").filter(has_text="documents locked")
        await expect(rows).to_have_count(1)
        await rows.get_by_role("link").click()
        hers = a.get_by_role("listitem").filter(has_text="She (the reporter)")
        await expect(hers).to_contain_text(utc_today().isoformat())
        await expect(hers).to_contain_text("new")
        await expect(hers.get_by_text(BACK)).to_be_visible()  # as text: no image, no 49
        assert await a.locator("main img").count() == 0
        assert dialogs == []
        async with a.expect_download() as download_info:
            await hers.get_by_role("link", name="Download").click()
        assert Path(await (await download_info.value).path()).read_bytes() == PHOTO
        # Opened once, no longer new: neither on the page nor in the inbox.
        await a.reload()
        await expect(hers).not_to_contain_text("new")
        await a.get_by_role("link", name="Inbox", exact=True).click()
        await expect(a.get_by_text("Cases with new messages from her")).to_have_count(0)

        # Dana's desk, in Russian, sees the reply, the status and her message after its sync.
        other = await context.browser.new_context(locale="ru-RU")  # type: ignore[union-attr]
        b = await other.new_page()
        await b.goto(desk_b.url)
        await b.get_by_label("Пароль от вашего ключа").fill(PASSPHRASE)
        await b.get_by_role("button", name="Разблокировать").click()
        await expect(b.get_by_text("Синхронизировано:")).to_be_visible()
        await expect(b.get_by_role("row").filter(has_text="documents locked")).to_contain_text(
            "новых от неё: 1"
        )
        await b.get_by_role("row").filter(has_text="documents locked").get_by_role("link").click()
        history_b = b.get_by_role("list").filter(has_text=REPLY)
        await expect(history_b).to_contain_text("Ответ ей: " + REPLY)
        await expect(history_b).to_contain_text("Ей показано: Есть ответ")
        await expect(history_b).to_contain_text("Она (автор сообщения)")
        await expect(history_b).to_contain_text(BACK)
        # Dana closes it for her; Aigerim's desk shows that after its own sync.
        await b.get_by_label("Что ей показано в боте").select_option(label="Закрыто")
        await b.get_by_role("button", name="Показать ей").click()
        await expect(b.get_by_role("status")).to_have_text("Сохранено и доступно команде.")
        await other.close()

        # She sees the new status too, then taps exit: nothing of it is left in her chat.
        await tap(bot, she, "↩️ Back to messages")
        assert "Status: closed" in bot_texts(she)[-1]
        await she.command("/exit")
        await bot.settle()
        assert [m.text for m in she.visible] == ["Have a good day!"]
        assert bot.app.sessions.get(she.chat.id) is None
        await a.get_by_role("button", name="Sync now").click()
        await a.get_by_role("row").filter(has_text="documents locked").get_by_role("link").click()
        await expect(a.get_by_role("list").filter(has_text=REPLY)).to_contain_text(
            "Shown to her: Closed"
        )


async def test_a_report_without_a_receipt_offers_no_reply_and_says_why(
    context: BrowserContext, tmp_path: Path
) -> None:
    aigerim = caseworker(tmp_path, "Aigerim")
    db = tmp_path / "vault.db"
    async with await Vault.open(db, recipients=[aigerim.public]) as vault:
        await vault.store(
            Report(language="kk", answers={"story": STORY}, received_day=utc_today().isoformat())
        )
    async with desk(aigerim, tmp_path / "a.sqlite3", db=db) as running:
        page = await context.new_page()
        await open_inbox(page, running.url)
        await (
            page.get_by_role("row").filter(has_text="documents locked").get_by_role("link").click()
        )
        followup = page.get_by_role("region", name="Replies to her (she sees this part)")
        await expect(followup).to_have_text(
            "Replies to her (she sees this part) She took no code for replies, so nothing written "
            "here could reach her: there is no reply form."
        )
        await expect(page.get_by_label("Reply to her")).to_have_count(0)
        await expect(page.get_by_label("Shown to her in the bot")).to_have_count(0)
