"""Sealing and opening envelopes: round trips, tamper evidence, padding, format rules."""

from __future__ import annotations

import struct
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storage_helpers import make_report

from storage.envelope import (
    MAGIC,
    bucket_size,
    envelope_overhead,
    open_envelope,
    pad,
    parse,
    seal,
    sealed_size,
    unpad,
)
from storage.errors import (
    BadPayload,
    InvalidReport,
    NotForThisKey,
    Tampered,
    UnknownFormat,
)
from storage.keys import PrivateKey
from storage.report import Attachment, Report, ReportId, encode_report


def test_round_trip_one_hybrid_recipient(hybrid_key: PrivateKey, report: Report) -> None:
    rid = ReportId.new()
    envelope = seal(report, rid, [hybrid_key.public])
    assert open_envelope(envelope, rid, hybrid_key) == report


def test_round_trip_one_x25519_recipient(x25519_key: PrivateKey, report: Report) -> None:
    rid = ReportId.new()
    envelope = seal(report, rid, [x25519_key.public])
    assert open_envelope(envelope, rid, x25519_key) == report


def test_two_recipients_each_decrypt(
    hybrid_key: PrivateKey, x25519_key: PrivateKey, report: Report
) -> None:
    rid = ReportId.new()
    envelope = seal(report, rid, [hybrid_key.public, x25519_key.public])
    assert open_envelope(envelope, rid, hybrid_key) == report
    assert open_envelope(envelope, rid, x25519_key) == report


def test_wrong_key_is_not_for_this_key(
    hybrid_key: PrivateKey, other_key: PrivateKey, x25519_key: PrivateKey, report: Report
) -> None:
    rid = ReportId.new()
    envelope = seal(report, rid, [hybrid_key.public])
    with pytest.raises(NotForThisKey):
        open_envelope(envelope, rid, other_key)
    with pytest.raises(NotForThisKey):
        open_envelope(envelope, rid, x25519_key)


def test_envelope_moved_to_another_id_is_tampered(hybrid_key: PrivateKey, report: Report) -> None:
    envelope = seal(report, ReportId.new(), [hybrid_key.public])
    with pytest.raises(Tampered):
        open_envelope(envelope, ReportId.new(), hybrid_key)


def test_flipped_byte_anywhere_is_rejected(
    x25519_key: PrivateKey, hybrid_key: PrivateKey, report: Report
) -> None:
    # Two recipients so a flip in the *other* recipient's stanza is covered too.
    rid = ReportId.new()
    envelope = seal(report, rid, [hybrid_key.public, x25519_key.public])
    for position in range(len(envelope)):
        changed = bytearray(envelope)
        changed[position] ^= 0x01
        expected = UnknownFormat if position < len(MAGIC) + 1 else Tampered
        with pytest.raises(expected):
            open_envelope(bytes(changed), rid, x25519_key)


def test_truncated_at_every_length_is_tampered(x25519_key: PrivateKey) -> None:
    rid = ReportId.new()
    envelope = seal(make_report(), rid, [x25519_key.public])
    for length in range(len(envelope)):
        with pytest.raises(Tampered):
            open_envelope(envelope[:length], rid, x25519_key)


def test_trailing_bytes_are_tampered(x25519_key: PrivateKey, report: Report) -> None:
    rid = ReportId.new()
    envelope = seal(report, rid, [x25519_key.public])
    with pytest.raises(Tampered, match="trailing"):
        open_envelope(envelope + b"\x00", rid, x25519_key)


def test_unknown_version_is_rejected_clearly(x25519_key: PrivateKey, report: Report) -> None:
    rid = ReportId.new()
    envelope = bytearray(seal(report, rid, [x25519_key.public]))
    envelope[len(MAGIC)] = 2
    with pytest.raises(UnknownFormat, match="version 2 is not supported"):
        open_envelope(bytes(envelope), rid, x25519_key)


def test_not_an_envelope_is_unknown_format(x25519_key: PrivateKey) -> None:
    with pytest.raises(UnknownFormat):
        open_envelope(b"PK\x03\x04 a zip file", ReportId.new(), x25519_key)


