"""Follow-up end to end: she sends a report and takes a receipt; a caseworker replies (sealed to
her key and the team's, kept as the desk keeps it); she types the receipt, reads the status and
the reply, writes back; the desk reads it; the exit leaves nothing. Wrong receipts say nothing
and are limited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.receipt_gate import ReceiptGate
from storage.events import CaseEvent, EventId
from storage.followups import Followups, seal_for_reporter
from storage.keys import PrivateKey, parse_public_key
from storage.receipts import derive, insecure_receipt_cost, new_receipt
from storage.report import Report, ReportId
from storage.staff_store import StaffStore
from storage.vault import utc_today
from telegram_emulator.client import SimUser
from tests.e2e.conftest import Caseworker, Harness, bot_texts, open_menu, running_bot, tap
from tests.e2e.followup_helpers import (
    CODE,
    HAVE,
    TAKE,
    messages_as_desk,
    reply_as_desk,
    report_with_receipt,
)
from tests.resilience.conftest import texts
from tests.resilience.flows import AFTER_STORY, BEFORE_STORY, SEND, until, walk

REPLY = "We read your message. You can call us on weekdays; say it is about the clinic."
BACK = "Thank you. Tuesday at ten suits me."
STORY = "He keeps my documents locked in his car."


def _settings(tmp_path: Path, caseworkers: list[Caseworker]) -> Settings:
    return Settings(
        report_recipients=",".join(c.public for c in caseworkers),
        vault_path=tmp_path / "vault" / "reports.sqlite3",
    )


@pytest.fixture
async def followup(
    tmp_path: Path, caseworkers: list[Caseworker], bot_mode: str
) -> AsyncIterator[Harness]:
    gate = ReceiptGate(cost=insecure_receipt_cost())
    async with running_bot(_settings(tmp_path, caseworkers), receipts=gate) as h:
        yield h


async def type_code(harness: Harness, user: SimUser, code: str, have: str = HAVE) -> str:
    """From the main menu: she opens the code screen and types ``code``; what she then sees."""
    if "🏠 Menu" in user.buttons:
        await tap(harness, user, "🏠 Menu")
    if have in user.buttons:
        await tap(harness, user, have)
    typed = await user.send(code)
    await harness.settle()
    assert all(m.message_id != typed.message_id for m in user.visible)  # deleted at once
    return bot_texts(user)[-1]


@pytest.mark.both_modes
async def test_round_trip_report_receipt_reply_status_write_back_and_exit(
    followup: Harness, caseworkers: list[Caseworker]
) -> None:
    db = followup.app.settings.vault_path
    user = await open_menu(followup, "en")
    code = await report_with_receipt(followup, user, STORY)
    shown = bot_texts(user)[-1]
    assert "Anyone who has this code can read the replies" in shown
    assert "learn it by heart, or save it as a contact's phone number" in shown
    # The desk replies and sets what she sees.
    team = [c.key for c in caseworkers]
    keys = await reply_as_desk(
        db, team[0], team, [("reply", {"text": REPLY}), ("reporter_status", {"status": "answered"})]
    )
    assert len(keys) == 1
    # The receipt screen is never shown again: moving on replaced it.
    await tap(followup, user, "🏠 Menu")
    assert all(code not in (m.text or "") for m in user.visible)
    case = await type_code(followup, user, "+" + code.replace(" ", "-"))
    assert case.startswith("Messages")
    assert "Status: a caseworker has replied" in case
    assert REPLY in case
    # She writes back; the desk reads it.
    await tap(followup, user, "✏️ Write back")
    await user.send(BACK)
    await followup.settle()
    await tap(followup, user, "Next ➡️")
    await tap(followup, user, "Next ➡️")
    await tap(followup, user, "📨 Send")
    assert bot_texts(user)[-1].startswith("Sent")
    assert all(BACK not in (m.text or "") for m in user.visible)
    desk_sees = await messages_as_desk(db, team[1])
    assert list(desk_sees.values()) == [[BACK]]
    await tap(followup, user, "↩️ Back to messages")
    assert REPLY in bot_texts(user)[-1]
    # The exit leaves one neutral line and nothing of the case; her session forgot it.
    await user.command("/exit")
    await followup.settle()
    assert [m.text for m in user.visible] == ["Have a good day!"]
    assert followup.app.sessions.get(user.chat.id) is None


async def test_a_wrong_code_says_the_same_as_a_deleted_one_and_nothing_more(
    followup: Harness,
) -> None:
    user = await open_menu(followup, "ru")
    await tap(followup, user, "📝 Рассказать, что случилось")
    await user.command("/menu")
    await followup.settle()
    other = await open_menu(followup, "en")
    code = await report_with_receipt(followup, other, STORY)
    await tap(followup, other, "🏠 Menu")
    await type_code(followup, other, code)
    await tap(followup, other, "🗑 Delete everything")
    await tap(followup, other, "🗑 Yes, delete")
    assert bot_texts(other)[-1].startswith("Deleted")
    # The deleted code and a code that never existed get the same words.
    answers = [await type_code(followup, other, c) for c in (code, "1234 5678 9012 3456")]
    assert answers[0] == answers[1]
    assert answers[0].startswith("These digits do not open anything")
    assert "Your code" in answers[0]  # she stays on the code screen, nothing else shown
    malformed = await type_code(followup, other, "12345")
    assert malformed.startswith("A code has 16 digits")
    # In Russian, the same kind answer.
    ru = await type_code(followup, user, "0000 0000 0000 0000", "🔑 У меня есть код")
    assert ru.startswith("Эти цифры ничего не открывают")


async def test_wrong_codes_are_limited_per_chat_across_exits_and_for_everyone(
    tmp_path: Path, caseworkers: list[Caseworker], bot_mode: str
) -> None:
    gate = ReceiptGate(cost=insecure_receipt_cost(), per_chat=3, per_hour=5)
    async with running_bot(_settings(tmp_path, caseworkers), receipts=gate) as bot:
        owner = await open_menu(bot, "en")
        code = await report_with_receipt(bot, owner, STORY)
        guesser = await open_menu(bot, "en")
        for n in range(3):
            assert (await type_code(bot, guesser, f"0000 0000 0000 000{n}")).startswith("These")
        # The fourth try is refused before any look-up, even with the right code, even after
        # an exit (the count is not kept in her session).
        await guesser.command("/exit")
        await bot.settle()
        assert bot.app.sessions.get(guesser.chat.id) is None
        await guesser.command("/start")
        await bot.settle()
        await tap(bot, guesser, "✓ English")
        refused = await type_code(bot, guesser, code)
        assert refused.startswith("Too many tries from this chat")
        # Two more wrong codes from other chats reach the cap for everyone: then even the owner
        # with her right code waits.
        for n in range(2):
            someone = await open_menu(bot, "en")
            await type_code(bot, someone, f"1111 1111 1111 111{n}")
        await tap(bot, owner, "🏠 Menu")
        paused = await type_code(bot, owner, code)
        assert paused.startswith("Codes cannot be checked right now")
        # An hour later, she reads her case.
        gate.clock = lambda: 1e9
        assert (await type_code(bot, owner, code)).startswith("Messages")


async def test_two_hundred_women_with_receipts_each_open_only_their_own_case(
    tmp_path: Path, caseworkers: list[Caseworker], bot_mode: str
) -> None:
    """SecureDrop #3892 as a test: 200 at once, each reads her own reply only, writes back to
    her own case only, and deleting with her receipt deletes hers only."""
    gate = ReceiptGate(cost=insecure_receipt_cost(), workers=2, max_waiting=1000)
    count = 200
    async with running_bot(_settings(tmp_path, caseworkers), receipts=gate, concurrent=True) as bot:
        assert bot.app.desk is not None
        vault = bot.app.desk.vault
        followups = Followups(vault)
        salt = await followups.salt()
        codes, cases = [], []
        for n in range(count):  # 200 reports with receipts, as the bot keeps them
            report_id = await vault.store(
                Report(
                    language="en",
                    answers={"story": f"S-{n}"},
                    received_day=vault.today().isoformat(),
                )
            )
            receipt = new_receipt()
            await followups.attach(report_id, derive(receipt, salt, insecure_receipt_cost()))
            codes.append(receipt.shown)
            cases.append(report_id)
        team = [c.key for c in caseworkers]
        await reply_each(settings_db(bot), team, cases)
        users = [bot.user(language_code="en") for _ in range(count)]
        await asyncio.gather(*(her_case(u, codes[n], n) for n, u in enumerate(users)))
        desk_sees = await messages_as_desk(settings_db(bot), team[0])
        assert desk_sees == {cases[n]: [f"BACK-{n:03d}."] for n in range(0, count, 2)}
        left = {ReportId(bytes(r)) for (r,) in await vault.rows("SELECT id FROM reports")}
        assert left == set(cases[::2])


async def her_case(user: SimUser, code: str, n: int) -> None:
    """One woman of many: she opens her case with her code, reads her reply, then writes back
    (even n) or deletes her case (odd n); each step waits for the screen it leads to."""
    await user.command("/start")
    await until(user, lambda: "✓ English" in user.buttons)
    await walk(user, ("✓ English", HAVE))
    before = user.bot_changes
    await user.press(HAVE, timeout=90)
    await until(user, lambda: (texts(user) or [""])[-1].startswith("Your code"), before)
    before = user.bot_changes
    await user.send(code)
    await until(user, lambda: (texts(user) or [""])[-1].startswith("Messages"), before)
    seen = texts(user)[-1]
    assert f"REPLY-{n:03d}." in seen and seen.count("REPLY-") == 1, seen[:200]
    if n % 2:
        await walk(user, ("🗑 Delete everything", "🗑 Yes, delete"))
        before = user.bot_changes
        await user.press("🗑 Yes, delete", timeout=90)
        await until(user, lambda: (texts(user) or [""])[-1].startswith("Deleted"), before)
        return
    await walk(user, ("✏️ Write back",))
    before = user.bot_changes
    await user.press("✏️ Write back", timeout=90)
    await until(user, lambda: (texts(user) or [""])[-1].startswith("Write back"), before)
    before = user.bot_changes
    await user.send(f"BACK-{n:03d}.")
    await until(user, lambda: "Saved:" in (texts(user) or [""])[-1], before)
    await walk(user, ("Next ➡️", "Next ➡️", "📨 Send"))
    before = user.bot_changes
    await user.press("📨 Send", timeout=90)
    await until(user, lambda: (texts(user) or [""])[-1].startswith("Sent"), before)


def settings_db(bot: Harness) -> Path:
    return bot.app.settings.vault_path


async def reply_each(db: Path, team: list[PrivateKey], cases: list[ReportId]) -> None:
    """One reply per case, naming the case it was sealed for."""
    async with await StaffStore.open(db) as store:
        keys = (await store.index(None)).reply_keys
        for n, report_id in enumerate(cases):
            eid = EventId.new()
            event = CaseEvent(
                kind="reply", body={"text": f"REPLY-{n:03d}."}, day=utc_today().isoformat(), seq=1
            )
            envelope = seal_for_reporter(
                event,
                eid,
                report_id,
                team[0],
                [k.public for k in team],
                parse_public_key(keys[report_id]),
            )
            await store.add_event(eid, report_id, envelope, "desk")


async def test_the_idle_wipe_forgets_her_case_and_leaves_nothing(
    followup: Harness, caseworkers: list[Caseworker]
) -> None:
    user = await open_menu(followup, "kk")
    await tap(followup, user, "📝 Не болғанын айту")
    await user.command("/menu")
    await followup.settle()
    owner = await open_menu(followup, "en")
    code = await report_with_receipt(followup, owner, STORY)
    team = [c.key for c in caseworkers]
    await reply_as_desk(
        followup.app.settings.vault_path, team[0], team, [("reply", {"text": REPLY})]
    )
    await tap(followup, owner, "🏠 Menu")
    assert REPLY in await type_code(followup, owner, code)
    followup.clock.advance(16 * 60)
    assert await followup.app.sweep() == 2
    await followup.settle()
    assert owner.visible == [] and user.visible == []
    assert followup.app.sessions.get(owner.chat.id) is None
    # Coming back, she starts from the beginning: nothing of the case is on any screen.
    await owner.command("/start")
    await followup.settle()
    assert all(REPLY not in (m.text or "") for m in owner.visible)


async def test_a_receipt_whose_screen_never_reached_her_is_shown_when_she_tries_again(
    followup: Harness,
) -> None:
    """The receipt left the session when its screen was drawn, before Telegram took it: a failed
    send lost it, and she could never have another. It goes only once the screen reached her."""
    user = await open_menu(followup)
    for label in BEFORE_STORY:
        await tap(followup, user, label)
    await user.send("words")
    await followup.settle()
    for label in (*AFTER_STORY, SEND):
        await tap(followup, user, label)
    assert bot_texts(user)[-1].startswith("Thank you")
    failed = [
        followup.emu.faults.add(method, status=400, description="Bad Request: refused")
        for method in ("editMessageText", "sendMessage")
    ]
    await tap(followup, user, TAKE)
    assert all(f.hits == 1 for f in failed)
    assert CODE.search(" ".join(bot_texts(user))) is None  # she did not see it
    await tap(followup, user, TAKE)
    # The screen she pressed now shows it (the "try again" note stays below it).
    assert CODE.search(" ".join(bot_texts(user))) is not None, bot_texts(user)
