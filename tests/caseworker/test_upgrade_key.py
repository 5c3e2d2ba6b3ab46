"""`upgrade-key`: a version 1 key gains a signing key in place and keeps reading its reports."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from console_helpers import PASSPHRASE, fill, run, sample_reports

from storage.keys import (
    Passphrase,
    generate_keypair,
    insecure_argon2_params,
    read_key_file_info,
    read_private_key_file,
    write_private_key_file,
)


def test_upgrade_key_adds_a_signing_key_and_old_reports_still_open(tmp_path: Path) -> None:
    old = generate_keypair("mlkem768x25519", signing=False)
    key_file = tmp_path / "me.key"
    write_private_key_file(key_file, old, Passphrase(PASSPHRASE), params=insecure_argon2_params())
    pass_file = tmp_path / "pass.txt"
    pass_file.write_text(PASSPHRASE + "\n")
    db = tmp_path / "vault.db"
    asyncio.run(fill(db, old, sample_reports()))

    shown = run("pubkey", "--key", str(key_file))
    assert "srk1-" in shown.out and "upgrade-key" in shown.out

    result = run(
        "upgrade-key",
        "--key",
        str(key_file),
        "--passphrase-file",
        str(pass_file),
        "--name",
        "Aigerim",
    )
    assert result.code == 0, result.err
    info = read_key_file_info(key_file)
    assert info.version == 2 and info.name == "Aigerim" and info.public.can_sign
    assert info.public.text in result.out and info.public.fingerprint in result.out
    assert json.loads(key_file.read_text())["public_key"].startswith("srk2-")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file

    key = read_private_key_file(key_file, Passphrase(PASSPHRASE))
    assert key.raw == old.raw
    read = run(
        "read",
        "--all",
        "--db",
        str(db),
        "--key",
        str(key_file),
        "--passphrase-file",
        str(pass_file),
    )
    assert read.code == 0 and read.out.count("Report ") == 3

    again = run("upgrade-key", "--key", str(key_file), "--passphrase-file", str(pass_file))
    assert again.code == 0 and "already" in again.out
    assert read_private_key_file(key_file, Passphrase(PASSPHRASE)) == key


def test_upgrade_key_with_the_wrong_passphrase_changes_nothing(tmp_path: Path) -> None:
    old = generate_keypair("x25519", signing=False)
    key_file = tmp_path / "me.key"
    write_private_key_file(key_file, old, Passphrase(PASSPHRASE), params=insecure_argon2_params())
    before = key_file.read_bytes()
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase at all\n")
    result = run("upgrade-key", "--key", str(key_file), "--passphrase-file", str(wrong))
    assert result.code == 1 and result.err.count("\n") == 1 and "wrong passphrase" in result.err
    assert key_file.read_bytes() == before


def test_keygen_writes_a_named_version_2_key(tmp_path: Path) -> None:
    pass_file = tmp_path / "pass.txt"
    pass_file.write_text(PASSPHRASE + "\n")
    key_file = tmp_path / "new.key"
    result = run(
        "keygen", "--out", str(key_file), "--passphrase-file", str(pass_file), "--name", "Dana"
    )
    assert result.code == 0, result.err
    info = read_key_file_info(key_file)
    assert info.version == 2 and info.name == "Dana" and "srk2-" in result.out
