"""One account must not be able to hurt everyone else: the files a draft and all drafts may
hold, the reports one conversation may send, and the room reports may take on disk. Each limit
answers her kindly and says what fits or what she can do instead."""

from __future__ import annotations

import datetime
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from bot import incidents
from bot.config import Settings
from storage import VaultReader, open_envelope
from telegram_emulator.client import SimUser
from telegram_emulator.state import StoredMessage
from tests.e2e.conftest import Caseworker, Harness, bot_texts, running_bot, tap
from tests.e2e.test_report import send_short_report, skip_to_evidence, skip_to_story

MIB = 1024 * 1024


def settings_for(tmp_path: Path, caseworkers: list[Caseworker], **limits: Any) -> Settings:
    return Settings(
        report_recipients=",".join(c.public for c in caseworkers),
        vault_path=tmp_path / "vault" / "reports.sqlite3",
        **limits,
    )


@pytest.fixture
async def limited(
    request: pytest.FixtureRequest, tmp_path: Path, caseworkers: list[Caseworker]
) -> AsyncIterator[Harness]:
    async with running_bot(settings_for(tmp_path, caseworkers, **request.param)) as h:
        yield h


async def at_evidence(harness: Harness) -> SimUser:
    return await skip_to_evidence(harness)


async def send_file(harness: Harness, user: SimUser, again: StoredMessage | None) -> StoredMessage:
    """She sends a 10 MiB file, the first time uploaded, then the same one by its file id."""
    if again is None:
        sent = await user.send_document(bytes(10 * MIB), "scan.pdf", "application/pdf")
    else:
        sent = await user.send_document_again(again)
    await harness.settle()
    return sent


async def finish_and_send(harness: Harness, user: SimUser) -> None:
    await tap(harness, user, "Next ➡️")
    await tap(harness, user, "No, don't contact me")
    await tap(harness, user, "✅ Send")


@pytest.mark.parametrize("limited", [{}], indirect=True)
async def test_files_that_could_never_be_sealed_are_refused_saying_what_fits(
    limited: Harness, caseworkers: list[Caseworker]
) -> None:
    """Five files of 10 MiB are 67 MiB as base64, past the envelope's 64 MiB: before, all five
    were taken and every Send answered "try again" forever. Now the fifth is refused at once,
    with what still fits, and the four are sealed."""
    user = await at_evidence(limited)
    first = await send_file(limited, user, None)
    for _ in range(3):
        await send_file(limited, user, first)
    assert "Added: 4 of 5" in bot_texts(user)[-1]
    await send_file(limited, user, first)
    told = bot_texts(user)[-1]
    assert told.startswith("This file doesn't fit, so it was not added.")
    assert "47 MB of files in all, and 7 MB are left" in told
    await finish_and_send(limited, user)
    assert bot_texts(user)[-1].startswith("Thank you")
    (row,) = VaultReader(limited.app.settings.vault_path).list_rows()
    report = open_envelope(row.envelope, row.id, caseworkers[0].key)
    assert [len(a.data) for a in report.attachments] == [10 * MIB] * 4


@pytest.mark.parametrize("limited", [{"evidence_memory_mb": 25}], indirect=True)
async def test_files_held_for_all_drafts_are_capped_and_given_back_when_a_draft_goes(
    limited: Harness,
) -> None:
    desk = limited.app.desk
    assert desk is not None
    first, second = await at_evidence(limited), await at_evidence(limited)
    sent = await send_file(limited, first, None)
    await send_file(limited, first, sent)
    assert desk.memory.held == 20 * MIB and "Added: 2 of 5" in bot_texts(first)[-1]
    await send_file(limited, second, sent)
    told = bot_texts(second)[-1]
    assert told.startswith("I can't take this file right now, so it was not added.")
    assert "Your answers and the files already added are safe" in told
    assert desk.memory.held == 20 * MIB and desk.memory.reserved == 0
    await first.command("/exit")  # her draft goes, and with it the memory it held
    await limited.settle()
    assert desk.memory.held == 0
    await send_file(limited, second, sent)
    assert "Added: 1 of 5" in bot_texts(second)[-1]


