"""The follow-up vectors (tests/storage/vectors/followup_v1.json) hold: typed receipts read as
they say, the derivation gives the recorded lookup id and reply key (HKDF recomputed here from
RFC 5869 with the standard library, as a reader working from FORMAT.md would), and every reply,
status and message envelope opens, or fails, as it says."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from load_vectors import load_vectors

import storage.errors
import storage.receipts
from storage.events import EventId, open_event
from storage.followups import MessageId, open_message, read_thread
from storage.keys import PrivateKey, parse_public_key
from storage.receipts import (
    LOOKUP_INFO,
    REPLY_KEY_INFO,
    Receipt,
    ReceiptCost,
    derive,
    parse_receipt,
)
from storage.report import ReportId, decode_report

VECTORS = load_vectors("followup_v1.json")


def _hkdf_sha256(ikm: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 with an empty salt (HashLen zero bytes), written out."""
    prk = hmac.new(bytes(32), ikm, hashlib.sha256).digest()
    okm, block = b"", b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
    return okm[:length]


def _key(name: str) -> PrivateKey:
    spec = VECTORS["keys"][name]
    seed = spec.get("signing_seed")
    key = PrivateKey(
        kind=spec["kind"],
        raw=bytes.fromhex(spec["private"]),
        signing=bytes.fromhex(seed) if seed else None,
    )
    assert key.public == parse_public_key(spec["public"])
    return key


@pytest.mark.parametrize("case", VECTORS["parse"], ids=lambda c: c["name"])
def test_typed_receipt_vector(case: dict[str, Any]) -> None:
    if case["expect"] == "success":
        assert parse_receipt(case["typed"]).digits == case["digits"]
    else:
        with pytest.raises(getattr(storage.receipts, case["error"])):
            parse_receipt(case["typed"])


@pytest.mark.parametrize(
    "case", VECTORS["derive"], ids=lambda c: f"{c['receipt']}-{c['memory_kib']}"
)
def test_derivation_vector(case: dict[str, Any]) -> None:
    salt = bytes.fromhex(case["salt"])
    secret = Argon2id(
        salt=salt,
        length=32,
        iterations=case["iterations"],
        lanes=case["lanes"],
        memory_cost=case["memory_kib"],
    ).derive(case["receipt"].encode("ascii"))
    assert secret.hex() == case["argon2id"]
    assert _hkdf_sha256(secret, LOOKUP_INFO, 32).hex() == case["lookup_id"]
    assert _hkdf_sha256(secret, REPLY_KEY_INFO, 32).hex() == case["reply_seed"]
    reply = PrivateKey(kind="mlkem768x25519", raw=bytes.fromhex(case["reply_seed"]))
    assert reply.public.text == case["reply_public"]
    assert reply.public.key_id.hex() == case["reply_key_id"]
    cost = ReceiptCost(
        memory_kib=case["memory_kib"], iterations=case["iterations"], lanes=case["lanes"]
    )
    ours = derive(Receipt(case["receipt"]), salt, cost)
    assert (ours.lookup_id.hex(), ours.public.text) == (case["lookup_id"], case["reply_public"])


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["name"])
def test_followup_envelope_vector(case: dict[str, Any]) -> None:
    key = _key(case["key"])
    envelope = bytes.fromhex(case["envelope"])
    rid = ReportId(bytes.fromhex(case["report_id"]))
    if case["purpose"] == "SREV":
        eid = EventId(bytes.fromhex(case["event_id"]))
        opened = open_event(envelope, eid, rid, key)
        assert opened.author == _key(case["author"]).public
        expected = case["event"]
        assert (opened.event.kind, dict(opened.event.body)) == (expected["kind"], expected["body"])
        assert (opened.event.day, opened.event.seq) == (expected["day"], expected["seq"])
        if case["key"] == "reporter":
            team = [_key("hybrid-a").public, _key("x25519-b").public]
            assert (
                read_thread([(eid, envelope)], rid, key, team).replies
                or expected["kind"] != "reply"
            )
        return
    mid = MessageId(bytes.fromhex(case["message_id"]))
    if case["expect"] == "success":
        message = open_message(envelope, mid, rid, key)
        assert message == decode_report(
            json.dumps(case["payload"], ensure_ascii=False).encode("utf-8")
        )
    else:
        assert case["why"]
        with pytest.raises(getattr(storage.errors, case["error"])):
            open_message(envelope, mid, rid, key)