def test_zero_stanzas_is_rejected(x25519_key: PrivateKey) -> None:
    envelope = MAGIC + bytes([1, 0]) + struct.pack(">I", 1040) + bytes(1040)
    with pytest.raises(Tampered, match="no recipient"):
        open_envelope(envelope, ReportId.new(), x25519_key)


def test_payloads_in_one_bucket_have_equal_length(x25519_key: PrivateKey) -> None:
    short = seal(make_report("a"), ReportId.new(), [x25519_key.public])
    longer = seal(make_report("b" * 500), ReportId.new(), [x25519_key.public])
    assert len(short) == len(longer)
    bigger = seal(make_report("c" * 1500), ReportId.new(), [x25519_key.public])
    assert len(bigger) > len(short)
    assert parse(bigger).padded_size == 2048


def test_envelope_size_is_bucket_plus_overhead(
    hybrid_key: PrivateKey, x25519_key: PrivateKey, report: Report
) -> None:
    envelope = seal(report, ReportId.new(), [hybrid_key.public, x25519_key.public])
    expected = 1024 + envelope_overhead(["mlkem768x25519", "x25519"])
    assert len(envelope) == expected


def test_bucket_sizes() -> None:
    assert bucket_size(1) == 1024
    assert bucket_size(1025) == 2048
    assert bucket_size(1024 * 1024) == 1024 * 1024
    assert bucket_size(1024 * 1024 + 1) == 1024 * 1024 + 64 * 1024
    with pytest.raises(InvalidReport):
        bucket_size(65 * 1024 * 1024)


@given(st.binary(max_size=5000))
def test_pad_unpad_round_trip(payload: bytes) -> None:
    padded = pad(payload)
    assert len(padded) == bucket_size(len(payload) + 4)
    assert unpad(padded) == payload


def test_nonzero_padding_is_rejected() -> None:
    padded = bytearray(pad(b"{}"))
    padded[-1] = 1
    with pytest.raises(BadPayload):
        unpad(bytes(padded))


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(max_size=300),
    forms=st.lists(st.text(max_size=20), max_size=4),
    data=st.binary(max_size=300),
)
def test_any_report_round_trips(
    x25519_key: PrivateKey, text: str, forms: list[str], data: bytes
) -> None:
    report = Report(
        language="ru",
        answers={"text": text, "forms": forms},
        received_day="2024-02-29",
        attachments=[Attachment(kind="voice", mime="audio/ogg", name="v.ogg", data=data)],
    )
    rid = ReportId.new()
    assert open_envelope(seal(report, rid, [x25519_key.public]), rid, x25519_key) == report


def test_duplicate_recipients_refused(x25519_key: PrivateKey, report: Report) -> None:
    with pytest.raises(InvalidReport):
        seal(report, ReportId.new(), [x25519_key.public, x25519_key.public])
    with pytest.raises(InvalidReport):
        seal(report, ReportId.new(), [])


def test_sealing_a_large_report_takes_one_envelope_of_memory(hybrid_key: PrivateKey) -> None:
    """The JSON and its base64 are written into the envelope's buffer and encrypted there: the
    peak is the envelope itself, not the several copies building it the simple way took."""
    files = [Attachment("document", "application/pdf", "a.pdf", bytes(range(256)) * 20_000)] * 3
    report = Report(
        language="kk", answers={"t": "сәлем"}, received_day="2025-01-01", attachments=files
    )
    rid = ReportId.new()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        envelope = seal(report, rid, [hybrid_key.public])
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert len(envelope) == sealed_size(report, ["mlkem768x25519"])
    # The envelope, plus the fixed working pieces (a chunk of base64 at a time): not 3x.
    assert peak < len(envelope) + 4 * 1024 * 1024, (peak, len(envelope))
    opened = open_envelope(envelope, rid, hybrid_key)
    assert opened == report and encode_report(opened) == encode_report(report)
