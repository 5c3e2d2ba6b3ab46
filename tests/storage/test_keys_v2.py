"""Version 2 keys: an Ed25519 signing key beside the HPKE key, and the upgrade from version 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from storage_helpers import make_report

from storage.envelope import open_envelope, seal
from storage.errors import BadKeyFile, BadPublicKey
from storage.keys import (
    Passphrase,
    generate_keypair,
    insecure_argon2_params,
    load_recipients,
    parse_public_key,
    read_key_file_info,
    read_private_key_file,
    upgrade_keypair,
    write_private_key_file,
)
from storage.report import ReportId

FAST = insecure_argon2_params()
PASS = Passphrase("correct horse battery staple")


def test_a_version_2_key_signs_and_its_public_line_verifies() -> None:
    key = generate_keypair()
    public = parse_public_key(key.public.text)
    assert public.can_sign and public == key.public
    signature = key.sign(b"case event")
    public.verify_key().verify(signature, b"case event")  # raises if wrong


def test_a_version_1_key_cannot_sign() -> None:
    old = generate_keypair("x25519", signing=False)
    with pytest.raises(BadKeyFile, match="upgrade"):
        old.sign(b"x")
    with pytest.raises(BadPublicKey, match="upgrade"):
        old.public.verify_key()


def test_the_fingerprint_covers_the_signing_key() -> None:
    # The operator compares the fingerprint aloud: swapping the signing key must change it.
    key = generate_keypair()
    swapped = type(key.public)(kind=key.kind, raw=key.public.raw, signing=bytes(32))
    assert swapped.fingerprint != key.public.fingerprint
    assert swapped.key_id == key.public.key_id  # stanzas are found by the HPKE key alone


def test_upgrade_keeps_the_hpke_key_so_old_reports_still_open(tmp_path: Path) -> None:
    old = generate_keypair("mlkem768x25519", signing=False)
    rid = ReportId.new()
    envelope = seal(make_report(), rid, [old.public])
    new = upgrade_keypair(old)
    assert new.signing is not None and new.raw == old.raw
    assert new.public.without_signing() == old.public
    assert open_envelope(envelope, rid, new) == make_report()
    assert upgrade_keypair(new) is new


def test_version_2_key_file_round_trip_with_a_name(tmp_path: Path) -> None:
    key = generate_keypair()
    path = tmp_path / "aigerim.key"
    write_private_key_file(path, key, PASS, params=FAST, name="Aigerim")
    doc = json.loads(path.read_text())
    assert doc["version"] == 2 and doc["signature"] == "ed25519"
    assert doc["public_key"].startswith("srk2-")
    assert read_private_key_file(path, PASS) == key
    info = read_key_file_info(path)
    assert (info.public, info.version, info.name) == (key.public, 2, "Aigerim")
    assert key.signing is not None and key.signing.hex() not in path.read_text()


def test_a_version_1_file_still_reads(tmp_path: Path) -> None:
    old = generate_keypair("x25519", signing=False)
    path = tmp_path / "old.key"
    write_private_key_file(path, old, PASS, params=FAST)
    assert json.loads(path.read_text())["version"] == 1
    assert read_private_key_file(path, PASS) == old
    assert read_key_file_info(path).version == 1


@pytest.mark.parametrize("name", ["\u202eevil", "a" * 65, "line\nbreak"])
def test_key_names_refuse_control_characters_and_length(tmp_path: Path, name: str) -> None:
    with pytest.raises(BadKeyFile):
        write_private_key_file(tmp_path / "k", generate_keypair(), PASS, params=FAST, name=name)


def test_a_version_1_and_version_2_line_of_one_key_count_as_the_same_recipient() -> None:
    old = generate_keypair("x25519", signing=False)
    new = upgrade_keypair(old)
    with pytest.raises(BadPublicKey, match="twice"):
        load_recipients(f"{old.public.text},{new.public.text}")


def test_srk2_line_of_the_wrong_length_is_refused() -> None:
    key = generate_keypair("x25519")
    truncated = key.public.text[:-4]
    with pytest.raises(BadPublicKey):
        parse_public_key(truncated)