@pytest.mark.parametrize("limited", [{}], indirect=True)
async def test_one_conversation_sends_three_reports_an_hour_then_is_told_when(
    limited: Harness,
) -> None:
    incidents.report()
    same = await skip_to_story(limited)
    for n in range(4):
        if n:
            await tap(limited, same, "📝 Tell us what happened")
            await tap(limited, same, "I understand, continue")
            await tap(limited, same, "Yes, I'm safe now")
            await tap(limited, same, "Next ➡️")
            for _ in range(4):
                await tap(limited, same, "Prefer not to say")
        await same.send(f"her words {n}")
        await limited.settle()
        await tap(limited, same, "Next ➡️")
        await finish_and_send(limited, same)
        limited.clock.advance(60)
        if n < 3:
            assert bot_texts(same)[-1].startswith("Thank you"), n
            await tap(limited, same, "🏠 Menu")
    told = bot_texts(same)[-1]
    assert told.startswith("Sorry, this one can't go yet.")
    assert "can send 3 reports an hour; the next can go in about 57 min" in told
    assert "111" in told and "112" in told
    assert len(VaultReader(limited.app.settings.vault_path).list_rows()) == 3
    # Her draft is still there; an hour after the first, it goes.
    limited.clock.advance(57 * 60)
    await tap(limited, same, "✅ Send")
    assert bot_texts(same)[-1].startswith("Thank you")
    assert incidents.report()["report refused: hourly limit of one account"] == 1


async def report_from_the_start(harness: Harness, user: SimUser, words: str) -> str:
    """The same account, from /start (after an exit: a new conversation), sends her words; what
    the bot answers her."""
    await user.command("/start")
    await harness.settle()
    await tap(harness, user, "✓ English")
    for label in ("📝 Tell us what happened", "I understand, continue", "Yes, I'm safe now"):
        await tap(harness, user, label)
    await tap(harness, user, "Next ➡️")
    for _ in range(4):
        await tap(harness, user, "Prefer not to say")
    await user.send(words)
    await harness.settle()
    await tap(harness, user, "Next ➡️")
    await finish_and_send(harness, user)
    return bot_texts(user)[-1]


@pytest.mark.parametrize("limited", [{}], indirect=True)
async def test_exiting_between_reports_does_not_reset_the_hourly_limit(limited: Harness) -> None:
    """The hourly count lived in her session, which the exit forgets: one account sent without
    end by exiting between reports. Now it is kept per account, apart from the session."""
    incidents.report()
    same = limited.user(language_code="en")
    for n in range(3):
        assert (await report_from_the_start(limited, same, f"words {n}")).startswith("Thank you")
        await same.command("/exit")
        await limited.settle()
        limited.clock.advance(60)
    told = await report_from_the_start(limited, same, "words 3")
    assert told.startswith("Sorry, this one can't go yet.")
    assert "You can send 3 reports an hour; the next can go in about 57 min" in told
    assert "111" in told and "112" in told
    assert len(VaultReader(limited.app.settings.vault_path).list_rows()) == 3
    assert incidents.report()["report refused: hourly limit of one account"] == 1
    # Another account is not held back by hers.
    await send_short_report(limited, "someone else's words")
    assert len(VaultReader(limited.app.settings.vault_path).list_rows()) == 4


