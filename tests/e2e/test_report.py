"""A survivor files a report through the bot; only the caseworkers can read it, exactly as sent."""

from __future__ import annotations

import datetime as dt
import io
import logging
from pathlib import Path

import pytest

from caseworker.cli import main as console
from storage import VaultReader, open_envelope
from storage.keys import Passphrase, insecure_argon2_params, write_private_key_file
from telegram_emulator.client import SimUser
from tests.e2e.conftest import Caseworker, Harness, bot_texts, open_menu, tap

pytestmark = pytest.mark.both_modes

STORY_1 = "He took my passport and my salary card in March."
STORY_2 = "Last night he pushed me against the wall; my neighbour Saule heard it."
CONTACT = "call +7 701 555 12 34 weekdays 10-12, say it is the clinic"
PHOTO = b"\x89PNG\r\n\x1a\n" + b"bruise-photo-bytes" * 50
PDF = b"%PDF-1.4 medical certificate " * 20


async def file_a_report(harness: Harness) -> SimUser:
    user = await open_menu(
        harness, "en", first_name="Aigerim", last_name="Sultanova", username="aigerim_kz_1990"
    )
    await tap(harness, user, "📝 Tell us what happened")
    assert bot_texts(user)[-1].startswith("Before you start")
    await tap(harness, user, "I understand, continue")
    assert bot_texts(user)[-1].startswith("Step 1 of 9")  # "are you safe?" comes first
    await tap(harness, user, "Yes, I'm safe now")
    await tap(harness, user, "Physical: hitting, pushing, choking")
    await tap(harness, user, "Economic: money, documents, housing")
    await tap(harness, user, "Next ➡️")
    await tap(harness, user, "This week")
    await tap(harness, user, "Almaty (city)")
    await tap(harness, user, "Husband or partner")
    await tap(harness, user, "Children saw or heard it")
    assert bot_texts(user)[-1].startswith("Step 7 of 9")
    await user.send(STORY_1)
    await harness.settle()
    await user.send(STORY_2)
    await harness.settle()
    assert "Saved:" in bot_texts(user)[-1]
    await tap(harness, user, "Next ➡️")
    await user.send_photo(PHOTO)
    await harness.settle()
    await user.send_document(PDF, "certificate.pdf", "application/pdf")
    await harness.settle()
    assert "Added: 2 of 5" in bot_texts(user)[-1]
    await tap(harness, user, "Next ➡️")
    await user.send(CONTACT)
    await harness.settle()
    await tap(harness, user, "Save and continue")
    review = bot_texts(user)[-1]
    assert "Physical: hitting, pushing, choking, Economic: money, documents, housing" in review
    assert "Almaty (city)" in review and "Files: 2" in review
    assert STORY_1 not in review and CONTACT not in review  # her words never shown again
    # Her words and files left the chat as soon as they were captured.
    visible = " ".join(m.text or "" for m in user.visible)
    assert STORY_1 not in visible and STORY_2 not in visible and CONTACT not in visible
    assert not any(m.kind in ("photo", "document") for m in user.visible)
    await tap(harness, user, "✅ Send")
    assert bot_texts(user)[-1].startswith("Thank you")
    return user


async def skip_to_safe_now(harness: Harness) -> SimUser:
    """A report begun in English, at its first question: "are you safe now?"."""
    user = await open_menu(harness, "en")
    await tap(harness, user, "📝 Tell us what happened")
    await tap(harness, user, "I understand, continue")
    return user


async def skip_to_story(harness: Harness) -> SimUser:
    """A report begun in English, safe now, every choice up to her story skipped."""
    user = await skip_to_safe_now(harness)
    await tap(harness, user, "Yes, I'm safe now")
    await tap(harness, user, "Next ➡️")
    for _ in range(4):
        await tap(harness, user, "Prefer not to say")
    assert bot_texts(user)[-1].startswith("Step 7 of 9")
    return user


async def skip_to_evidence(harness: Harness) -> SimUser:
    """A report begun in English, at the evidence step with nothing written."""
    user = await skip_to_story(harness)
    await tap(harness, user, "Next ➡️")
    assert bot_texts(user)[-1].startswith("Step 8 of 9")
    return user


