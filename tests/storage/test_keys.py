"""Recipient keys, the REPORT_RECIPIENTS setting, and passphrase-locked private key files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from storage.errors import BadKeyFile, BadPublicKey, WrongPassphrase
from storage.keys import (
    Passphrase,
    PrivateKey,
    generate_keypair,
    insecure_argon2_params,
    load_recipients,
    parse_public_key,
    read_private_key_file,
    read_public_key_of_key_file,
    write_private_key_file,
)

FAST = insecure_argon2_params()
PASS = Passphrase("correct horse battery staple")


@pytest.mark.parametrize("kind", ["mlkem768x25519", "x25519"])
def test_public_key_text_round_trip(kind: str) -> None:
    key = generate_keypair(kind)  # type: ignore[arg-type]
    text = key.public.text
    assert text.startswith(f"srk1-{kind}:")
    assert parse_public_key(f"  {text}\n") == key.public


def test_fingerprint_is_four_groups_of_four(hybrid_key: PrivateKey) -> None:
    groups = hybrid_key.public.fingerprint.split("-")
    assert [len(g) for g in groups] == [4, 4, 4, 4]
    assert hybrid_key.public.fingerprint != generate_keypair().public.fingerprint


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
        lambda d: d.update(version=2),
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
