"""The report model: day-only invariant, canonical JSON, ids, no plaintext in repr."""

from __future__ import annotations

import pytest
from storage_helpers import MARKER, make_report

from storage.errors import BadPayload, InvalidReport, ReportNotFound
from storage.report import Attachment, Report, ReportId, decode_report, encode_report


@pytest.mark.parametrize(
    "day", ["2025-03-14T10:22:00", "2025-03-14 10:22", "20250314", "2025-02-30", "", "14.03.2025"]
)
def test_received_day_refuses_anything_but_a_day(day: str) -> None:
    with pytest.raises(InvalidReport):
        make_report(day=day)


def test_canonical_json_is_sorted_and_compact() -> None:
    report = Report(language="en", answers={"b": "2", "a": ["x"]}, received_day="2025-01-01")
    assert encode_report(report) == (
        b'{"answers":{"a":["x"],"b":"2"},"attachments":[],'
        b'"language":"en","received_day":"2025-01-01"}'
    )
    assert decode_report(encode_report(report)) == report


def test_canonical_json_keeps_unicode_as_utf8() -> None:
    report = Report(language="kk", answers={"text": "Сәлем"}, received_day="2025-01-01")
    assert "Сәлем".encode() in encode_report(report)


def test_repr_shows_no_plaintext() -> None:
    report = make_report(photo=b"SECRET-PHOTO")
    assert MARKER not in repr(report)
    assert "SECRET-PHOTO" not in repr(report.attachments[0])


def test_attachment_kind_is_checked() -> None:
    with pytest.raises(InvalidReport):
        Attachment(kind="video", mime="video/mp4", name="x", data=b"")


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[]", b'{"language":"en"}', "\udcff".encode("utf-8", "surrogatepass")],
)
def test_decode_rejects_malformed_payloads(payload: bytes) -> None:
    with pytest.raises(BadPayload):
        decode_report(payload)


def test_report_id_text_forms() -> None:
    rid = ReportId.new()
    assert len(str(rid)) == 39
    assert ReportId.parse(str(rid)) == rid
    assert ReportId.parse(rid.hex.upper()) == rid
    with pytest.raises(ReportNotFound):
        ReportId.parse("xyz")
    assert ReportId.new() != rid
