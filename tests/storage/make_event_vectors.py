"""Generate the version 2 key-file and case-event test vectors ONCE; the tests only verify them.

Like `make_vectors.py` (which made the version 1 files, left as they are): encapsulation is
randomized, so running this again writes different, equally valid bytes. Run
`python tests/storage/make_event_vectors.py` only when the format changes, and commit the result
with the FORMAT.md change that explains it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from storage.envelope import CASE_EVENT, pad, seal_for
from storage.events import CaseEvent, EventId, encode_event, open_event, seal_event
from storage.keys import (
    Passphrase,
    PrivateKey,
    encode_private_key_file,
    generate_keypair,
    insecure_argon2_params,
)
from storage.report import ReportId

OUT = Path(__file__).with_name("vectors")
SOURCE = "tests/storage/make_event_vectors.py, storage/FORMAT.md"


def _key_spec(k: PrivateKey) -> dict[str, Any]:
    assert k.signing is not None
    return {
        "kind": k.kind,
        "private": k.raw.hex(),
        "signing_seed": k.signing.hex(),
        "public": k.public.text,
        "fingerprint": k.public.fingerprint,
        "key_id": k.public.key_id.hex(),
    }


def main() -> None:
    keys = {"hybrid-a": generate_keypair("mlkem768x25519"), "x25519-b": generate_keypair("x25519")}
    both = [k.public for k in keys.values()]
    cases: list[dict[str, Any]] = []
    rid = ReportId.new()

    def success(name: str, reader: str, eid: EventId, envelope: bytes, author: str) -> None:
        opened = open_event(envelope, eid, rid, keys[reader])
        assert opened.author == keys[author].public
        cases.append(
            {
                "name": name,
                "key": reader,
                "report_id": rid.hex,
                "event_id": eid.hex,
                "envelope": envelope.hex(),
                "expect": "success",
                "author": author,
                "author_name": opened.name,
                "event": {
                    "kind": opened.event.kind,
                    "body": dict(opened.event.body),
                    "day": opened.event.day,
                    "seq": opened.event.seq,
                },
            }
        )

    def failure(
        name: str, reader: str, eid: EventId, envelope: bytes | bytearray, error: str, why: str
    ) -> None:
        cases.append(
            {
                "name": name,
                "key": reader,
                "report_id": rid.hex,
                "event_id": eid.hex,
                "envelope": envelope.hex(),
                "expect": "failure",
                "error": error,
                "why": why,
            }
        )

    status = CaseEvent(kind="status", body={"status": "in_progress"}, day="2026-11-20", seq=1)
    note = CaseEvent(
        kind="note",
        body={"text": "Қоңырау шалдық. Перезвонили, она в безопасности."},
        day="2026-11-21",
        seq=2,
    )
    later = CaseEvent(kind="reply", body={"text": "a later kind"}, day="2026-11-22", seq=3)

    e1 = EventId.new()
    env1 = seal_event(status, e1, rid, keys["hybrid-a"], both, name="Айгерім")
    success("status-read-by-author", "hybrid-a", e1, env1, "hybrid-a")
    success("status-read-by-colleague", "x25519-b", e1, env1, "hybrid-a")
    e2 = EventId.new()
    env2 = seal_event(note, e2, rid, keys["x25519-b"], both, name="Dana")
    success("note-in-kazakh-and-russian", "hybrid-a", e2, env2, "x25519-b")
    e3 = EventId.new()
    env3 = seal_event(later, e3, rid, keys["hybrid-a"], both)
    success("unknown-kind-is-kept", "x25519-b", e3, env3, "hybrid-a")

    failure(
        "other-event-id", "hybrid-a", EventId.new(), env1, "Tampered", "event id is associated data"
    )
    failure(
        "report-magic", "hybrid-a", e1, b"SRPT" + env1[4:], "UnknownFormat", "not an SREV envelope"
    )
    payload = encode_event(status, e1, rid, keys["x25519-b"])
    forged = payload.replace(
        keys["x25519-b"].public.text.encode(), keys["hybrid-a"].public.text.encode()
    )
    e4 = EventId.new()
    failure(
        "author-swapped",
        "hybrid-a",
        e4,
        seal_for(CASE_EVENT, pad(forged), e4.value + rid.value, both),
        "Tampered",
        "the signature is the real author's; the named author's key does not verify it",
    )
    e5 = EventId.new()
    failure(
        "time-of-day-in-payload",
        "hybrid-a",
        e5,
        seal_for(
            CASE_EVENT, pad(b'{"day":"2026-11-20T10:00","kind":"note"}'), e5.value + rid.value, both
        ),
        "BadPayload",
        "not the v1 fields",
    )

    OUT.mkdir(exist_ok=True)
    document = {
        "description": "safe-report case event envelope (SREV) v1; see storage/FORMAT.md",
        "source": SOURCE,
        "warning": "TEST-ONLY private keys. Never use them for real reports.",
        "keys": {name: _key_spec(k) for name, k in keys.items()},
        "cases": cases,
    }
    (OUT / "case_event_v1.json").write_text(
        json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    )

    passphrase = Passphrase("correct horse battery staple")
    key_cases = []
    for name, k in keys.items():
        data = encode_private_key_file(
            k, passphrase, params=insecure_argon2_params(), name="Айгерім"
        )
        spec = _key_spec(k)
        key_cases.append(
            {
                "name": f"{name}-unlocks",
                "file": data.decode(),
                "passphrase": passphrase,
                "expect": "success",
                "private": spec["private"],
                "signing_seed": spec["signing_seed"],
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
        doc = json.loads(data)
        doc["public_key"] = k.public.without_signing().text
        key_cases.append(
            {
                "name": f"{name}-srk1-line-in-a-version-2-file",
                "file": json.dumps(doc, indent=2, sort_keys=True) + "\n",
                "passphrase": passphrase,
                "expect": "failure",
                "error": "BadKeyFile",
                "why": "the version must match the public line",
            }
        )
    keyfile = {
        "description": "safe-report private key file v2 (with an ed25519 signing key); see storage/FORMAT.md",
        "source": SOURCE,
        "warning": "TEST-ONLY keys with insecure Argon2 parameters.",
        "cases": key_cases,
    }
    (OUT / "keyfile_v2.json").write_text(json.dumps(keyfile, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(cases)} case-event and {len(key_cases)} key-file vectors to {OUT}")


if __name__ == "__main__":
    main()
