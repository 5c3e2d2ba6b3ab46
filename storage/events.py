"""Case events: what caseworkers record about a report (status, notes, tags, assignment), sealed
like a report so the server stores them without reading them (specified in storage/FORMAT.md).

An event is signed by its author's Ed25519 key, then sealed (an `SREV` envelope, its own HPKE
`info`) to every caseworker key. The payload's associated data binds the event id and the report
id, so an event cannot be moved to another report or row, and the signature binds them too, so a
caseworker cannot forge a colleague's event even though she can open it.

Kinds are data: a reader keeps an event of a kind it does not know (a later version's) and shows
it as such, so new kinds were added without a new format: `reply` and `reporter_status` are sealed
to the survivor's reply key as well as the team's (storage/followups.py), the rest to the team.
"""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature

from storage.envelope import CASE_EVENT, open_for, pad, seal_for
from storage.errors import BadKeyFile, BadPayload, BadPublicKey, InvalidReport, Tampered
from storage.keys import PrivateKey, PublicKey, check_key_name, parse_public_key
from storage.report import ReportId

SIGNATURE_CONTEXT = b"safe-report/v1 case-event signature\x00"
STATUSES = ("new", "in_progress", "closed")
# What the survivor may be shown (a `reporter_status` event), separate from the internal status.
REPORTER_STATUSES = ("received", "reading", "answered", "closed")
# Kinds sealed to her reply key as well as the team's: the only ones the bot ever shows her.
REPLY, REPORTER_STATUS = "reply", "reporter_status"
FOR_REPORTER = frozenset({REPLY, REPORTER_STATUS})
MAX_REPLY_CHARS = 4000
MAX_NOTE_CHARS = 4000
MAX_TAG_CHARS = 40
MAX_SEQ = 2**31 - 1
# The whole payload: a note of 4,000 characters is at most 16,000 bytes of UTF-8, plus the author.
MAX_EVENT_PAYLOAD = 32 * 1024
_FIELDS = frozenset({"author", "body", "day", "kind", "name", "seq", "sig"})


class EventId(ReportId):
    """A random 128-bit case event id (like a report id: it says nothing about time or order)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One change to a case. `seq` orders a report's events (one more than the highest its author
    had seen); `day` is a day, never a time. `body` depends on `kind` (see `check_body`)."""

    kind: str
    body: Mapping[str, Any] = field(repr=False)
    day: str
    seq: int

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not 1 <= len(self.kind) <= 32:
            raise InvalidReport("an event kind is 1 to 32 characters")
        if not self.kind.replace("_", "").isalnum() or not self.kind.isascii():
            raise InvalidReport("an event kind is ASCII letters, digits and '_'")
        if isinstance(self.seq, bool) or not isinstance(self.seq, int):
            raise InvalidReport("an event's seq is an integer")
        if not 1 <= self.seq <= MAX_SEQ:
            raise InvalidReport("an event's seq is between 1 and 2**31 - 1")
        try:
            if date.fromisoformat(self.day).isoformat() != self.day:
                raise ValueError(self.day)
        except (TypeError, ValueError):
            raise InvalidReport("an event's day is YYYY-MM-DD, with no time") from None
        check_body(self.kind, self.body)


@dataclass(frozen=True, slots=True)
class SignedEvent:
    """An opened event, the key that signed it (checked: the signature verified) and the name
    its author goes by (signed too, but only a label: the key's fingerprint identifies her)."""

    event: CaseEvent
    author: PublicKey
    name: str = ""


