"""Exporting decrypted reports to JSON or CSV for the organisation's own records.

The export is plaintext on the caseworker's computer: it is written all-or-nothing with mode
0600, and attachment content is left out unless asked for.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from caseworker.opening import Opened
from storage.atomicfile import write_atomic

EXPORT_FORMAT = "safe-report-export"
EXPORT_VERSION = 1
_FIXED_COLUMNS = ["id", "received_day", "expires_day", "language", "attachments"]
# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# What the desk adds per report: the case's status, tags, assignee and history, by report id.
Cases = Mapping[str, Mapping[str, Any]]


def report_record(
    opened: Opened, *, with_attachments: bool, case: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One report as a JSON-ready dict (with its case, from the desk, when given)."""
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
    record = {
        "id": str(opened.row.id),
        "received_day": report.received_day,
        "expires_day": opened.row.expires_day,
        "language": report.language,
        "answers": report.answers,
        "attachments": attachments,
    }
    if case is not None:
        record["case"] = dict(case)
    return record


def to_json(
    reports: Iterable[Opened], *, with_attachments: bool = False, cases: Cases | None = None
) -> bytes:
    """All reports as one JSON document (each with its case when `cases` has it)."""
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "reports": [
            report_record(
                o,
                with_attachments=with_attachments,
                case=cases.get(str(o.row.id)) if cases is not None else None,
            )
            for o in reports
        ],
    }
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


_CASE_COLUMNS = ["status", "tags", "assignee"]


def to_csv(reports: Iterable[Opened], *, cases: Cases | None = None) -> bytes:
    """One row per report; one column per answer field; list answers joined with '; '. With
    `cases` (the desk), the case's status, tags and assignee follow the fixed columns."""
    opened = list(reports)
    fields = sorted({name for o in opened for name in o.report.answers} - set(_FIXED_COLUMNS))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    extra = _CASE_COLUMNS if cases is not None else []
    writer.writerow(_FIXED_COLUMNS + extra + fields)
    for o in opened:
        answers = o.report.answers
        row = [
            str(o.row.id),
            o.report.received_day,
            o.row.expires_day,
            o.report.language,
            str(len(o.report.attachments)),
        ]
        if cases is not None:
            case = cases.get(str(o.row.id), {})
            row += [str(case.get(c, "")) for c in ("status", "tags", "assignee")]
        for name in fields:
            value = answers.get(name, "")
            row.append("; ".join(value) if isinstance(value, list) else value)
        writer.writerow([_cell(cell) for cell in row])
    # UTF-8 with BOM so spreadsheet programs show Kazakh and Russian text correctly.
    return buffer.getvalue().encode("utf-8-sig")


def write_export(path: Path, data: bytes) -> None:
    """Write an export file all-or-nothing, readable by its owner only."""
    write_atomic(path, data, mode=0o600)
