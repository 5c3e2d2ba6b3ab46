"""Receipts: the secret a survivor keeps to come back to her report (storage/FORMAT.md).

A receipt is 16 decimal digits drawn from the OS's CSPRNG, shown in four groups of four so it can
pass for a phone number in her contacts (GlobaLeaks' choice). It never reaches the disk: from it
and the installation's salt, Argon2id derives a secret, and HKDF splits that secret into

- a **lookup id** (32 bytes) that the vault stores beside her report, to find it again, and
- a **reply key** (an X-Wing / ML-KEM-768 + X25519 seed, the default caseworker key kind), whose
  public half the vault stores beside her report, so caseworkers can seal replies she can open.

Pure functions: no I/O, no event loop. Argon2id takes ~64 MiB and a tenth of a second, so the bot
runs `derive` in a worker thread (cryptography releases the GIL while it hashes), a few at a time.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.errors import StorageError
from storage.keys import KeyKind, PrivateKey, PublicKey

RECEIPT_DIGITS = 16
GROUP = 4
SALT_BYTES = 32
LOOKUP_ID_BYTES = 32
REPLY_KEY_KIND: KeyKind = "mlkem768x25519"
LOOKUP_INFO = b"safe-report/v1 receipt lookup-id"
REPLY_KEY_INFO = b"safe-report/v1 receipt reply-key"
# What people type between digits: spaces of every kind, dashes, a leading plus, brackets, dots.
_SEPARATORS = frozenset(" \t\n-+().\u00a0\u2010\u2011\u2012\u2013\u2014\u2212\u202f\u2007")


class BadReceipt(StorageError):
    """Typed text that cannot be a receipt (not 16 digits). Says nothing about whether a receipt
    exists: it was refused before any look-up."""


@dataclass(frozen=True, slots=True)
class ReceiptCost:
    """Argon2id costs for receipts. `memory_kib` is in KiB."""

    memory_kib: int
    iterations: int
    lanes: int


# 64 MiB, 2 passes, 1 lane: ~0.13 s on one core of a small server. With 10^16 receipts, an offline
# search of a stolen vault costs ~4 * 10^7 core-years per installation (the salt is per vault).
RECEIPT_COST = ReceiptCost(memory_kib=64 * 1024, iterations=2, lanes=1)


def insecure_receipt_cost() -> ReceiptCost:
    """Minimal Argon2id costs for tests only: a receipt derived with these is trivially guessed."""
    return ReceiptCost(memory_kib=8, iterations=1, lanes=1)


@dataclass(frozen=True, slots=True)
class Receipt:
    """16 ASCII digits. `repr()` never shows them: a stray log line must not hold a receipt."""

    digits: str = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.digits) != RECEIPT_DIGITS or not (
            self.digits.isascii() and self.digits.isdigit()
        ):
            raise BadReceipt(f"a receipt is {RECEIPT_DIGITS} digits")

    @property
    def shown(self) -> str:
        """The digits in four groups of four, e.g. ``4821 7730 1956 0342``."""
        return " ".join(self.digits[i : i + GROUP] for i in range(0, RECEIPT_DIGITS, GROUP))


def new_receipt() -> Receipt:
    """A fresh receipt: a uniform number below 10^16 from the OS's CSPRNG, zero-padded."""
    return Receipt(f"{secrets.randbelow(10**RECEIPT_DIGITS):0{RECEIPT_DIGITS}d}")


def parse_receipt(text: str) -> Receipt:
    """The receipt in what she typed: any Unicode decimal digits (Arabic-Indic, full-width, ...)
    read as ASCII digits; spaces, dashes, a plus, brackets and dots ignored; anything else, or
    another count of digits, is a `BadReceipt`."""
    digits = []
    for char in unicodedata.normalize("NFKC", text):
        if char in _SEPARATORS or unicodedata.category(char) == "Zs":
            continue
        value = unicodedata.decimal(char, None)
        if value is None:
            raise BadReceipt("a receipt holds only digits")
        digits.append(str(value))
        if len(digits) > RECEIPT_DIGITS:
            raise BadReceipt(f"a receipt is {RECEIPT_DIGITS} digits")
    return Receipt("".join(digits))


@dataclass(frozen=True, slots=True)
class ReceiptKeys:
    """What a receipt opens: the lookup id of her case and her reply key pair."""

    lookup_id: bytes = field(repr=False)
    reply_key: PrivateKey = field(repr=False)

    @property
    def public(self) -> PublicKey:
        """The reply key's public half: what the vault keeps beside the report."""
        return self.reply_key.public


def derive(receipt: Receipt, salt: bytes, cost: ReceiptCost = RECEIPT_COST) -> ReceiptKeys:
    """Argon2id(receipt, installation salt) split by HKDF-SHA256 into a lookup id and a reply key.

    CPU- and memory-heavy by design: call it off the event loop."""
    if len(salt) != SALT_BYTES:
        raise StorageError(f"a receipt salt is {SALT_BYTES} bytes")
    secret = Argon2id(
        salt=salt,
        length=32,
        iterations=cost.iterations,
        lanes=cost.lanes,
        memory_cost=cost.memory_kib,
    ).derive(receipt.digits.encode("ascii"))
    return ReceiptKeys(
        lookup_id=_expand(secret, LOOKUP_INFO, LOOKUP_ID_BYTES),
        reply_key=PrivateKey(kind=REPLY_KEY_KIND, raw=_expand(secret, REPLY_KEY_INFO, 32)),
    )


def _expand(secret: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(secret)


def new_salt() -> bytes:
    """A fresh installation salt (32 bytes from the OS's CSPRNG)."""
    return secrets.token_bytes(SALT_BYTES)


__all__ = [
    "RECEIPT_COST",
    "BadReceipt",
    "Receipt",
    "ReceiptCost",
    "ReceiptKeys",
    "derive",
    "insecure_receipt_cost",
    "new_receipt",
    "new_salt",
    "parse_receipt",
]
