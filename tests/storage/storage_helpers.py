"""Helpers shared by the vault tests (a uniquely named module: `conftest` names clash across
test folders)."""

from __future__ import annotations

from storage.report import Attachment, Report

MARKER = "MARKER-7f3a-survivor-text"


def make_report(text: str = MARKER, *, day: str = "2025-03-14", photo: bytes = b"") -> Report:
    attachments = [Attachment(kind="photo", mime="image/jpeg", name="p.jpg", data=photo)]
    return Report(
        language="kk",
        answers={
            "forms": ["physical", "economic"],
            "region": "almaty_city",
            "text": text,
        },
        received_day=day,
        attachments=attachments if photo else [],
    )
