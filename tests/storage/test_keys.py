"""Recipient keys, the REPORT_RECIPIENTS setting, and passphrase-locked private key files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from storage.errors import BadKeyFile, BadPublicKey, MixedKeyKinds, WrongPassphrase
from storage.keys import (
    Passphrase,
    PrivateKey,
    fingerprint,
    generate_keypair,
    insecure_argon2_params,
    load_recipients,
    mixed_kinds,
    parse_public_key,
    read_private_key_file,
    read_public_key_of_key_file,
    require_one_kind,
    write_private_key_file,
)

FAST = insecure_argon2_params()
PASS = Passphrase("correct horse battery staple")


@pytest.mark.parametrize("kind", ["mlkem768x25519", "x25519"])
def test_public_key_text_round_trip(kind: str) -> None:
    key = generate_keypair(kind)  # type: ignore[arg-type]
    text = key.public.text
    assert text.startswith(f"srk2-{kind}:")
    assert parse_public_key(f"  {text}\n") == key.public
    old = generate_keypair(kind, signing=False)  # type: ignore[arg-type]
    assert old.public.text.startswith(f"srk1-{kind}:")
    assert parse_public_key(old.public.text) == old.public


def test_fingerprint_is_forty_digits_read_aloud_in_groups_of_four(hybrid_key: PrivateKey) -> None:
    """At least 128 bits (40 digits are 132.9), in groups a person reads out and compares."""
    groups = hybrid_key.public.fingerprint.split(" ")
    assert [len(g) for g in groups] == [4] * 10 and all(g.isdigit() for g in groups)
    assert 10**40 > 2**128
    assert hybrid_key.public.fingerprint != generate_keypair().public.fingerprint
    # SHA-256 of the public key bytes, as a number, modulo 10^40 (FORMAT.md).
    assert fingerprint(b"") == "9799 9006 4819 8034 9933 7939 7001 1156 6508 6549"


def test_mixed_recipient_kinds_are_refused_unless_allowed_by_name(
    hybrid_key: PrivateKey, x25519_key: PrivateKey
) -> None:
    mixed = [hybrid_key.public, x25519_key.public]
    assert mixed_kinds(mixed)
    with pytest.raises(MixedKeyKinds, match="ALLOW_MIXED_RECIPIENT_KEYS"):
        require_one_kind(mixed, allow_mixed=False)
    require_one_kind(mixed, allow_mixed=True)
    require_one_kind([hybrid_key.public, generate_keypair().public], allow_mixed=False)
    require_one_kind([x25519_key.public], allow_mixed=False)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "srk1-rsa:AAAA",
        "srk1-x25519:!!!",
        "srk1-x25519:AAAA",
        "age1qqqq",
    ],
)
def test_bad_public_keys_are_rejected(text: str) -> None:
    with pytest.raises(BadPublicKey):
        parse_public_key(text)


def test_load_recipients_inline_and_files(
    tmp_path: Path, hybrid_key: PrivateKey, x25519_key: PrivateKey, other_key: PrivateKey
) -> None:
    key_file = tmp_path / "caseworker.pub"
    key_file.write_text(f"# Aigerim, 2025\n{x25519_key.public.text}\n\n{other_key.public.text}\n")
    keys = load_recipients(f"{hybrid_key.public.text}, {key_file}")
    assert keys == [hybrid_key.public, x25519_key.public, other_key.public]


def test_load_recipients_refuses_empty_duplicate_and_private(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    with pytest.raises(BadPublicKey, match="no recipient"):
        load_recipients(" , ")
    with pytest.raises(BadPublicKey, match="twice"):
        load_recipients(f"{hybrid_key.public.text},{hybrid_key.public.text}")
    private = tmp_path / "key.json"
    write_private_key_file(private, hybrid_key, PASS, params=FAST)
    with pytest.raises(BadPublicKey, match="private key"):
        load_recipients(str(private))
    with pytest.raises(BadPublicKey, match="cannot read"):
        load_recipients(str(tmp_path / "missing.pub"))


@pytest.mark.parametrize("kind", ["mlkem768x25519", "x25519"])
def test_private_key_file_round_trip(tmp_path: Path, kind: str) -> None:
    key = generate_keypair(kind)  # type: ignore[arg-type]
    path = tmp_path / "key.json"
    write_private_key_file(path, key, PASS, params=FAST)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_private_key_file(path, PASS) == key
    assert read_public_key_of_key_file(path) == key.public
    assert key.raw.hex() not in path.read_text()


def test_wrong_passphrase(tmp_path: Path, x25519_key: PrivateKey) -> None:
    path = tmp_path / "key.json"
    write_private_key_file(path, x25519_key, PASS, params=FAST)
    with pytest.raises(WrongPassphrase):
        read_private_key_file(path, Passphrase("Correct horse battery staple"))


def test_key_file_is_never_silently_replaced(tmp_path: Path, x25519_key: PrivateKey) -> None:
    path = tmp_path / "key.json"
    write_private_key_file(path, x25519_key, PASS, params=FAST)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        write_private_key_file(path, generate_keypair(), PASS, params=FAST)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["key.json"]  # no temp file left behind


def test_key_file_swapped_public_key_is_rejected(tmp_path: Path, x25519_key: PrivateKey) -> None:
    path = tmp_path / "key.json"
    write_private_key_file(path, x25519_key, PASS, params=FAST)
    doc = json.loads(path.read_text())
    doc["public_key"] = generate_keypair("x25519").public.text
    path.write_text(json.dumps(doc))
    # The public key line is the AEAD's associated data, so the swap fails like a wrong passphrase.
    with pytest.raises(WrongPassphrase):
        read_private_key_file(path, PASS)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(version=1),
        lambda d: d.update(version=3),
        lambda d: d.update(signature="rsa"),
        lambda d: d.update(format="something-else"),
        lambda d: d["kdf"].update(memory_kib=1 << 40),
        lambda d: d.update(nonce="AAAA"),
        lambda d: d.update(kem="x25519"),
    ],
)
def test_malformed_key_files(tmp_path: Path, hybrid_key: PrivateKey, mutate: object) -> None:
    path = tmp_path / "key.json"
    write_private_key_file(path, hybrid_key, PASS, params=FAST)
    doc = json.loads(path.read_text())
    mutate(doc)  # type: ignore[operator]
    path.write_text(json.dumps(doc))
    with pytest.raises(BadKeyFile):
        read_private_key_file(path, PASS)


def test_not_a_key_file(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_bytes(b"\x00\x01binary")
    with pytest.raises(BadKeyFile):
        read_private_key_file(path, PASS)
    with pytest.raises(BadKeyFile, match="not found"):
        read_private_key_file(tmp_path / "nope", PASS)
