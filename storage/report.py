"""A report as the survivor gave it: the plaintext that only a caseworker ever sees.

The payload is canonical JSON so that any implementation of the format produces and reads the same
bytes. `repr()` of these classes never shows answers, text or attachment data: a stray log line or
traceback must not leak what a survivor wrote.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Self

from storage.errors import BadPayload, InvalidReport, ReportNotFound

ATTACHMENT_KINDS = frozenset({"photo", "document", "voice"})
_ID_BYTES = 16
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# A language tag, not free text: keeps an identifier-shaped value out of this field by construction.
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})?")

AnswerValue = str | list[str]


@dataclass(frozen=True, slots=True)
class ReportId:
    """A random 128-bit report id. Random, not sequential, so an id says nothing about when or in
    which order reports arrived."""

    value: bytes

    def __post_init__(self) -> None:
        if len(self.value) != _ID_BYTES:
            raise ValueError(f"a report id is {_ID_BYTES} bytes, got {len(self.value)}")

    @classmethod
    def new(cls) -> Self:
        """A fresh id from the OS random source."""
        return cls(secrets.token_bytes(_ID_BYTES))

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse the hex form, with or without the dashes of `str()`."""
        digits = _normalise_id_text(text)
        if len(digits) != 2 * _ID_BYTES:
            raise ReportNotFound(f"a report id has {2 * _ID_BYTES} hex digits: {text!r}")
        return cls(bytes.fromhex(digits))

    @property
    def hex(self) -> str:
        """32 lowercase hex digits, no separators (for files and exports)."""
        return self.value.hex()

    def __str__(self) -> str:
        # Eight groups of four read aloud and compare more easily than one 32-digit run.
        h = self.value.hex()
        return "-".join(h[i : i + 4] for i in range(0, len(h), 4))


def _normalise_id_text(text: str) -> str:
    digits = text.strip().lower().replace("-", "").replace(" ", "")
    if not re.fullmatch(r"[0-9a-f]*", digits):
        raise ReportNotFound(f"not a report id (hex digits expected): {text!r}")
    return digits


def id_prefix(text: str) -> str:
    """Normalise a possibly shortened id typed by a caseworker to bare lowercase hex."""
    return _normalise_id_text(text)


# weakref_slot: the bot counts the evidence bytes held in memory by the attachments still alive.
@dataclass(frozen=True, slots=True, weakref_slot=True)
class Attachment:
    """A file the survivor attached. `kind` is photo, document or voice.

    `cleaned` says the bot removed identifying metadata (location, device, times, text tags) from
    the file before sealing it; false means the file is exactly as she sent it.
    """

    kind: str
    mime: str
    name: str
    data: bytes = field(repr=False)
    cleaned: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ATTACHMENT_KINDS:
            raise InvalidReport(f"attachment kind must be one of {sorted(ATTACHMENT_KINDS)}")
        if not isinstance(self.data, bytes):
            raise InvalidReport("attachment data must be bytes")
        if not isinstance(self.cleaned, bool):
            raise InvalidReport("attachment 'cleaned' must be true or false")


@dataclass(frozen=True, slots=True)
class Report:
    """One report. `received_day` is an ISO day (YYYY-MM-DD) and never a time: invariant 1 of the
    design forbids keeping the exact time of a user's action."""

    language: str
    answers: dict[str, AnswerValue] = field(repr=False)
    received_day: str
    attachments: list[Attachment] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not _LANGUAGE.fullmatch(self.language):
            raise InvalidReport("language must be a short language tag such as 'kk', 'ru', 'en'")
        _check_day(self.received_day, InvalidReport)
        for key, value in self.answers.items():
            if not isinstance(key, str):
                raise InvalidReport("answer fields must be strings")
            if isinstance(value, list):
                if not all(isinstance(v, str) for v in value):
                    raise InvalidReport(f"answer {key!r}: every value in a list must be a string")
            elif not isinstance(value, str):
                raise InvalidReport(f"answer {key!r} must be a string or a list of strings")
        for attachment in self.attachments:
            if not isinstance(attachment, Attachment):
                raise InvalidReport("attachments must be Attachment objects")

    @property
    def day(self) -> date:
        """`received_day` as a date."""
        return date.fromisoformat(self.received_day)


def _check_day(text: object, error: type[Exception]) -> None:
    # fullmatch first: date.fromisoformat in 3.11 also accepts forms like "20240101" and we want
    # exactly one spelling, with no room for a time part.
    if not isinstance(text, str) or not _DAY.fullmatch(text):
        raise error("received_day must be an ISO day YYYY-MM-DD, with no time")
    try:
        date.fromisoformat(text)
    except ValueError as exc:
        raise error(f"received_day is not a real day: {text!r}") from exc


def encode_report(report: Report) -> bytes:
    """Canonical JSON of a report: sorted keys, no whitespace, UTF-8, attachments in base64."""
    out = bytearray(encoded_length(report))
    write_report(report, memoryview(out))
    return bytes(out)