@pytest.mark.parametrize("limited", [{"reports_per_day": 2}], indirect=True)
async def test_the_daily_allowance_refuses_kindly_then_the_next_day_takes_reports(
    limited: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Many accounts, each within its hourly limit, could still fill the vault in a day: past
    the day's allowance every report is refused kindly, with 111 and 112, and counted."""
    incidents.report()
    vault = limited.app.settings.vault_path
    for n in range(2):
        await send_short_report(limited, f"words {n}")
    late = await skip_to_story(limited)
    await late.send("my words")
    await limited.settle()
    await tap(limited, late, "Next ➡️")
    await finish_and_send(limited, late)
    told = bot_texts(late)[-1]
    assert told.startswith("Sorry, this can't be sent today.")
    assert "111" in told and "112" in told and "try again" not in told
    assert len(VaultReader(vault).list_rows()) == 2
    caplog.clear()
    assert incidents.report()["report refused: daily allowance used up"] == 1
    assert "report refused: daily allowance used up ×1" in caplog.text
    # The next day, her draft (still in her chat) goes.
    desk = limited.app.desk
    assert desk is not None
    tomorrow = desk.vault.today() + datetime.timedelta(days=1)
    desk.vault._clock = lambda: tomorrow
    await tap(limited, late, "✅ Send")
    assert bot_texts(late)[-1].startswith("Thank you")
    assert len(VaultReader(vault).list_rows()) == 3


class Flood(NamedTuple):
    reports: int
    refused: int


@pytest.mark.parametrize("limited", [{"vault_max_mb": 3}], indirect=True)
async def test_a_flood_of_files_fills_the_budget_not_the_disk_and_words_still_go(
    limited: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """One account files report after report with a large file sent again by its id, leaving
    the chat between them (which resets her hourly count). The vault stops at its budget; the
    last tenth stays for small reports, so the next woman's words are still received; and when
    she too has files, they are taken out of her draft and she may send the words."""
    vault = limited.app.settings.vault_path
    incidents.report()
    first: StoredMessage | None = None
    for _ in range(6):
        attacker = await at_evidence(limited)
        if first is None:
            first = await attacker.send_document(bytes(600_000), "x.pdf", "application/pdf")
        else:
            await attacker.send_document_again(first)
        await limited.settle()
        await finish_and_send(limited, attacker)
        await attacker.command("/exit")
        await limited.settle()
    sizes = {p.name: p.stat().st_size for p in vault.parent.iterdir()}
    print(f"disk flood: vault files {sizes} (budget {3 * MIB})")
    assert sum(sizes.values()) <= 3 * MIB, sizes
    rows = len(VaultReader(vault).list_rows())
    assert 1 <= rows < 6
    # Someone else, with her words only: received.
    she = await send_short_report(limited, "my words still reach them")
    assert len(VaultReader(vault).list_rows()) == rows + 1
    # And with a file: the file is taken out of the draft, the words go.
    other = await at_evidence(limited)
    assert first is not None
    await other.send_document_again(first)
    await limited.settle()
    await finish_and_send(limited, other)
    told = bot_texts(other)[-1]
    assert told.startswith("Sorry, there is no room for big files right now.")
    assert "Files: not answered" in told  # the review shows her draft without them
    await tap(limited, other, "✅ Send")
    assert bot_texts(other)[-1].startswith("Thank you")
    totals = incidents.report()
    assert totals["report refused: vault full (words_only)"] >= 6 - rows
    del she


@pytest.mark.parametrize("limited", [{}], indirect=True)
async def test_a_nearly_full_disk_refuses_kindly_and_points_to_111(
    limited: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = shutil.disk_usage

    def nearly_full(path: Any) -> Any:
        usage = real(path)
        return usage._replace(free=100 * MIB)

    monkeypatch.setattr(shutil, "disk_usage", nearly_full)
    user = await skip_to_story(limited)
    await user.send("my words")
    await limited.settle()
    await tap(limited, user, "Next ➡️")
    await finish_and_send(limited, user)
    told = bot_texts(user)[-1]
    assert told.startswith("Sorry, this can't be saved right now.")
    assert "111" in told and "112" in told and "try again" not in told
    assert VaultReader(limited.app.settings.vault_path).list_rows() == []
    session = limited.app.sessions.get(user.chat.id)
    assert session is not None and session.state.answers["report"]["story"] == "my words"


__all__ = ["logging"]


@pytest.mark.parametrize("limited", [{"reports_per_account_day": 2}], indirect=True)
async def test_one_account_is_held_to_its_days_worth_and_others_still_send(
    limited: Harness,
) -> None:
    """At 3 an hour one account could store 72 a day, and five of them spend everyone's daily
    allowance: an account is held to its own day's worth too, under the same keyed hash."""
    incidents.report()
    same = limited.user(language_code="en")
    for n in range(2):
        assert (await report_from_the_start(limited, same, f"words {n}")).startswith("Thank you")
        await same.command("/exit")
        await limited.settle()
        limited.clock.advance(2 * 3600)  # past the hourly limit: only the day's one holds
    told = await report_from_the_start(limited, same, "words 2")
    assert told.startswith("Sorry, this one can't go today.")
    assert "You can send 2 reports a day; please send this one tomorrow." in told
    assert "111" in told and "112" in told
    assert len(VaultReader(limited.app.settings.vault_path).list_rows()) == 2
    assert incidents.report()["report refused: daily limit of one account"] == 1
    await send_short_report(limited, "someone else's words")
    assert len(VaultReader(limited.app.settings.vault_path).list_rows()) == 3
