"""Every checked-in vector opens (or fails) exactly as it says."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from load_vectors import cases, load_vectors

import storage.errors
from storage.envelope import open_envelope
from storage.events import EventId, open_event
from storage.keys import Passphrase, PrivateKey, decode_private_key_file, parse_public_key
from storage.report import ReportId, decode_report, encode_report

ENVELOPE = load_vectors("envelope_v1.json")


def _key(name: str) -> PrivateKey:
    spec = ENVELOPE["keys"][name]
    key = PrivateKey(kind=spec["kind"], raw=bytes.fromhex(spec["private"]))
    # The recorded public key, fingerprint and key id follow from the private key.
    assert key.public == parse_public_key(spec["public"])
    assert key.public.fingerprint == spec["fingerprint"]
    assert key.public.key_id.hex() == spec["key_id"]
    return key


@pytest.mark.parametrize("case", cases("envelope_v1.json"), ids=lambda c: c["name"])
def test_envelope_vector(case: dict[str, Any]) -> None:
    key = _key(case["key"])
    envelope = bytes.fromhex(case["envelope"])
    rid = ReportId(bytes.fromhex(case["report_id"]))
    if case["expect"] == "success":
        report = open_envelope(envelope, rid, key)
        if "payload_sha256" in case:  # a large payload, given by its hash
            payload = encode_report(report)
            assert hashlib.sha256(payload).hexdigest() == case["payload_sha256"]
        else:
            # The report the sealed JSON says, read by the same rules (a vector sealed before
            # attachments carried `cleaned` reads it as false, and re-encodes with it).
            assert report == decode_report(case["payload_json"].encode("utf-8"))
    else:
        assert case["expect"] == "failure" and case["why"]
        with pytest.raises(getattr(storage.errors, case["error"])):
            open_envelope(envelope, rid, key)


@pytest.mark.parametrize("case", cases("keyfile_v1.json"), ids=lambda c: c["name"])
def test_keyfile_vector(case: dict[str, Any]) -> None:
    data = case["file"].encode("utf-8")
    if case["expect"] == "success":
        key = decode_private_key_file(data, Passphrase(case["passphrase"]))
        assert key.raw.hex() == case["private"]
    else:
        with pytest.raises(getattr(storage.errors, case["error"])):
            decode_private_key_file(data, Passphrase(case["passphrase"]))


def test_vectors_cover_the_must_reject_rules() -> None:
    errors = {c["error"] for c in cases("envelope_v1.json") if c["expect"] == "failure"}
    assert errors == {"Tampered", "UnknownFormat", "NotForThisKey", "BadPayload"}


EVENTS = load_vectors("case_event_v1.json")


def _v2_key(name: str) -> PrivateKey:
    spec = EVENTS["keys"][name]
    key = PrivateKey(
        kind=spec["kind"],
        raw=bytes.fromhex(spec["private"]),
        signing=bytes.fromhex(spec["signing_seed"]),
    )
    assert key.public == parse_public_key(spec["public"])
    assert key.public.fingerprint == spec["fingerprint"]
    assert key.public.key_id.hex() == spec["key_id"]
    return key


@pytest.mark.parametrize("case", cases("case_event_v1.json"), ids=lambda c: c["name"])
def test_case_event_vector(case: dict[str, Any]) -> None:
    key = _v2_key(case["key"])
    envelope = bytes.fromhex(case["envelope"])
    eid = EventId(bytes.fromhex(case["event_id"]))
    rid = ReportId(bytes.fromhex(case["report_id"]))
    if case["expect"] == "success":
        opened = open_event(envelope, eid, rid, key)
        assert opened.author == _v2_key(case["author"]).public
        assert opened.name == case["author_name"]
        expected = case["event"]
        assert (opened.event.kind, dict(opened.event.body)) == (expected["kind"], expected["body"])
        assert (opened.event.day, opened.event.seq) == (expected["day"], expected["seq"])
    else:
        assert case["why"]
        with pytest.raises(getattr(storage.errors, case["error"])):
            open_event(envelope, eid, rid, key)


@pytest.mark.parametrize("case", cases("keyfile_v2.json"), ids=lambda c: c["name"])
def test_keyfile_v2_vector(case: dict[str, Any]) -> None:
    data = case["file"].encode("utf-8")
    if case["expect"] == "success":
        key = decode_private_key_file(data, Passphrase(case["passphrase"]))
        assert key.raw.hex() == case["private"]
        assert key.signing is not None and key.signing.hex() == case["signing_seed"]
    else:
        with pytest.raises(getattr(storage.errors, case["error"])):
            decode_private_key_file(data, Passphrase(case["passphrase"]))
