"""Generate the follow-up test vectors (receipts, derivation, reply and message envelopes) ONCE;
the tests only verify them (tests/storage/test_followup_vectors.py).

Encapsulation is randomized, so running this again writes different, equally valid bytes. Run
`python tests/storage/make_followup_vectors.py` only when the format changes, and commit the
result with the FORMAT.md change that explains it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from storage.envelope import FOLLOWUP, pad, seal_for
from storage.events import CaseEvent, EventId
from storage.followups import MessageId, open_message, seal_for_reporter, seal_message
from storage.keys import PrivateKey, generate_keypair
from storage.receipts import (
    RECEIPT_COST,
    Receipt,
    ReceiptCost,
    derive,
    insecure_receipt_cost,
    parse_receipt,
)
from storage.report import Report, ReportId, encode_report

OUT = Path(__file__).with_name("vectors")
SOURCE = "tests/storage/make_followup_vectors.py, storage/FORMAT.md"

TYPED = [
    ("plain", "4821773019560342"),
    ("grouped", "4821 7730 1956 0342"),
    ("phone-like", "+4821-7730-1956-0342"),
    ("brackets-dots-nbsp", "(4821) 7730.1956\u00a00342"),
    ("en-dash-minus-sign", "4821\u20137730\u22121956 0342"),
    (
        "full-width",
        "\uff14\uff18\uff12\uff11\uff17\uff17\uff13\uff10\uff11\uff19\uff15\uff16\uff10\uff13\uff14\uff12",
    ),
    (
        "arabic-indic",
        "\u0664\u0668\u0662\u0661\u0667\u0667\u0663\u0660\u0661\u0669\u0665\u0666\u0660\u0663\u0664\u0662",
    ),
]
REFUSED = [
    ("fifteen-digits", "482177301956034"),
    ("seventeen-digits", "48217730195603421"),
    ("a-letter-O", "4821 7730 1956 034O"),
    ("a-hash", "4821 7730 1956 0342 #"),
    ("empty", ""),
]


def _key_spec(k: PrivateKey) -> dict[str, Any]:
    spec = {"kind": k.kind, "private": k.raw.hex(), "public": k.public.text}
    if k.signing is not None:
        spec["signing_seed"] = k.signing.hex()
    return spec


def _derivation(digits: str, salt: bytes, cost: ReceiptCost) -> dict[str, Any]:
    keys = derive(Receipt(digits), salt, cost)
    secret = Argon2id(
        salt=salt,
        length=32,
        iterations=cost.iterations,
        lanes=cost.lanes,
        memory_cost=cost.memory_kib,
    ).derive(digits.encode())
    return {
        "receipt": digits,
        "salt": salt.hex(),
        "memory_kib": cost.memory_kib,
        "iterations": cost.iterations,
        "lanes": cost.lanes,
        "argon2id": secret.hex(),
        "lookup_id": keys.lookup_id.hex(),
        "reply_seed": keys.reply_key.raw.hex(),
        "reply_public": keys.public.text,
        "reply_key_id": keys.public.key_id.hex(),
    }


def main() -> None:
    parse_cases: list[dict[str, Any]] = [
        {"name": n, "typed": t, "expect": "success", "digits": parse_receipt(t).digits}
        for n, t in TYPED
    ]
    parse_cases += [
        {"name": n, "typed": t, "expect": "failure", "error": "BadReceipt"} for n, t in REFUSED
    ]
    salt = bytes(range(32))
    derivations = [
        _derivation("4821773019560342", salt, RECEIPT_COST),
        _derivation("0000000000000000", salt, RECEIPT_COST),
        _derivation("4821773019560342", bytes(32), insecure_receipt_cost()),
    ]
    her = derive(Receipt("4821773019560342"), salt, RECEIPT_COST)
    team = {"hybrid-a": generate_keypair("mlkem768x25519"), "x25519-b": generate_keypair("x25519")}
    team_public = [k.public for k in team.values()]
    rid = ReportId.new()
    envelopes: list[dict[str, Any]] = []
    for seq, (kind, body) in enumerate(
        [
            ("reply", {"text": "Сәлем! Мы прочитали. We read it."}),
            ("reporter_status", {"status": "answered"}),
        ],
        start=1,
    ):
        eid = EventId.new()
        event = CaseEvent(kind=kind, body=body, day="2026-12-01", seq=seq)
        envelope = seal_for_reporter(
            event, eid, rid, team["hybrid-a"], team_public, her.public, "Айгерім"
        )
        for reader in ("reporter", "hybrid-a", "x25519-b"):
            envelopes.append(
                {
                    "name": f"{kind}-read-by-{reader}",
                    "purpose": "SREV",
                    "key": reader,
                    "report_id": rid.hex,
                    "event_id": eid.hex,
                    "envelope": envelope.hex(),
                    "expect": "success",
                    "author": "hybrid-a",
                    "event": {"kind": kind, "body": body, "day": "2026-12-01", "seq": seq},
                }
            )
    mid = MessageId.new()
    message = Report(
        language="kk", answers={"message": "Рахмет. Спасибо. Thank you."}, received_day="2026-12-01"
    )
    sealed = seal_message(message, mid, rid, team_public)
    assert open_message(sealed, mid, rid, team["x25519-b"]) == message
    common = {
        "purpose": "SRFM",
        "report_id": rid.hex,
        "message_id": mid.hex,
        "envelope": sealed.hex(),
    }
    envelopes.append(
        {
            "name": "message-read-by-hybrid-a",
            "key": "hybrid-a",
            **common,
            "expect": "success",
            "payload": json.loads(encode_report(message)),
        }
    )
    envelopes.append(
        {
            "name": "message-not-for-her",
            "key": "reporter",
            **common,
            "expect": "failure",
            "error": "NotForThisKey",
            "why": "her messages are sealed to the team alone",
        }
    )
    envelopes.append(
        {
            "name": "message-under-another-id",
            "key": "hybrid-a",
            **common,
            "message_id": MessageId.new().hex,
            "expect": "failure",
            "error": "Tampered",
            "why": "message id and report id are associated data",
        }
    )
    envelopes.append(
        {
            "name": "message-as-report",
            "key": "hybrid-a",
            **common,
            "envelope": (b"SRPT" + sealed[4:]).hex(),
            "expect": "failure",
            "error": "UnknownFormat",
            "why": "an SRFM envelope is never read as SRPT",
        }
    )
    bad = seal_for(
        FOLLOWUP, pad(b'{"answers":{},"language":"kk"}'), mid.value + rid.value, team_public
    )
    envelopes.append(
        {
            "name": "message-without-the-report-fields",
            "key": "hybrid-a",
            **common,
            "envelope": bytes(bad).hex(),
            "expect": "failure",
            "error": "BadPayload",
            "why": "a message's payload is a report's, all fields",
        }
    )
    keys = {name: _key_spec(k) for name, k in team.items()}
    keys["reporter"] = {
        "kind": her.reply_key.kind,
        "private": her.reply_key.raw.hex(),
        "public": her.public.text,
    }
    document = {
        "description": "safe-report follow-up v1 (receipts, their derivation, replies and messages); "
        "see storage/FORMAT.md, Follow-up",
        "source": SOURCE,
        "keys": keys,
        "parse": parse_cases,
        "derive": derivations,
        "cases": envelopes,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "followup_v1.json").write_text(
        json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