# Attachments are base64-encoded this many bytes at a time, straight into the output: a multiple
# of 3, so the pieces join into exactly the encoding of the whole.
_B64_CHUNK = 3 * 256 * 1024


def _json(value: object) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def base64_length(size: int) -> int:
    """Bytes of padded base64 for ``size`` bytes of data."""
    return 4 * -(-size // 3)


def _pieces(report: Report) -> list[bytes | Attachment]:
    """The canonical JSON as literal pieces, with each attachment's data left for base64.

    Keys in code point order: answers, attachments, language, received_day; and in an
    attachment: cleaned, data, kind, mime, name.
    """
    pieces: list[bytes | Attachment] = [b'{"answers":', _json(report.answers), b',"attachments":[']
    for number, a in enumerate(report.attachments):
        opening = b',{"cleaned":' if number else b'{"cleaned":'
        pieces += [opening + _json(a.cleaned) + b',"data":"', a]
        pieces.append(
            b'","kind":'
            + _json(a.kind)
            + b',"mime":'
            + _json(a.mime)
            + b',"name":'
            + _json(a.name)
            + b"}"
        )
    pieces.append(
        b'],"language":'
        + _json(report.language)
        + b',"received_day":'
        + _json(report.received_day)
        + b"}"
    )
    return pieces


def encoded_length(report: Report) -> int:
    """``len(encode_report(report))``, without encoding anything."""
    return sum(
        base64_length(len(p.data)) if isinstance(p, Attachment) else len(p) for p in _pieces(report)
    )


def write_report(report: Report, out: memoryview) -> None:
    """Write the canonical JSON of ``report`` into ``out`` (exactly :func:`encoded_length`
    bytes), base64 included, with no copy of the whole: sealing a report of tens of megabytes
    then needs one buffer, not five."""
    at = 0
    for piece in _pieces(report):
        if not isinstance(piece, Attachment):
            out[at : at + len(piece)] = piece
            at += len(piece)
            continue
        data = memoryview(piece.data)
        for start in range(0, len(data), _B64_CHUNK):
            encoded = binascii.b2a_base64(data[start : start + _B64_CHUNK], newline=False)
            out[at : at + len(encoded)] = encoded
            at += len(encoded)
    if at != len(out):
        raise ValueError(f"report JSON is {at} bytes, the buffer {len(out)}")


def decode_report(payload: bytes) -> Report:
    """Parse canonical JSON back into a `Report`; any schema fault raises `BadPayload`."""
    try:
        document = json.loads(payload.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        # RecursionError: JSON nested deeper than the parser goes. No report is deeper than
        # three, but anyone holding a caseworker's public key can seal any bytes to her.
        raise BadPayload("report payload is not UTF-8 JSON") from exc
    if not isinstance(document, dict) or set(document) != {
        "language",
        "received_day",
        "answers",
        "attachments",
    }:
        raise BadPayload("report payload does not have exactly the v1 fields")
    answers = document["answers"]
    attachments = document["attachments"]
    if not isinstance(answers, dict) or not isinstance(attachments, list):
        raise BadPayload("report payload: answers must be an object, attachments a list")
    try:
        return Report(
            language=_expect_str(document["language"]),
            received_day=_expect_str(document["received_day"]),
            answers=answers,
            attachments=[_decode_attachment(a) for a in attachments],
        )
    except InvalidReport as exc:
        raise BadPayload(f"report payload: {exc}") from exc


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two readers must never see two different reports in the same bytes: a repeated key is
    # ambiguous (one parser keeps the first, another the last), so it is refused.
    document = dict(pairs)
    if len(document) != len(pairs):
        raise BadPayload("report payload: an object repeats a key")
    return document


_ATTACHMENT_FIELDS = frozenset({"kind", "mime", "name", "data"})


def _decode_attachment(item: Any) -> Attachment:
    # `cleaned` arrived in November 2026; a report sealed before then has none, and its files were
    # never cleaned, so its absence reads as false.
    if not isinstance(item, dict) or set(item) - {"cleaned"} != _ATTACHMENT_FIELDS:
        raise BadPayload("report payload: malformed attachment")
    cleaned = item.get("cleaned", False)
    if not isinstance(cleaned, bool):
        raise BadPayload("report payload: attachment 'cleaned' is not true or false")
    try:
        data = base64.b64decode(_expect_str(item["data"]), validate=True)
    except binascii.Error as exc:
        raise BadPayload("report payload: attachment data is not base64") from exc
    return Attachment(
        kind=_expect_str(item["kind"]),
        mime=_expect_str(item["mime"]),
        name=_expect_str(item["name"]),
        data=data,
        cleaned=cleaned,
    )


def _expect_str(value: Any) -> str:
    if not isinstance(value, str):
        raise BadPayload("report payload: a text field is not a string")
    return value
