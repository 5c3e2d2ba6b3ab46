"""Evidence sent through the real bot reaches the caseworker without what identifies her.

A phone photo sent "as a file" carries its GPS position, the phone and the owner's name. Opened
from the vault with a caseworker's key, it has none of them, its pixels are the ones she sent, and
it says it was cleaned; a file the bot cannot clean arrives exactly as sent and says so.
"""

from __future__ import annotations

import io
from pathlib import Path

from caseworker.cli import main as console
from storage import VaultReader, open_envelope
from tests.bot.evidence_images import OWNER, jpeg_with_gps, metadata, pixels
from tests.e2e.conftest import Caseworker, Harness, bot_texts
from tests.e2e.test_report import key_file, skip_to_evidence

PDF = b"%PDF-1.4\n1 0 obj << /Author (" + OWNER.encode() + b") >> endobj\n%%EOF\n"


async def test_a_photo_sent_as_a_file_is_sealed_without_gps_and_marked_cleaned(
    reporting: Harness, caseworkers: list[Caseworker], tmp_path: Path
) -> None:
    photo = jpeg_with_gps()
    assert metadata(photo)[1], "the photo she sends carries a GPS position"
    user = await skip_to_evidence(reporting)
    assert "location" in bot_texts(user)[-1]  # she is told what is removed before she sends
    await user.send_document(photo, "IMG_20261103_221530.jpg", "image/jpeg")
    await reporting.settle()
    await user.send_document(PDF, "справка Айгерим.pdf", "application/pdf")
    await reporting.settle()
    assert "Added: 2 of 5" in bot_texts(user)[-1]
    await user.press("Next ➡️")
    await reporting.settle()
    await user.press("No, don't contact me")
    await reporting.settle()
    await user.press("✅ Send")
    await reporting.settle()
    assert bot_texts(user)[-1].startswith("Thank you")

    db = reporting.app.settings.vault_path
    (row,) = VaultReader(db).list_rows()
    report = open_envelope(row.envelope, row.id, caseworkers[0].key)
    image, document = report.attachments
    assert image.cleaned is True and image.name == "image.jpg" and image.mime == "image/jpeg"
    exif, gps, info = metadata(image.data)
    assert gps == {} and set(exif) == {0x0112} and "xmp" not in info and "comment" not in info
    assert OWNER.encode() not in image.data
    assert pixels(image.data) == pixels(photo)
    assert document.cleaned is False and document.data == PDF
    assert document.name == "справка Айгерим.pdf"

    key, secret = key_file(tmp_path, caseworkers[0], "cw")
    out, err = io.StringIO(), io.StringIO()
    args = ["read", "--all", "--db", str(db), "--key", str(key), "--passphrase-file", str(secret)]
    assert console(args, out=out, err=err) == 0, err.getvalue()
    shown = out.getvalue()
    assert "metadata removed by the bot" in shown and "kept as sent" in shown
