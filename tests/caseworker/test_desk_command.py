"""`python -m caseworker desk` as a caseworker runs it: the link is the first line of output, it
refuses what cannot work with one line, and Ctrl-C closes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from console_helpers import run

from storage.keys import (
    Passphrase,
    generate_keypair,
    insecure_argon2_params,
    write_private_key_file,
)
from storage.vault import migrate

ROOT = Path(__file__).resolve().parents[2]


def _key(tmp_path: Path, *, signing: bool = True) -> Path:
    path = tmp_path / "me.key"
    key = generate_keypair("x25519", signing=signing)
    write_private_key_file(
        path, key, Passphrase("correct horse battery staple"), params=insecure_argon2_params()
    )
    return path


def test_the_link_is_the_first_line_and_ctrl_c_closes_the_desk(tmp_path: Path) -> None:
    key = _key(tmp_path)
    db = tmp_path / "vault.db"
    migrate(db)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "caseworker",
            "desk",
            "--key",
            str(key),
            "--db",
            str(db),
            "--no-browser",
            "--cache",
            str(tmp_path / "cache.sqlite3"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)},
    )
    with process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        assert first.startswith("http://127.0.0.1:") and "/open?token=" in first
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        assert "Traceback" not in process.stderr.read()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--server", "http://staff.example.org"], "https"),
        ([], "one of --server URL or --db PATH"),
        (["--db", "missing.db"], "database not found"),
    ],
)
def test_what_cannot_work_is_one_line(tmp_path: Path, extra: list[str], expected: str) -> None:
    result = run("desk", "--key", str(_key(tmp_path)), "--no-browser", *extra)
    assert result.code == 1 and result.err.count("\n") == 1 and expected in result.err


def test_an_old_key_must_be_upgraded_for_the_server(tmp_path: Path) -> None:
    result = run(
        "desk", "--key", str(_key(tmp_path, signing=False)), "--server", "https://s.example.org"
    )
    assert result.code == 1 and "upgrade-key" in result.err
