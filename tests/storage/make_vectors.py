"""Generate the envelope and key-file test vectors ONCE; the tests then only verify them.

HPKE encapsulation is randomized, so running this again produces different (equally valid) bytes.
Run `python tests/storage/make_vectors.py` only when the format gains a version or a new rule,
and commit the result together with the FORMAT.md change that explains it.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from storage.envelope import MAGIC, open_envelope, pad, parse, seal, seal_padded
from storage.keys import (
    Passphrase,
    PrivateKey,
    encode_private_key_file,
    generate_keypair,
    insecure_argon2_params,
)
from storage.report import Attachment, Report, ReportId, encode_report

OUT = Path(__file__).with_name("vectors")
SOURCE = "tests/storage/make_vectors.py, storage/FORMAT.md"


def flip(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


def main() -> None:
    keys: dict[str, PrivateKey] = {
        "x25519-a": generate_keypair("x25519"),
        "hybrid-a": generate_keypair("mlkem768x25519"),
        "hybrid-b": generate_keypair("mlkem768x25519"),
    }
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

    def success(name: str, key: str, rid: ReportId, envelope: bytes, report: Report) -> None:
        assert open_envelope(envelope, rid, keys[key]) == report
        cases.append(
            {
                "name": name,
                "key": key,
                "report_id": rid.hex,
                "envelope": envelope.hex(),
                "expect": "success",
                "payload_json": encode_report(report).decode("utf-8"),
            }
        )

    def failure(name: str, key: str, rid: ReportId, envelope: bytes, error: str, why: str) -> None:
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
    key_cases = []
    for name in ("x25519-a", "hybrid-a"):
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
    keyfile_vectors = {
        "description": "safe-report private key file v1; see storage/FORMAT.md",
        "source": SOURCE,
        "warning": "TEST-ONLY keys with insecure Argon2 parameters.",
        "cases": key_cases,
    }
    (OUT / "keyfile_v1.json").write_text(json.dumps(keyfile_vectors, indent=1) + "\n")
    print(f"wrote {len(cases)} envelope and {len(key_cases)} key-file vectors to {OUT}")


if __name__ == "__main__":
    main()
