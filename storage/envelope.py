"""The sealed report envelope, format v1 (specified in storage/FORMAT.md).

    magic "SRPT" | version 0x01 | stanza count N | N x (kem id | key id | HPKE enc || ct)
    | payload length | ChaCha20-Poly1305(data key, padded canonical JSON)

A fresh data key seals the padded payload; the data key is sealed to every recipient with HPKE
(RFC 9180, base mode). The payload's associated data is the report id followed by every header
byte, so the envelope cannot be moved to another row, and no stanza can be added, removed or
changed without the payload failing to open.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from storage.errors import BadPayload, InvalidReport, NotForThisKey, Tampered, UnknownFormat
from storage.keys import HPKE_KEMS, KEM_IDS, KEY_ID_LEN, KeyKind, PrivateKey, PublicKey
from storage.report import (
    Report,
    ReportId,
    decode_report,
    encoded_length,
    write_report,
)

MAGIC = b"SRPT"
VERSION = 1
HPKE_INFO = b"safe-report/v1 data-key"


@dataclass(frozen=True, slots=True)
class Purpose:
    """What an envelope carries. Each purpose has its own magic and its own HPKE `info`, so an
    envelope of one kind can never be opened as another (a case event as a report, say)."""

    magic: bytes
    info: bytes
    name: str


REPORT = Purpose(magic=MAGIC, info=HPKE_INFO, name="report")
CASE_EVENT = Purpose(magic=b"SREV", info=b"safe-report/v1 case-event data-key", name="case event")
# What a survivor writes back with her receipt: a report's payload, under its own magic and info.
FOLLOWUP = Purpose(
    magic=b"SRFM", info=b"safe-report/v1 follow-up data-key", name="follow-up message"
)
DATA_KEY_LEN = 32
TAG_LEN = 16
# The data key is used for exactly one encryption, so a fixed nonce cannot repeat under it.
PAYLOAD_NONCE = bytes(12)
MAX_RECIPIENTS = 255

KIB = 1024
MIN_BUCKET = 1 * KIB
POWER_OF_TWO_LIMIT = 1024 * KIB
LARGE_STEP = 64 * KIB
# Telegram lets a bot download files up to 20 MB; base64 adds a third. Anything beyond this is junk.
MAX_PADDED = 64 * 1024 * KIB
_LEN_PREFIX = struct.Struct(">I")

_KIND_BY_KEM_ID: dict[int, KeyKind] = {kem_id: kind for kind, kem_id in KEM_IDS.items()}
_STANZA_HEAD = struct.Struct(">H8s")


def _suite(kind: KeyKind) -> hpke.Suite:
    return hpke.Suite(HPKE_KEMS[kind], hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


def _stanza_body_len(kind: KeyKind) -> int:
    return HPKE_KEMS[kind].enc_length() + DATA_KEY_LEN + TAG_LEN


def bucket_size(needed: int) -> int:
    """The padded size for `needed` bytes: powers of two from 1 KiB up to 1 MiB, then multiples
    of 64 KiB, so an envelope's length tells an observer only a coarse size class."""
    if needed > MAX_PADDED:
        raise InvalidReport(f"report too large to seal ({needed} bytes, limit {MAX_PADDED})")
    size = MIN_BUCKET
    while size < needed and size < POWER_OF_TWO_LIMIT:
        size *= 2
    if size >= needed:
        return size
    return -(-needed // LARGE_STEP) * LARGE_STEP


def is_bucket_size(size: int) -> bool:
    """True if `size` is a size that `bucket_size` can produce."""
    return MIN_BUCKET <= size <= MAX_PADDED and bucket_size(size) == size


def pad(payload: bytes) -> bytes:
    """Length-prefix `payload` (4 bytes, big-endian) and zero-fill up to its bucket."""
    size = bucket_size(_LEN_PREFIX.size + len(payload))
    return _LEN_PREFIX.pack(len(payload)) + payload + bytes(size - _LEN_PREFIX.size - len(payload))


def unpad(padded: bytes) -> bytes:
    """Inverse of `pad`; rejects a bad length prefix or non-zero padding."""
    if len(padded) < _LEN_PREFIX.size:
        raise BadPayload("padded payload shorter than its length prefix")
    (length,) = _LEN_PREFIX.unpack_from(padded)
    end = _LEN_PREFIX.size + length
    if end > len(padded):
        raise BadPayload("payload length prefix exceeds the padded payload")
    if any(padded[end:]):
        raise BadPayload("payload padding is not all zero")
    return padded[_LEN_PREFIX.size : end]


def sealed_size(report: Report, recipient_kinds: Sequence[KeyKind]) -> int:
    """The length of the envelope `seal` would make, computed without sealing (for a vault's
    byte budget). Raises `InvalidReport` if the report is too large to seal at all."""
    return envelope_overhead(recipient_kinds) + bucket_size(
        _LEN_PREFIX.size + encoded_length(report)
    )


def seal(report: Report, report_id: ReportId, recipients: Sequence[PublicKey]) -> bytearray:
    """Seal `report` under a fresh data key sealed to every recipient. Returns the envelope.

    Memory: one buffer the size of the envelope, nothing more of that size. The canonical JSON
    (base64 and all) is written straight into the envelope's payload area, padded by the zeros
    it was made with, and encrypted there in place; the attachments themselves are the only
    other copy. (Built the simple way, a report of 47 MiB of files took five more copies.)
    """
    return seal_report_as(REPORT, report, report_id.value, recipients)


def seal_report_as(
    purpose: Purpose, report: Report, associated: bytes, recipients: Sequence[PublicKey]
) -> bytearray:
    """`seal` for any purpose that carries a report's payload (a follow-up message does):
    `associated` is the row's id or ids, bound into the payload's associated data."""
    length = encoded_length(report)
    padded_size = bucket_size(_LEN_PREFIX.size + length)
    envelope, payload = _sealed_header(purpose, padded_size, associated, recipients)
    _LEN_PREFIX.pack_into(payload, 0, length)
    write_report(report, payload[_LEN_PREFIX.size : _LEN_PREFIX.size + length])
    return envelope.finish(payload)


def seal_padded(padded: bytes, report_id: ReportId, recipients: Sequence[PublicKey]) -> bytearray:
    """Seal an already padded payload. Public so test vectors can exercise the MUST-reject rules
    for malformed padding; the bot uses `seal`."""
    return seal_for(REPORT, padded, report_id.value, recipients)


def seal_for(
    purpose: Purpose, padded: bytes, associated: bytes, recipients: Sequence[PublicKey]
) -> bytearray:
    """Seal a padded payload for `purpose`; `associated` (the row's id or ids) is bound into the
    payload's associated data ahead of the header."""
    envelope, payload = _sealed_header(purpose, len(padded), associated, recipients)
    payload[:] = padded
    return envelope.finish(payload)


@dataclass(slots=True)
class _Sealing:
    """An envelope being made: its buffer, the header's length, the keys to encrypt with."""

    buffer: bytearray
    header_length: int
    data_key: bytes
    associated: bytes

    def finish(self, payload: memoryview) -> bytearray:
        """Encrypt the payload area in place (ChaCha20 is a stream cipher; the tag goes after)."""
        header = bytes(self.buffer[: self.header_length])
        ChaCha20Poly1305(self.data_key).encrypt_into(
            PAYLOAD_NONCE,
            payload,
            self.associated + header,
            memoryview(self.buffer)[self.header_length :],
        )
        return self.buffer


def _sealed_header(
    purpose: Purpose, padded_size: int, associated: bytes, recipients: Sequence[PublicKey]
) -> tuple[_Sealing, memoryview]:
    """The envelope's buffer with its header written, and a view of its payload area."""
    if not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise InvalidReport(f"an envelope needs 1 to {MAX_RECIPIENTS} recipients")
    if len({r.key_id for r in recipients}) != len(recipients):
        raise InvalidReport("the same recipient key is given twice")
    data_key = ChaCha20Poly1305.generate_key()
    header = bytearray(purpose.magic)
    header += bytes([VERSION, len(recipients)])
    for recipient in recipients:
        sealed_key = _suite(recipient.kind).encrypt(
            data_key, recipient.hpke_key(), info=purpose.info
        )
        header += _STANZA_HEAD.pack(recipient.kem_id, recipient.key_id) + sealed_key
    header += _LEN_PREFIX.pack(padded_size + TAG_LEN)
    buffer = bytearray(len(header) + padded_size + TAG_LEN)
    buffer[: len(header)] = header
    payload = memoryview(buffer)[len(header) : len(header) + padded_size]
    return _Sealing(buffer, len(header), data_key, associated), payload


@dataclass(frozen=True, slots=True)
class Stanza:
    """One recipient's sealed copy of the data key."""

    kind: KeyKind
    key_id: bytes
    sealed_key: bytes


@dataclass(frozen=True, slots=True)
class ParsedEnvelope:
    """An envelope split into fields; nothing is authenticated yet."""

    version: int
    stanzas: tuple[Stanza, ...]
    header: bytes
    ciphertext: bytes

    @property
    def padded_size(self) -> int:
        """The payload bucket: the only size information the envelope gives away."""
        return len(self.ciphertext) - TAG_LEN


def parse(envelope: bytes | bytearray, purpose: Purpose = REPORT) -> ParsedEnvelope:
    """Split an envelope into fields, applying every structural MUST-reject rule of FORMAT.md."""
    envelope = bytes(envelope)
    magic = purpose.magic
    if envelope[: len(magic)] != magic[: min(len(envelope), len(magic))]:
        raise UnknownFormat(f"not a {purpose.name} envelope (bad magic)")
    if len(envelope) < len(magic) + 2:
        raise Tampered("envelope truncated inside its header")
    version = envelope[len(magic)]
    if version != VERSION:
        raise UnknownFormat(
            f"envelope format version {version} is not supported (this software reads {VERSION})"
        )
    count = envelope[len(magic) + 1]
    if count == 0:
        raise Tampered("envelope has no recipient stanzas")
    offset = len(magic) + 2
    stanzas = []
    for _ in range(count):
        if offset + _STANZA_HEAD.size > len(envelope):
            raise Tampered("envelope truncated inside a recipient stanza")
        kem_id, key_id = _STANZA_HEAD.unpack_from(envelope, offset)
        kind = _KIND_BY_KEM_ID.get(kem_id)
        if kind is None:
            raise Tampered(f"recipient stanza names an unknown KEM 0x{kem_id:04x}")
        offset += _STANZA_HEAD.size
        end = offset + _stanza_body_len(kind)
        if end > len(envelope):
            raise Tampered("envelope truncated inside a recipient stanza")
        stanzas.append(Stanza(kind=kind, key_id=key_id, sealed_key=envelope[offset:end]))
        offset = end
    if offset + _LEN_PREFIX.size > len(envelope):
        raise Tampered("envelope truncated before the payload")
    (length,) = _LEN_PREFIX.unpack_from(envelope, offset)
    offset += _LEN_PREFIX.size
    remaining = len(envelope) - offset
    if remaining < length:
        raise Tampered("envelope truncated inside the payload")
    if remaining > length:
        raise Tampered("envelope has trailing bytes after the payload")
    if not is_bucket_size(length - TAG_LEN):
        raise Tampered("payload length is not a padding bucket size")
    return ParsedEnvelope(
        version=version,
        stanzas=tuple(stanzas),
        header=envelope[:offset],
        ciphertext=envelope[offset:],
    )


def _unseal_data_key(parsed: ParsedEnvelope, private_key: PrivateKey, purpose: Purpose) -> bytes:
    own = private_key.public
    hpke_key = private_key.hpke_key()
    suite = _suite(own.kind)
    # The key id is only a hint: try the stanzas it points at first, then every other stanza of
    # the same KEM, so a changed key id reads as tampering rather than "not for this key".
    candidates = [s for s in parsed.stanzas if s.kind == own.kind]
    candidates.sort(key=lambda s: s.key_id != own.key_id)
    for stanza in candidates:
        try:
            data_key = suite.decrypt(stanza.sealed_key, hpke_key, info=purpose.info)
        except InvalidTag:
            continue
        if len(data_key) != DATA_KEY_LEN:
            raise Tampered("recipient stanza holds a data key of the wrong length")
        return data_key
    if any(s.key_id == own.key_id for s in parsed.stanzas):
        raise Tampered("the recipient stanza for this key fails authentication")
    raise NotForThisKey(f"this {purpose.name} was not sealed to this key")


def open_envelope(
    envelope: bytes | bytearray, report_id: ReportId, private_key: PrivateKey
) -> Report:
    """Authenticate and decrypt an envelope stored under `report_id`. Raises `UnknownFormat`,
    `Tampered`, `NotForThisKey` or `BadPayload`; never returns unauthenticated data."""
    return decode_report(open_for(REPORT, envelope, report_id.value, private_key))


def open_for(
    purpose: Purpose, envelope: bytes | bytearray, associated: bytes, private_key: PrivateKey
) -> bytes:
    """Authenticate and decrypt an envelope of `purpose`; returns the unpadded payload bytes."""
    parsed = parse(envelope, purpose)
    data_key = _unseal_data_key(parsed, private_key, purpose)
    try:
        padded = ChaCha20Poly1305(data_key).decrypt(
            PAYLOAD_NONCE, parsed.ciphertext, associated + parsed.header
        )
    except InvalidTag:
        raise Tampered(
            "envelope fails authentication (changed, or stored under another id)"
        ) from None
    return unpad(padded)


def envelope_overhead(recipient_kinds: Sequence[KeyKind]) -> int:
    """Bytes an envelope adds around the padded payload for these recipients."""
    stanzas = sum(_STANZA_HEAD.size + _stanza_body_len(k) for k in recipient_kinds)
    return len(MAGIC) + 2 + stanzas + _LEN_PREFIX.size + TAG_LEN


__all__ = [
    "CASE_EVENT",
    "FOLLOWUP",
    "HPKE_INFO",
    "KEY_ID_LEN",
    "MAGIC",
    "REPORT",
    "VERSION",
    "ParsedEnvelope",
    "Purpose",
    "Stanza",
    "bucket_size",
    "envelope_overhead",
    "open_envelope",
    "open_for",
    "pad",
    "parse",
    "seal",
    "seal_for",
    "seal_padded",
    "seal_report_as",
    "sealed_size",
    "unpad",
]