def _text(value: object, limit: int, what: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise InvalidReport(f"{what} is 1 to {limit} characters")
    return value


def check_body(kind: str, body: Mapping[str, Any]) -> None:
    """Validate the body of a known kind; any JSON object is kept for an unknown kind."""
    if not isinstance(body, Mapping):
        raise InvalidReport("an event body is an object")
    expected = {
        "status": {"status"},
        "note": {"text"},
        "tag": {"tag", "on"},
        "assign": {"to"},
        REPLY: {"text"},
        REPORTER_STATUS: {"status"},
    }
    if kind not in expected:
        return
    if set(body) != expected[kind]:
        raise InvalidReport(f"a {kind} event has exactly {sorted(expected[kind])}")
    if kind == "status" and body["status"] not in STATUSES:
        raise InvalidReport(f"a status is one of {', '.join(STATUSES)}")
    if kind == "note":
        _text(body["text"], MAX_NOTE_CHARS, "a note")
    if kind == REPLY:
        _text(body["text"], MAX_REPLY_CHARS, "a reply")
    if kind == REPORTER_STATUS and body["status"] not in REPORTER_STATUSES:
        raise InvalidReport(f"the status she sees is one of {', '.join(REPORTER_STATUSES)}")
    if kind == "tag":
        tag = _text(body["tag"], MAX_TAG_CHARS, "a tag")
        if any(unicodedata.category(ch).startswith("C") for ch in tag) or tag != tag.strip():
            raise InvalidReport("a tag has no control characters and no surrounding spaces")
        if not isinstance(body["on"], bool):
            raise InvalidReport("a tag event says on: true or false")
    if kind == "assign" and not isinstance(body["to"], str):
        raise InvalidReport("an assignment names a key fingerprint, or '' for nobody")


def _canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _unsigned(event: CaseEvent, author: PublicKey, name: str) -> dict[str, Any]:
    return {
        "author": author.text,
        "body": dict(event.body),
        "day": event.day,
        "kind": event.kind,
        "name": name,
        "seq": event.seq,
    }


def _signed_bytes(event_id: EventId, report_id: ReportId, unsigned: Mapping[str, Any]) -> bytes:
    return SIGNATURE_CONTEXT + event_id.value + report_id.value + _canonical(unsigned)


def encode_event(
    event: CaseEvent, event_id: EventId, report_id: ReportId, author: PrivateKey, name: str = ""
) -> bytes:
    """The canonical JSON payload of `event`, signed by `author` (a version 2 key) who goes by
    `name`."""
    unsigned = _unsigned(event, author.public, check_key_name(name))
    signature = author.sign(_signed_bytes(event_id, report_id, unsigned))
    payload = _canonical({**unsigned, "sig": base64.urlsafe_b64encode(signature).decode("ascii")})
    if len(payload) > MAX_EVENT_PAYLOAD:
        raise InvalidReport(f"a case event is at most {MAX_EVENT_PAYLOAD} bytes")
    return payload


def seal_event(
    event: CaseEvent,
    event_id: EventId,
    report_id: ReportId,
    author: PrivateKey,
    recipients: Sequence[PublicKey],
    name: str = "",
) -> bytes:
    """Sign `event` with `author`'s key and seal it to every recipient: an SREV envelope."""
    payload = encode_event(event, event_id, report_id, author, name)
    # bytes, not the sealing buffer: an event is small, and caches and stores keep it as it is.
    return bytes(seal_for(CASE_EVENT, pad(payload), event_id.value + report_id.value, recipients))


def decode_event(payload: bytes, event_id: EventId, report_id: ReportId) -> SignedEvent:
    """Parse an event payload and verify its author's signature. Raises `BadPayload` for a
    schema fault and `Tampered` for a signature that does not verify."""
    try:
        document = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadPayload("case event payload is not UTF-8 JSON") from exc
    if not isinstance(document, dict) or set(document) != _FIELDS:
        raise BadPayload("case event payload does not have exactly the v1 fields")
    try:
        author = author_key(_str(document["author"]))
        event = CaseEvent(
            kind=_str(document["kind"]),
            body=_object(document["body"]),
            day=_str(document["day"]),
            seq=document["seq"],
        )
        signature = base64.urlsafe_b64decode(_str(document["sig"]))
        name = check_key_name(_str(document["name"]))
    except (InvalidReport, BadPublicKey, BadKeyFile, binascii.Error, ValueError) as exc:
        raise BadPayload(f"case event payload: {exc}") from exc
    unsigned = {k: v for k, v in document.items() if k != "sig"}
    try:
        author.verify_key().verify(signature, _signed_bytes(event_id, report_id, unsigned))
    except (InvalidSignature, BadPublicKey):
        raise Tampered("the case event's signature does not verify") from None
    return SignedEvent(event=event, author=author, name=name)


def open_event(
    envelope: bytes | bytearray, event_id: EventId, report_id: ReportId, key: PrivateKey
) -> SignedEvent:
    """Authenticate, decrypt and verify an event envelope stored under these ids. Raises
    `UnknownFormat`, `Tampered`, `NotForThisKey` or `BadPayload`."""
    payload = open_for(CASE_EVENT, envelope, event_id.value + report_id.value, key)
    return decode_event(payload, event_id, report_id)


@lru_cache(maxsize=256)
def author_key(text: str) -> PublicKey:
    """An author's public line, parsed once: a team has a few authors and many events, and
    checking an ML-KEM public key is not free."""
    return parse_public_key(text)


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise BadPayload("case event payload: a text field is not a string")
    return value


def _object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadPayload("case event payload: body is not an object")
    return value


__all__ = [
    "FOR_REPORTER",
    "MAX_NOTE_CHARS",
    "MAX_REPLY_CHARS",
    "MAX_TAG_CHARS",
    "REPLY",
    "REPORTER_STATUS",
    "REPORTER_STATUSES",
    "STATUSES",
    "CaseEvent",
    "EventId",
    "SignedEvent",
    "author_key",
    "check_body",
    "decode_event",
    "encode_event",
    "open_event",
    "seal_event",
]
