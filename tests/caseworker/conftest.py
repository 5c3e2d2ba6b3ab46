"""Fixtures for the console tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from console_helpers import PASSPHRASE, Setup, fill, sample_reports

from storage.keys import (
    Passphrase,
    generate_keypair,
    insecure_argon2_params,
    write_private_key_file,
)


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    key = generate_keypair("mlkem768x25519")
    key_file = tmp_path / "me.key"
    write_private_key_file(key_file, key, Passphrase(PASSPHRASE), params=insecure_argon2_params())
    pass_file = tmp_path / "pass.txt"
    pass_file.write_text(PASSPHRASE + "\n")
    db = tmp_path / "vault.db"
    ids = asyncio.run(fill(db, key, sample_reports()))
    return Setup(folder=tmp_path, db=db, key_file=key_file, pass_file=pass_file, key=key, ids=ids)