def key_file(tmp_path: Path, caseworker: Caseworker, name: str) -> tuple[Path, Path]:
    key, secret = tmp_path / f"{name}.key", tmp_path / f"{name}.pass"
    secret.write_text("correct horse battery staple")
    write_private_key_file(
        key,
        caseworker.key,
        Passphrase("correct horse battery staple"),
        params=insecure_argon2_params(),
    )
    return key, secret


async def test_report_is_sealed_and_each_caseworker_reads_exactly_what_she_sent(
    reporting: Harness, caseworkers: list[Caseworker], tmp_path: Path
) -> None:
    await file_a_report(reporting)
    db = reporting.app.settings.vault_path
    rows = VaultReader(db).list_rows()
    assert len(rows) == 1
    for caseworker in caseworkers:
        report = open_envelope(rows[0].envelope, rows[0].id, caseworker.key)
        assert report.language == "en"
        assert report.answers == {
            "forms": ["physical", "economic"],
            "when": "this_week",
            "region": "almaty_city",
            "relation": "partner",
            "children": "present",
            "safe_now": "safe",
            "story": f"{STORY_1}\n\n{STORY_2}",
            "contact": CONTACT,
        }
        # Neither file parses as an image: both kept exactly as sent, and marked so.
        assert [(a.kind, a.mime, a.data, a.cleaned) for a in report.attachments] == [
            ("photo", "image/jpeg", PHOTO, False),
            ("document", "application/pdf", PDF, False),
        ]
    # And through the caseworker's own console, with her key file and passphrase.
    key, secret = key_file(tmp_path, caseworkers[0], "cw")
    out, err = io.StringIO(), io.StringIO()
    folder = tmp_path / "evidence"
    code = console(
        [
            "read",
            "--all",
            "--db",
            str(db),
            "--key",
            str(key),
            "--passphrase-file",
            str(secret),
            "--attachments",
            str(folder),
        ],
        out=out,
        err=err,
    )
    assert code == 0, err.getvalue()
    assert STORY_2 in out.getvalue()
    assert sorted(p.read_bytes() for p in folder.rglob("*") if p.is_file()) == sorted([PHOTO, PDF])
    export = tmp_path / "export.json"
    assert (
        console(
            [
                "export",
                "--format",
                "json",
                "--out",
                str(export),
                "--db",
                str(db),
                "--key",
                str(key),
                "--passphrase-file",
                str(secret),
            ],
            out=out,
            err=err,
        )
        == 0
    )
    assert "almaty_city" in export.read_text()


async def test_nothing_that_identifies_her_reaches_the_disk_or_the_logs(
    reporting: Harness, tmp_path: Path, caplog: object
) -> None:
    user = await file_a_report(reporting)
    await user.command("/exit")
    await reporting.settle()
    db = reporting.app.settings.vault_path
    identifiers = [
        str(user.chat.id),
        user.user["first_name"],
        user.user["last_name"],
        user.user["username"],
        STORY_1[:20],
        STORY_2[:20],
        "Saule",
        CONTACT[:20],
        "701 555",
        "bruise-photo",
        "medical certificate",
        "certificate.pdf",
    ]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert db in files and db.stat().st_mode & 0o777 == 0o600
    for path in files:
        raw = path.read_bytes()
        for marker in identifiers:
            assert marker.encode() not in raw, f"{marker!r} found in {path.name}"
    logs = caplog.text  # type: ignore[attr-defined]
    for marker in identifiers:
        assert marker not in logs


async def test_without_caseworker_keys_reporting_points_to_111(harness: Harness) -> None:
    user = await open_menu(harness, "ru")
    await tap(harness, user, "📝 Рассказать, что случилось")
    text = bot_texts(user)[-1]
    assert text.startswith("Здесь недоступно") and "111" in text


async def test_exit_discards_the_draft(reporting: Harness) -> None:
    user = await open_menu(reporting, "kk")
    await tap(reporting, user, "📝 Не болғанын айту")
    await tap(reporting, user, "Түсінікті, жалғастыру")
    await tap(reporting, user, "Иә, қазір қауіпсізбін")
    await tap(reporting, user, "Физикалық: ұру, итеру, тұншықтыру")
    await user.send("шығу")
    await reporting.settle()
    assert reporting.app.sessions.get(user.chat.id) is None
    assert VaultReader(reporting.app.settings.vault_path).list_rows() == []


