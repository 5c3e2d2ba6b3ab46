"""The console end to end: keygen -> store (bot API) -> list -> read -> export -> stats -> purge,
and one clear line (no traceback) for every failure a caseworker can meet."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from console_helpers import PASSPHRASE, SURVIVOR_TEXT, Setup, fill, run, sample_reports

from caseworker.cli import build_parser
from storage.keys import (
    Passphrase,
    generate_keypair,
    insecure_argon2_params,
    read_public_key_of_key_file,
    write_private_key_file,
)

COMMANDS = [
    "keygen",
    "pubkey",
    "fingerprint",
    "upgrade-key",
    "list",
    "read",
    "export",
    "stats",
    "purge",
]


def test_help_on_every_command_starts_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    for command in [[], *([c] for c in COMMANDS)]:
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args([*command, "--help"])
        assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_module_help_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "caseworker", "--help"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    assert all(c in result.stdout for c in COMMANDS)


def test_full_journey(tmp_path: Path) -> None:
    # keygen through the real command (default, strong Argon2: done once here).
    pass_file = tmp_path / "pass.txt"
    pass_file.write_text(PASSPHRASE + "\n")
    key_file = tmp_path / "me.key"
    result = run("keygen", "--out", str(key_file), "--passphrase-file", str(pass_file))
    assert result.code == 0, result.err
    public = read_public_key_of_key_file(key_file)
    assert public.text in result.out and public.fingerprint in result.out
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    # The bot side stores reports with the public key only.
    db = tmp_path / "vault.db"
    from storage.keys import read_private_key_file  # the test reads the key to check equality

    key = read_private_key_file(key_file, PASSPHRASE)  # type: ignore[arg-type]
    ids = asyncio.run(fill(db, key, sample_reports()))
    key_args = ["--db", str(db), "--key", str(key_file), "--passphrase-file", str(pass_file)]

    listed = run("list", "--db", str(db))
    assert listed.code == 0
    assert all(str(i) in listed.out for i in ids)
    assert SURVIVOR_TEXT not in listed.out  # list never decrypts

    shown = run("read", str(ids[0])[:9], *key_args)
    assert shown.code == 0, shown.err
    assert "He took my passport" in shown.out and "almaty_city" in shown.out

    exported = tmp_path / "out.json"
    assert run("export", "--format", "json", "--out", str(exported), *key_args).code == 0
    document = json.loads(exported.read_text())
    assert len(document["reports"]) == 3
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600

    counted = run("stats", "--format", "json", *key_args)
    assert json.loads(counted.out)["by_form"] == {"economic": 1, "physical": 2, "psychological": 1}

    purged = run("purge", "--db", str(db), "--today", "2025-04-15")
    assert purged.code == 0 and "purged 1" in purged.out  # only the 2025-01-15 report expired
    assert run("list", "--db", str(db)).out.endswith("2 reports\n")


def test_read_all_with_attachments_stays_in_folder(setup: Setup) -> None:
    folder = setup.folder / "attachments"
    result = run("read", "--all", *setup.key_args(), "--attachments", str(folder))
    assert result.code == 0, result.err
    assert result.out.count("Report ") == 3
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert [p.name for p in files] == ["01-evil.jpg"]
    assert files[0].read_bytes() == b"\xff\xd8 jpeg bytes"
    assert files[0].resolve().is_relative_to(folder.resolve())
    assert not (setup.folder / "evil.jpg").exists()


def test_read_neutralises_terminal_escapes(tmp_path: Path, setup: Setup) -> None:
    from storage.report import Report

    hostile = Report(
        language="ru",
        answers={"text": "hi \x1b]0;pwned\x07 \u202etxt.exe"},
        received_day="2025-03-01",
    )
    [rid] = asyncio.run(fill(setup.db, setup.key, [hostile]))
    result = run("read", str(rid), *setup.key_args())
    assert "\x1b" not in result.out and "\u202e" not in result.out
    assert "\\x1b" in result.out


def test_export_csv(setup: Setup) -> None:
    out = setup.folder / "out.csv"
    result = run("export", "--format", "csv", "--out", str(out), *setup.key_args())
    assert result.code == 0 and result.err == ""  # no progress bar when stderr is not a TTY
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert len(rows) == 3
    by_day = {r["received_day"]: r for r in rows}
    assert by_day["2025-01-15"]["forms"] == "physical; economic"
    assert by_day["2025-01-15"]["text"] == SURVIVOR_TEXT
    # A formula typed by a sender must not run in the caseworker's spreadsheet.
    assert by_day["2025-02-20"]["text"].startswith("'=")


def test_stats_text(setup: Setup) -> None:
    result = run("stats", *setup.key_args())
    assert result.code == 0
    assert "2025-02       2" in result.out
    assert "almaty_city" in result.out and "(none)" in result.out


def _one_line_failure(result_code: int, err: str) -> None:
    assert result_code != 0
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "Traceback" not in err


def test_wrong_passphrase_is_one_line(setup: Setup) -> None:
    setup.pass_file.write_text("not the passphrase\n")
    result = subprocess.run(
        [sys.executable, "-m", "caseworker", "read", "--all", *setup.key_args()],
        capture_output=True,
        text=True,
        timeout=30,
    )
    _one_line_failure(result.returncode, result.stderr)
    assert "wrong passphrase" in result.stderr
    assert result.stdout == ""


def test_wrong_key_is_one_line(setup: Setup, tmp_path: Path) -> None:
    from storage.keys import generate_keypair, insecure_argon2_params, write_private_key_file

    other = tmp_path / "other.key"
    write_private_key_file(
        other,
        generate_keypair(),
        PASSPHRASE,  # type: ignore[arg-type]
        params=insecure_argon2_params(),
    )
    args = ["--db", str(setup.db), "--key", str(other), "--passphrase-file", str(setup.pass_file)]
    single = run("read", str(setup.ids[0]), *args)
    _one_line_failure(single.code, single.err)
    assert "not sealed to this key" in single.err
    every = run("read", "--all", *args)
    _one_line_failure(every.code, every.err)
    assert every.code == 1 and "none of the 3" in every.err


def test_tampered_envelope(setup: Setup) -> None:
    conn = sqlite3.connect(setup.db)
    envelope = bytearray(
        conn.execute("SELECT envelope FROM reports WHERE id = ?", (setup.ids[1].value,)).fetchone()[
            0
        ]
    )
    envelope[-5] ^= 0xFF
    conn.execute(
        "UPDATE reports SET envelope = ? WHERE id = ?", (bytes(envelope), setup.ids[1].value)
    )
    conn.commit()
    conn.close()
    single = run("read", str(setup.ids[1]), *setup.key_args())
    _one_line_failure(single.code, single.err)
    assert "fails authentication" in single.err
    every = run("read", "--all", *setup.key_args())
    assert every.code == 3  # partial: two reports shown, one counted as damaged
    assert every.out.count("Report ") == 2 and "1 of 3" in every.err


def test_truncated_envelope_listed_as_damaged(setup: Setup) -> None:
    conn = sqlite3.connect(setup.db)
    conn.execute(
        "UPDATE reports SET envelope = substr(envelope, 1, 100) WHERE id = ?", (setup.ids[0].value,)
    )
    conn.commit()
    conn.close()
    assert "damaged" in run("list", "--db", str(setup.db)).out
    result = run("read", str(setup.ids[0]), *setup.key_args())
    _one_line_failure(result.code, result.err)
    assert "truncated" in result.err


@pytest.mark.parametrize(
    "argv",
    [
        ["list", "--db", "missing.db"],
        ["read", "--all", "--db", "missing.db", "--key", "missing.key"],
        ["purge", "--db", "missing.db"],
        ["pubkey", "--key", "missing.key"],
    ],
)
def test_missing_files_are_one_line(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(*argv)
    _one_line_failure(result.code, result.err)
    assert "not found" in result.err


def test_missing_key_file_is_reported_before_any_prompt(setup: Setup) -> None:
    result = run("read", "--all", "--db", str(setup.db), "--key", str(setup.folder / "nope"))
    _one_line_failure(result.code, result.err)
    assert "key file not found" in result.err


def test_debug_shows_the_traceback(setup: Setup) -> None:
    from storage.errors import ReportNotFound

    with pytest.raises(ReportNotFound):
        run("--debug", "read", "ffff", *setup.key_args())


def test_keygen_refuses_overwrite_and_weak_passphrase(setup: Setup) -> None:
    before = setup.key_file.read_bytes()
    result = run("keygen", "--out", str(setup.key_file), "--passphrase-file", str(setup.pass_file))
    _one_line_failure(result.code, result.err)
    assert setup.key_file.read_bytes() == before
    short = setup.folder / "short.txt"
    short.write_text("abc\n")
    result = run("keygen", "--out", str(setup.folder / "new.key"), "--passphrase-file", str(short))
    _one_line_failure(result.code, result.err)
    assert not (setup.folder / "new.key").exists()


def test_keygen_typed_passphrases_must_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["a long enough passphrase", "a long enough passphrasE"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    result = run("keygen", "--out", str(tmp_path / "k.key"), "--kind", "x25519")
    _one_line_failure(result.code, result.err)
    assert "differ" in result.err and not (tmp_path / "k.key").exists()


def test_read_is_read_only(setup: Setup) -> None:
    before = setup.db.read_bytes()
    run("read", "--all", *setup.key_args())
    run("list", "--db", str(setup.db))
    assert setup.db.read_bytes() == before


def test_pubkey_matches_keygen(setup: Setup) -> None:
    result = run("pubkey", "--key", str(setup.key_file))
    assert setup.key.public.fingerprint in result.out


def test_fingerprint_of_a_key_line_a_key_file_and_a_private_key_file(tmp_path: Path) -> None:
    """What the caseworker reads out is what the bot logs for her key at start."""
    key = generate_keypair()
    other = generate_keypair("x25519")
    lines = tmp_path / "recipients.txt"
    lines.write_text(f"# the centre's caseworkers\n{key.public.text}\n{other.public.text}\n")
    private = tmp_path / "me.key"
    write_private_key_file(private, key, Passphrase(PASSPHRASE), params=insecure_argon2_params())
    result = run("fingerprint", key.public.text, str(lines), str(private))
    assert result.code == 0, result.err
    rows = [line.split("  ") for line in result.out.splitlines()]
    assert [r[0] for r in rows] == [
        key.public.fingerprint,
        key.public.fingerprint,
        other.public.fingerprint,
        key.public.fingerprint,
    ]
    assert [r[1] for r in rows] == ["mlkem768x25519", "mlkem768x25519", "x25519", "mlkem768x25519"]
    bad = run("fingerprint", "srk1-x25519:AAAA")
    assert bad.code == 1 and bad.err.startswith("error: ")
    missing = run("fingerprint", str(tmp_path / "nope"))
    assert missing.code == 1 and "nor a file" in missing.err
