"""Case events: signed by their author, sealed to every caseworker, bound to their report."""

from __future__ import annotations

import pytest
from storage_helpers import make_report

from storage.envelope import CASE_EVENT, open_envelope, parse, seal
from storage.errors import BadPayload, InvalidReport, NotForThisKey, Tampered, UnknownFormat
from storage.events import CaseEvent, EventId, encode_event, open_event, seal_event
from storage.keys import PrivateKey, generate_keypair
from storage.report import ReportId

NOTE = CaseEvent(
    kind="note", body={"text": "Called back; she is at her sister's."}, day="2026-11-20", seq=2
)


@pytest.fixture(scope="module")
def team() -> list[PrivateKey]:
    return [generate_keypair("mlkem768x25519"), generate_keypair("x25519")]


def test_every_caseworker_opens_and_sees_who_wrote_it(team: list[PrivateKey]) -> None:
    eid, rid = EventId.new(), ReportId.new()
    envelope = seal_event(NOTE, eid, rid, team[0], [k.public for k in team])
    assert NOTE.body["text"].encode() not in envelope
    for key in team:
        opened = open_event(envelope, eid, rid, key)
        assert opened.event == NOTE and opened.author == team[0].public


def test_an_event_cannot_move_to_another_report_or_id(team: list[PrivateKey]) -> None:
    eid, rid = EventId.new(), ReportId.new()
    envelope = seal_event(NOTE, eid, rid, team[0], [team[1].public])
    with pytest.raises(Tampered):
        open_event(envelope, eid, ReportId.new(), team[1])
    with pytest.raises(Tampered):
        open_event(envelope, EventId.new(), rid, team[1])


def test_a_report_is_never_taken_for_an_event_nor_the_reverse(team: list[PrivateKey]) -> None:
    rid = ReportId.new()
    report_envelope = seal(make_report(), rid, [team[0].public])
    with pytest.raises(UnknownFormat):
        open_event(report_envelope, EventId.new(), rid, team[0])
    eid = EventId.new()
    event_envelope = seal_event(NOTE, eid, rid, team[0], [team[0].public])
    with pytest.raises(UnknownFormat):
        open_envelope(event_envelope, rid, team[0])
    # Even with the magic rewritten, the HPKE info differs: the stanza does not open.
    disguised = b"SRPT" + event_envelope[4:]
    with pytest.raises(Tampered):
        open_envelope(disguised, rid, team[0])


def test_a_colleague_cannot_forge_an_event_in_another_name(team: list[PrivateKey]) -> None:
    # team[1] can open events, but signing one as team[0] needs team[0]'s signing key.
    eid, rid = EventId.new(), ReportId.new()
    payload = encode_event(NOTE, eid, rid, team[1])
    forged = payload.replace(team[1].public.text.encode(), team[0].public.text.encode())
    from storage.envelope import pad, seal_for

    envelope = seal_for(CASE_EVENT, pad(forged), eid.value + rid.value, [team[1].public])
    with pytest.raises(Tampered, match="signature"):
        open_event(envelope, eid, rid, team[1])


def test_not_for_this_key(team: list[PrivateKey]) -> None:
    eid, rid = EventId.new(), ReportId.new()
    envelope = seal_event(NOTE, eid, rid, team[0], [team[0].public])
    with pytest.raises(NotForThisKey, match="case event"):
        open_event(envelope, eid, rid, team[1])


def test_event_sizes_are_padded_buckets(team: list[PrivateKey]) -> None:
    short = seal_event(NOTE, EventId.new(), ReportId.new(), team[0], [team[0].public])
    status = CaseEvent(kind="status", body={"status": "closed"}, day="2026-11-20", seq=1)
    other = seal_event(status, EventId.new(), ReportId.new(), team[0], [team[0].public])
    # A status change and a short note are the same size: the kind is not visible from outside.
    assert len(short) == len(other)
    assert parse(short, CASE_EVENT).padded_size == 2048


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("status", {"status": "archived"}),
        ("status", {"status": "new", "extra": 1}),
        ("note", {"text": ""}),
        ("note", {"text": "x" * 4001}),
        ("tag", {"tag": " padded ", "on": True}),
        ("tag", {"tag": "a\u202eb", "on": True}),
        ("tag", {"tag": "ok", "on": "yes"}),
        ("assign", {"to": 5}),
        ("bad kind!", {}),
    ],
)
def test_known_kinds_are_validated(kind: str, body: dict[str, object]) -> None:
    with pytest.raises(InvalidReport):
        CaseEvent(kind=kind, body=body, day="2026-11-20", seq=1)


@pytest.mark.parametrize("day", ["2026-11-20T10:00:00", "20261120", "2026-02-30"])
def test_an_event_keeps_a_day_never_a_time(day: str) -> None:
    with pytest.raises(InvalidReport):
        CaseEvent(kind="status", body={"status": "new"}, day=day, seq=1)


def test_an_unknown_kind_from_a_later_version_is_kept(team: list[PrivateKey]) -> None:
    later = CaseEvent(
        kind="triage", body={"text": "We can help.", "lang": "kk"}, day="2026-11-21", seq=3
    )
    eid, rid = EventId.new(), ReportId.new()
    envelope = seal_event(later, eid, rid, team[0], [team[0].public])
    assert open_event(envelope, eid, rid, team[0]).event == later


def test_a_version_1_key_cannot_author_events() -> None:
    old = generate_keypair("x25519", signing=False)
    from storage.errors import BadKeyFile

    with pytest.raises(BadKeyFile):
        seal_event(NOTE, EventId.new(), ReportId.new(), old, [old.public])


def test_a_payload_with_extra_fields_is_refused(team: list[PrivateKey]) -> None:
    from storage.events import decode_event

    with pytest.raises(BadPayload):
        decode_event(b'{"kind":"note","time":"10:00"}', EventId.new(), ReportId.new())


def test_json_nested_deeper_than_the_parser_goes_is_a_bad_payload() -> None:
    # Anyone can seal bytes to a caseworker: such a payload must be "damaged", not a crash.
    from storage.events import decode_event
    from storage.report import decode_report

    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(BadPayload):
        decode_event(deep, EventId.new(), ReportId.new())
    with pytest.raises(BadPayload):
        decode_report(deep)