async def test_not_safe_now_shows_emergency_numbers_first(reporting: Harness) -> None:
    user = await skip_to_safe_now(reporting)
    await tap(reporting, user, "No, I'm not safe")
    text = bot_texts(user)[-1]
    assert "112" in text and "102" in text
    assert bot_texts(user)[-1].startswith("Your safety first")
    await tap(reporting, user, "Continue")
    assert bot_texts(user)[-1].startswith("Step 2 of 9")


async def test_a_failed_store_keeps_the_draft_and_says_so(reporting: Harness) -> None:
    desk = reporting.app.dp["desk"]
    await desk.close()  # the disk goes away under the bot
    user = await skip_to_story(reporting)
    await user.send("words")
    await reporting.settle()
    await tap(reporting, user, "Next ➡️")
    await tap(reporting, user, "Next ➡️")
    await tap(reporting, user, "No, don't contact me")
    await tap(reporting, user, "✅ Send")
    assert "could not be saved" in bot_texts(user)[-1]
    session = reporting.app.sessions.get(user.chat.id)
    assert session is not None and session.state.answers["report"]["story"] == "words"


async def test_a_failed_download_logs_no_bot_token_even_at_debug(
    reporting: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # The file URL holds the token; aiohttp's error for a refused download carried it, and
    # bot.incidents logs the failure's traceback at DEBUG.
    caplog.set_level(logging.DEBUG)
    user = await skip_to_evidence(reporting)
    reporting.emu.faults.add("file", status=404)
    await user.send_photo(PHOTO)
    await reporting.settle()
    assert "could not be received" in bot_texts(user)[-1]
    assert reporting.emu.token not in caplog.text
    assert reporting.emu.token.split(":")[1] not in caplog.text
    assert "evidence not downloaded: DownloadFailed" in caplog.text


async def test_files_over_the_limit_are_not_downloaded_or_kept(reporting: Harness) -> None:
    user = await skip_to_evidence(reporting)
    for i in range(8):
        await user.send_photo(b"\x89PNG photo %d" % i)
        await reporting.settle()
    assert "limit of 5" in bot_texts(user)[-1] or "5" in bot_texts(user)[-1]
    assert len(reporting.emu.calls_to("getFile")) == 5
    session = reporting.app.sessions.get(user.chat.id)
    assert session is not None and len(session.attachments) == 5
    await tap(reporting, user, "Next ➡️")
    await tap(reporting, user, "No, don't contact me")
    await tap(reporting, user, "🗑 Discard this draft")
    assert session.attachments == {}


async def send_short_report(harness: Harness, story: str) -> SimUser:
    """A report with only her words, every other question skipped."""
    user = await skip_to_story(harness)
    await user.send(story)
    await harness.settle()
    await tap(harness, user, "Next ➡️")
    await tap(harness, user, "Next ➡️")
    await tap(harness, user, "No, don't contact me")
    await tap(harness, user, "✅ Send")
    assert bot_texts(user)[-1].startswith("Thank you")
    return user


async def test_the_vault_files_do_not_date_reports_or_keep_their_order(
    reporting: Harness,
) -> None:
    """After three reports the WAL holds nothing (no frames, so no arrival order), and once the
    sweep has run, the database, -wal and -shm files carry the start of the day as their times,
    not the moment of the last report."""
    for n in range(3):
        await send_short_report(reporting, f"report number {n}")
        wal = reporting.app.settings.vault_path.with_name("reports.sqlite3-wal")
        assert wal.stat().st_size == 0, "frames left in the WAL after a report"
    await reporting.app.sweep()
    db = reporting.app.settings.vault_path
    start_of_day = dt.datetime.combine(
        dt.datetime.now(dt.UTC).date(), dt.time(), tzinfo=dt.UTC
    ).timestamp()
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        info = path.stat()
        assert info.st_mtime == start_of_day and info.st_atime == start_of_day, path.name
    assert db.with_name(db.name + "-wal").stat().st_size == 0
    assert len(VaultReader(db).list_rows()) == 3
