"""Exporting decrypted reports to JSON or CSV for the organisation's own records.

The export is plaintext on the caseworker's computer: it is written all-or-nothing with mode
0600, and attachment content is left out unless asked for.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from caseworker.opening import Opened
from storage.atomicfile import write_atomic

EXPORT_FORMAT = "safe-report-export"
EXPORT_VERSION = 1
_FIXED_COLUMNS = ["id", "received_day", "expires_day", "language", "attachments"]
# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def report_record(opened: Opened, *, with_attachments: bool) -> dict[str, Any]:
    """One report as a JSON-ready dict."""
    report = opened.report
    attachments = []
    for a in report.attachments:
        item: dict[str, Any] = {
            "kind": a.kind,
            "mime": a.mime,
            "name": a.name,
            "size": len(a.data),
            "cleaned": a.cleaned,
        }
        if with_attachments:
            item["data"] = base64.b64encode(a.data).decode("ascii")
        attachments.append(item)
    return {
        "id": str(opened.row.id),
        "received_day": report.received_day,
        "expires_day": opened.row.expires_day,
        "language": report.language,
        "answers": report.answers,
        "attachments": attachments,
    }


def to_json(reports: Iterable[Opened], *, with_attachments: bool = False) -> bytes:
    """All reports as one JSON document."""
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "reports": [report_record(o, with_attachments=with_attachments) for o in reports],
    }
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def to_csv(reports: Iterable[Opened]) -> bytes:
    """One row per report; one column per answer field; list answers joined with '; '."""
    opened = list(reports)
    fields = sorted({name for o in opened for name in o.report.answers} - set(_FIXED_COLUMNS))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_FIXED_COLUMNS + fields)
    for o in opened:
        answers = o.report.answers
        row = [
            str(o.row.id),
            o.report.received_day,
            o.row.expires_day,
            o.report.language,
            str(len(o.report.attachments)),
        ]
        for name in fields:
            value = answers.get(name, "")
            row.append("; ".join(value) if isinstance(value, list) else value)
        writer.writerow([_cell(cell) for cell in row])
    # UTF-8 with BOM so spreadsheet programs show Kazakh and Russian text correctly.
    return buffer.getvalue().encode("utf-8-sig")


def write_export(path: Path, data: bytes) -> None:
    """Write an export file all-or-nothing, readable by its owner only."""
    write_atomic(path, data, mode=0o600)
