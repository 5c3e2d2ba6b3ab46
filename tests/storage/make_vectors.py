"""Generate the envelope and key-file test vectors; the tests then only verify them.

HPKE encapsulation is randomized, so a case once written is never generated again: this script
keeps the keys and every case already in the files (recomputing only what follows from a key,
such as its fingerprint) and adds the cases it knows that the files do not have yet. Run
`python tests/storage/make_vectors.py` when the format gains a rule, and commit the result
together with the FORMAT.md change that explains it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from storage.envelope import MAGIC, open_envelope, pad, parse, seal, seal_padded
from storage.errors import StorageError
from storage.keys import (
    Passphrase,
    PrivateKey,
    _derive,
    decode_private_key_file,
    encode_private_key_file,
    generate_keypair,
    insecure_argon2_params,
)
from storage.report import Attachment, Report, ReportId, encode_report

OUT = Path(__file__).with_name("vectors")
SOURCE = "tests/storage/make_vectors.py, storage/FORMAT.md"
LARGE = 64 * 1024
Blob = bytes | bytearray


def flip(data: Blob, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


def _existing(name: str) -> dict[str, Any]:
    path = OUT / name
    return json.loads(path.read_text()) if path.exists() else {}


def main() -> None:
    old_envelopes, old_keyfiles = _existing("envelope_v1.json"), _existing("keyfile_v1.json")
    keys: dict[str, PrivateKey] = {
        name: PrivateKey(kind=spec["kind"], raw=bytes.fromhex(spec["private"]))
        for name, spec in old_envelopes.get("keys", {}).items()
    }
    for name, kind in (
        ("x25519-a", "x25519"),
        ("hybrid-a", "mlkem768x25519"),
        ("hybrid-b", "mlkem768x25519"),
    ):
        keys.setdefault(name, generate_keypair(kind))  # type: ignore[arg-type]
    simple = Report(language="en", answers={"text": "hello"}, received_day="2025-01-01")
    rich = Report(
        language="kk",
        answers={
            "forms": ["physical", "economic"],
            "region": "almaty_city",
            "text": "Сәлеметсіз бе. Мен қауіпсіз емеспін.\nЗдравствуйте, мне нужна помощь.",
        },
        received_day="2025-03-08",
        attachments=[
            Attachment(
                kind="photo", mime="image/jpeg", name="фото.jpg", data=bytes(300), cleaned=True
            ),
            Attachment(kind="voice", mime="audio/ogg", name="voice.ogg", data=bytes(40)),
        ],
    )
    cases: list[dict[str, Any]] = []
    done = {c["name"] for c in old_envelopes.get("cases", [])}

    def success(name: str, key: str, rid: ReportId, envelope: Blob, report: Report) -> None:
        assert open_envelope(envelope, rid, keys[key]) == report
        if name in done:
            return
        payload = encode_report(report)
        # A large payload is given by its hash: the envelope already carries it, in hex.
        shown = (
            {"payload_json": payload.decode("utf-8")}
            if len(payload) <= LARGE
            else {"payload_sha256": hashlib.sha256(payload).hexdigest()}
        )
        cases.append(
            {
                "name": name,
                "key": key,
                "report_id": rid.hex,
                "envelope": envelope.hex(),
                "expect": "success",
                **shown,
            }
        )

    def failure(name: str, key: str, rid: ReportId, envelope: Blob, error: str, why: str) -> None:
        try:
            open_envelope(envelope, rid, keys[key])
        except StorageError as exc:
            assert type(exc).__name__ == error, (name, exc)
        else:
            raise AssertionError(f"{name}: opened")
        if name in done:
            return
        cases.append(
            {
                "name": name,
                "key": key,
                "report_id": rid.hex,
                "envelope": envelope.hex(),
                "expect": "failure",
                "error": error,
                "why": why,
            }
        )

    rid1 = ReportId.new()
    env1 = seal(simple, rid1, [keys["x25519-a"].public])
    success("x25519-one-recipient", "x25519-a", rid1, env1, simple)

    rid2 = ReportId.new()
    env2 = seal(rich, rid2, [keys["hybrid-a"].public])
    success("hybrid-one-recipient-attachment", "hybrid-a", rid2, env2, rich)

    rid3 = ReportId.new()
    env3 = seal(rich, rid3, [keys["hybrid-a"].public, keys["x25519-a"].public])
    success("two-recipients-first", "hybrid-a", rid3, env3, rich)
    success("two-recipients-second", "x25519-a", rid3, env3, rich)

    parsed3 = parse(env3)
    stanza1_start = len(MAGIC) + 2
    stanza2_start = stanza1_start + 10 + len(parsed3.stanzas[0].sealed_key)
    payload_start = len(parse(env1).header)

    failure(
        "not-for-this-key", "hybrid-b", rid2, env2, "NotForThisKey", "no stanza opens with this key"
    )
    failure(
        "flipped-payload-byte",
        "x25519-a",
        rid1,
        flip(env1, len(env1) - 40),
        "Tampered",
        "payload AEAD tag fails",
    )
    failure(
        "flipped-tag-byte",
        "x25519-a",
        rid1,
        flip(env1, len(env1) - 1),
        "Tampered",
        "payload AEAD tag fails",
    )
    failure(
        "flipped-own-stanza-enc",
        "x25519-a",
        rid3,
        flip(env3, stanza2_start + 10),
        "Tampered",
        "own stanza's HPKE decryption fails and its key id matches",
    )
    failure(
        "flipped-other-stanza",
        "x25519-a",
        rid3,
        flip(env3, stanza1_start + 20),
        "Tampered",
        "header bytes are associated data of the payload",
    )
    failure(
        "changed-key-id",
        "x25519-a",
        rid3,
        flip(env3, stanza2_start + 3),
        "Tampered",
        "key id is associated data; trial decryption still finds the stanza",
    )
    failure(
        "flipped-payload-length",
        "x25519-a",
        rid1,
        flip(env1, payload_start - 1),
        "Tampered",
        "length no longer matches the remaining bytes",
    )
    failure(
        "other-report-id",
        "x25519-a",
        ReportId.new(),
        env1,
        "Tampered",
        "the report id is associated data: an envelope cannot move between rows",
    )
    failure("truncated-by-one", "x25519-a", rid1, env1[:-1], "Tampered", "truncated payload")
    failure(
        "truncated-in-header", "x25519-a", rid1, env1[:20], "Tampered", "truncated inside a stanza"
    )
    failure(
        "trailing-byte",
        "x25519-a",
        rid1,
        env1 + b"\x00",
        "Tampered",
        "bytes after the payload MUST be rejected",
    )
    failure(
        "unknown-version",
        "x25519-a",
        rid1,
        env1[:4] + b"\x02" + env1[5:],
        "UnknownFormat",
        "version 2 is not defined",
    )
    failure("bad-magic", "x25519-a", rid1, b"SRPX" + env1[4:], "UnknownFormat", "not an envelope")
    zero = MAGIC + b"\x01\x00" + env1[payload_start - 4 :]
    failure("zero-stanzas", "x25519-a", rid1, zero, "Tampered", "stanza count 0 MUST be rejected")
    dropped = env3[:5] + b"\x01" + env3[stanza2_start:]
    failure(
        "stanza-removed",
        "x25519-a",
        rid3,
        dropped,
        "Tampered",
        "removing a stanza changes the associated data",
    )
    unknown_kem = env1[:stanza1_start] + struct.pack(">H", 0x0010) + env1[stanza1_start + 2 :]
    failure(
        "unknown-kem-id",
        "x25519-a",
        rid1,
        unknown_kem,
        "Tampered",
        "KEM 0x0010 is not allowed in v1",
    )

    # A payload sealed before attachments carried `cleaned`: it reads as false (FORMAT.md).
    rid8 = ReportId.new()
    legacy_json = (
        b'{"answers":{},"attachments":[{"data":"AAAA","kind":"document",'
        b'"mime":"application/pdf","name":"a.pdf"}],"language":"ru","received_day":"2026-01-05"}'
    )
    legacy = Report(
        language="ru",
        answers={},
        received_day="2026-01-05",
        attachments=[
            Attachment(kind="document", mime="application/pdf", name="a.pdf", data=bytes(3))
        ],
    )
    success(
        "attachment-without-cleaned-reads-as-false",
        "x25519-a",
        rid8,
        seal_padded(pad(legacy_json), rid8, [keys["x25519-a"].public]),
        legacy,
    )
    rid9 = ReportId.new()
    not_bool = legacy_json.replace(b'"name":"a.pdf"', b'"cleaned":"yes","name":"a.pdf"')
    failure(
        "cleaned-not-a-boolean",
        "x25519-a",
        rid9,
        seal_padded(pad(not_bool), rid9, [keys["x25519-a"].public]),
        "BadPayload",
        "'cleaned' MUST be a JSON boolean",
    )

    rid4 = ReportId.new()
    off_bucket = seal_padded(pad(encode_report(simple))[:1000], rid4, [keys["x25519-a"].public])
    failure(
        "padded-size-not-a-bucket",
        "x25519-a",
        rid4,
        off_bucket,
        "Tampered",
        "1000 is not a bucket size",
    )
    bad_pad = bytearray(pad(encode_report(simple)))
    bad_pad[-1] = 0x01
    rid5 = ReportId.new()
    failure(
        "nonzero-padding",
        "x25519-a",
        rid5,
        seal_padded(bytes(bad_pad), rid5, [keys["x25519-a"].public]),
        "BadPayload",
        "padding bytes MUST be zero",
    )
    long_prefix = struct.pack(">I", 5000) + pad(encode_report(simple))[4:]
    rid6 = ReportId.new()
    failure(
        "length-prefix-too-long",
        "x25519-a",
        rid6,
        seal_padded(long_prefix, rid6, [keys["x25519-a"].public]),
        "BadPayload",
        "length prefix exceeds the padded payload",
    )
    rid7 = ReportId.new()
    not_schema = pad(b'{"language":"en","time":"2025-01-01T10:00:00"}')
    failure(
        "payload-not-v1-schema",
        "x25519-a",
        rid7,
        seal_padded(not_schema, rid7, [keys["x25519-a"].public]),
        "BadPayload",
        "authenticated payload without the v1 fields",
    )

    _new_envelope_cases(keys, success, failure)
    cases = [*old_envelopes.get("cases", []), *cases]

    OUT.mkdir(exist_ok=True)
    envelope_vectors = {
        "description": "safe-report envelope format v1; see storage/FORMAT.md",
        "source": SOURCE,
        "warning": "TEST-ONLY private keys. Never use them for real reports.",
        "keys": {
            name: {
                "kind": k.kind,
                "private": k.raw.hex(),
                "public": k.public.text,
                "fingerprint": k.public.fingerprint,
                "key_id": k.public.key_id.hex(),
            }
            for name, k in keys.items()
        },
        "cases": cases,
    }
    (OUT / "envelope_v1.json").write_text(json.dumps(envelope_vectors, indent=1) + "\n")

    passphrase = Passphrase("correct horse battery staple")
    params = insecure_argon2_params()
    key_cases: list[dict[str, Any]] = []
    for name in ("x25519-a", "hybrid-a") if not old_keyfiles else ():
        data = encode_private_key_file(keys[name], passphrase, params=params)
        key_cases.append(
            {
                "name": f"{name}-unlocks",
                "file": data.decode(),
                "passphrase": passphrase,
                "expect": "success",
                "private": keys[name].raw.hex(),
            }
        )
        key_cases.append(
            {
                "name": f"{name}-wrong-passphrase",
                "file": data.decode(),
                "passphrase": passphrase + "!",
                "expect": "failure",
                "error": "WrongPassphrase",
                "why": "AEAD tag fails under another key",
            }
        )
    kept = old_keyfiles.get("cases", [])
    key_cases = [*kept, *_new_keyfile_cases(keys, {c["name"] for c in kept})]
    keyfile_vectors = {
        "description": "safe-report private key file v1; see storage/FORMAT.md",
        "source": SOURCE,
        "warning": "TEST-ONLY keys with insecure Argon2 parameters.",
        "cases": key_cases,
    }
    (OUT / "keyfile_v1.json").write_text(json.dumps(keyfile_vectors, indent=1) + "\n")
    print(f"wrote {len(cases)} envelope and {len(key_cases)} key-file vectors to {OUT}")


Success = Callable[[str, str, ReportId, Blob, Report], None]
Failure = Callable[[str, str, ReportId, Blob, str, str], None]


def _sealed_json(text: bytes, key: PrivateKey) -> tuple[ReportId, Blob]:
    """Authenticated, well-padded JSON bytes that need not be a valid report (rule 12)."""
    rid = ReportId.new()
    return rid, seal_padded(pad(text), rid, [key.public])


def _new_envelope_cases(keys: dict[str, PrivateKey], success: Success, failure: Failure) -> None:
    x, hybrid = keys["x25519-a"], keys["hybrid-a"]
    # Buckets above 1 KiB: powers of two, then multiples of 64 KiB above 1 MiB.
    for name, size in (
        ("bucket-2kib", 1500),
        ("bucket-4kib", 3000),
        ("bucket-above-1mib", 1024 * 1024),
    ):
        report = Report(language="ru", answers={"text": "a" * size}, received_day="2025-06-30")
        rid = ReportId.new()
        success(name, "x25519-a", rid, seal(report, rid, [x.public]), report)
    # Very short input: which rule wins (FORMAT.md, "Order of the checks").
    for name, data, error in (
        ("empty-input", b"", "Tampered"),
        ("two-bytes-of-magic", b"SR", "Tampered"),
        ("one-wrong-byte", b"X", "UnknownFormat"),
        ("magic-only", MAGIC, "Tampered"),
        ("magic-and-unknown-version-only", MAGIC + b"\x02", "Tampered"),
        ("header-of-unknown-version", MAGIC + b"\x02\x01", "UnknownFormat"),
    ):
        failure(name, "x25519-a", ReportId.new(), data, error, "see FORMAT.md, order of the checks")
    # Rule 12, each kind of violation, authenticated so only the payload rules can reject it.
    good = json.loads(encode_report(Report(language="en", answers={}, received_day="2025-01-01")))
    attachment = {"data": "aGVsbG8=", "kind": "photo", "mime": "image/jpeg", "name": "p.jpg"}

    def variant(**changes: Any) -> bytes:
        return json.dumps({**good, **changes}, sort_keys=True, separators=(",", ":")).encode()

    for name, text, why in (
        ("payload-not-utf8", b'{"answers":{"t":"\xff"}}', "the JSON is not UTF-8"),
        ("payload-not-an-object", b"[]", "the payload is an array"),
        ("payload-extra-field", variant(time="10:00"), "a field beyond the v1 set"),
        ("payload-answers-not-object", variant(answers=[]), "answers is an array"),
        ("payload-answer-is-number", variant(answers={"n": 5}), "an answer is a number"),
        ("payload-answer-list-of-numbers", variant(answers={"n": [1]}), "a list of numbers"),
        ("payload-language-not-string", variant(language=1), "language is a number"),
        ("payload-language-not-a-tag", variant(language="English"), "not a language tag"),
        ("payload-day-impossible", variant(received_day="2025-02-30"), "no 30 February"),
        ("payload-day-with-time", variant(received_day="2025-01-01T10:00"), "a time of day"),
        ("payload-day-compact", variant(received_day="20250101"), "not YYYY-MM-DD"),
        ("payload-attachments-not-list", variant(attachments={}), "attachments is an object"),
        (
            "payload-attachment-unknown-kind",
            variant(attachments=[{**attachment, "kind": "video"}]),
            "kind is not photo, document or voice",
        ),
        (
            "payload-attachment-extra-key",
            variant(attachments=[{**attachment, "size": 5}]),
            "an attachment key beyond the four",
        ),
        (
            "payload-attachment-name-not-string",
            variant(attachments=[{**attachment, "name": None}]),
            "name is null",
        ),
        (
            "payload-attachment-bad-base64",
            variant(attachments=[{**attachment, "data": "aGVsbG8*"}]),
            "a character outside the base64 alphabet",
        ),
        (
            "payload-attachment-unpadded-base64",
            variant(attachments=[{**attachment, "data": "aGVsbG8"}]),
            "base64 without its padding",
        ),
        (
            "payload-attachment-urlsafe-base64",
            variant(attachments=[{**attachment, "data": "__8="}]),
            "the URL-safe alphabet",
        ),
        (
            "payload-attachment-base64-with-newline",
            variant(attachments=[{**attachment, "data": "aGVs\nbG8="}]),
            "a line break inside base64",
        ),
        (
            "payload-duplicate-key",
            b'{"answers":{},"answers":{"a":"b"},"attachments":[],"language":"en",'
            b'"received_day":"2025-01-01"}',
            "a key twice in one object",
        ),
    ):
        rid, envelope = _sealed_json(text, x)
        failure(name, "x25519-a", rid, envelope, "BadPayload", why)
    # The same rules as the x25519 "changed-key-id", for a hybrid stanza.
    report = Report(language="kk", answers={"text": "сәлем"}, received_day="2025-05-05")
    rid = ReportId.new()
    envelope = seal(report, rid, [keys["hybrid-b"].public, hybrid.public])
    second = len(MAGIC) + 2 + 10 + 1120 + 48
    failure(
        "hybrid-changed-key-id",
        "hybrid-a",
        rid,
        flip(envelope, second + 2 + 7),
        "Tampered",
        "key id is associated data; trial decryption still finds the hybrid stanza",
    )


def _new_keyfile_cases(keys: dict[str, PrivateKey], done: set[str]) -> list[dict[str, Any]]:
    passphrase = Passphrase("correct horse battery staple")
    params = insecure_argon2_params()
    key = keys["x25519-a"]
    base = json.loads(encode_private_key_file(key, passphrase, params=params))
    out: list[dict[str, Any]] = []

    def case(name: str, document: Any, why: str, *, error: str = "BadKeyFile") -> None:
        text = document if isinstance(document, str) else json.dumps(document, indent=2)
        try:
            decode_private_key_file(text.encode(), passphrase)
        except StorageError as exc:
            assert type(exc).__name__ == error, (name, exc)
        else:
            raise AssertionError(f"{name}: unlocked")
        if name not in done:
            out.append(
                {
                    "name": name,
                    "file": text,
                    "passphrase": passphrase,
                    "expect": "failure",
                    "error": error,
                    "why": why,
                }
            )

    kdf = base["kdf"]
    case("not-json", "not a key file", "not JSON")
    case("other-format", {**base, "format": "age"}, "another format")
    case("other-version", {**base, "version": 2}, "a version this reader does not know")
    case("kem-mismatch", {**base, "kem": "mlkem768x25519"}, "kem differs from the public key")
    case("kdf-not-argon2id", {**base, "kdf": {**kdf, "name": "scrypt"}}, "another KDF")
    case("aead-not-chacha", {**base, "aead": "aes256gcm"}, "another AEAD")
    case("salt-too-short", {**base, "kdf": {**kdf, "salt": "AAAA"}}, "a 3-byte salt")
    case("nonce-wrong-length", {**base, "nonce": "AAAA"}, "a 3-byte nonce")
    case("lanes-zero", {**base, "kdf": {**kdf, "lanes": 0}}, "lanes outside 1..64")
    case("iterations-too-many", {**base, "kdf": {**kdf, "iterations": 65}}, "beyond 64")
    case(
        "memory-too-large",
        {**base, "kdf": {**kdf, "memory_kib": 4 * 1024 * 1024 + 1}},
        "beyond 4 GiB: a crafted file must not exhaust memory",
    )
    case("memory-as-string", {**base, "kdf": {**kdf, "memory_kib": "8"}}, "a number as text")
    case("public-key-missing", {k: v for k, v in base.items() if k != "public_key"}, "missing")
    case("ciphertext-not-base64url", {**base, "ciphertext": "***"}, "not base64url")
    # A private key sealed under this file's public key line, but not the matching key.
    other = generate_keypair("x25519")
    salt, nonce = bytes(16), bytes(12)
    wrap = _derive(passphrase, salt, params)
    sealed = ChaCha20Poly1305(wrap).encrypt(nonce, other.raw, base["public_key"].encode())

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    case(
        "private-key-does-not-match",
        {
            **base,
            "kdf": {**kdf, "salt": b64(salt)},
            "nonce": b64(nonce),
            "ciphertext": b64(sealed),
        },
        "the decrypted key's public key is not the file's public_key",
    )
    # A passphrase typed decomposed (e + U+0301) opens a file locked with its composed form.
    composed = Passphrase("Қауіпсіз café")
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    data = encode_private_key_file(keys["hybrid-a"], composed, params=params)
    assert decode_private_key_file(data, Passphrase(decomposed)).raw == keys["hybrid-a"].raw
    if "nfc-normalised-passphrase" not in done:
        out.append(
            {
                "name": "nfc-normalised-passphrase",
                "file": data.decode(),
                "passphrase": decomposed,
                "expect": "success",
                "private": keys["hybrid-a"].raw.hex(),
                "why": "the passphrase is NFC-normalised before Argon2id",
            }
        )
    return out


if __name__ == "__main__":
    main()
