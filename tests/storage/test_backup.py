"""Backups and restores of the vault, and migrations from every schema version ever shipped."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import stat
from pathlib import Path

import pytest
from storage_helpers import MARKER, make_report

from storage.__main__ import main as storage_cli
from storage.backup import backup, restore, verify
from storage.envelope import open_envelope, seal
from storage.errors import VaultError
from storage.keys import PrivateKey
from storage.report import ReportId
from storage.vault import MIGRATIONS, SCHEMA_VERSION, Vault, VaultReader, _statements, migrate

VECTORS = Path(__file__).with_name("vectors")
FROZEN_V1 = VECTORS / "vault_v1.sql"
FROZEN_ID = ReportId(bytes.fromhex("00112233445566778899aabbccddeeff"))


def vector_key() -> PrivateKey:
    spec = json.loads((VECTORS / "envelope_v1.json").read_text())["keys"]["x25519-a"]
    return PrivateKey(kind=spec["kind"], raw=bytes.fromhex(spec["private"]))


def frozen_v1(path: Path) -> Path:
    """A version-1 vault built from the frozen dump of the released step."""
    conn = sqlite3.connect(path)
    conn.executescript(FROZEN_V1.read_text())
    conn.close()
    return path


def at_version(path: Path, version: int, key: PrivateKey) -> ReportId | None:
    """A vault built by the first ``version`` migration steps, holding one report when the
    schema has the reports table (every version from 1)."""
    conn = sqlite3.connect(path, isolation_level=None)
    for step in MIGRATIONS[:version]:
        for statement in _statements(step):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    report_id = None
    if version >= 1:
        report_id = ReportId.new()
        report = make_report(f"{MARKER} at version {version}")
        conn.execute(
            "INSERT INTO reports (id, received_day, expires_day, envelope) VALUES (?, ?, ?, ?)",
            (
                report_id.value,
                report.received_day,
                "2099-01-01",
                seal(report, report_id, [key.public]),
            ),
        )
    conn.close()
    return report_id


def test_the_released_first_step_still_builds_the_frozen_schema(tmp_path: Path) -> None:
    """A released migration step is never edited: step 1 builds what version 1 shipped."""
    built, frozen = tmp_path / "built.db", frozen_v1(tmp_path / "frozen.db")
    at_version(built, 1, vector_key())

    def schema(db: Path) -> list[tuple[str, str]]:
        conn = sqlite3.connect(db)
        try:
            return conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
        finally:
            conn.close()

    assert schema(built) == schema(frozen)


@pytest.mark.parametrize("version", range(SCHEMA_VERSION))
def test_every_earlier_version_migrates_and_keeps_its_reports(
    tmp_path: Path, version: int, x25519_key: PrivateKey
) -> None:
    db = tmp_path / "old.db"
    report_id = at_version(db, version, x25519_key)
    assert migrate(db) == SCHEMA_VERSION
    with VaultReader(db) as reader:
        rows = reader.list_rows()
    if report_id is None:
        assert rows == []
    else:
        assert [row.id for row in rows] == [report_id]
        opened = open_envelope(rows[0].envelope, report_id, x25519_key)
        assert opened.answers["text"] == f"{MARKER} at version {version}"


def test_the_frozen_version_1_vault_restores_into_this_version(tmp_path: Path) -> None:
    vault = tmp_path / "live" / "reports.sqlite3"
    restored = restore(frozen_v1(tmp_path / "v1.db"), vault)
    assert (restored.reports, restored.schema_version) == (1, SCHEMA_VERSION)
    with VaultReader(vault) as reader:
        row = reader.fetch(FROZEN_ID)
    report = open_envelope(row.envelope, FROZEN_ID, vector_key())
    assert report.answers["story"] == "frozen v1 vault: restore and migrate me"
    assert stat.S_IMODE(vault.stat().st_mode) == 0o600


async def test_a_backup_of_a_vault_in_use_is_a_checked_snapshot(
    tmp_path: Path, hybrid_key: PrivateKey
) -> None:
    db, out = tmp_path / "vault.db", tmp_path / "backups" / "2026-12-01.sqlite3"
    async with await Vault.open(db, recipients=[hybrid_key.public]) as vault:
        for i in range(3):
            await vault.store(make_report(f"{MARKER} {i}", day=vault.today().isoformat()))
        # The bot goes on storing while the backup runs.
        storing = asyncio.create_task(
            vault.store(make_report(f"{MARKER} during", day=vault.today().isoformat()))
        )
        made = await asyncio.to_thread(backup, db, out)
        await storing
    assert made.reports in (3, 4) and made.schema_version == SCHEMA_VERSION
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not list(out.parent.glob(".*"))  # no temp file left behind
    raw = out.read_bytes()
    assert MARKER.encode() not in raw and b"almaty_city" not in raw  # ciphertext only
    with VaultReader(out) as reader:
        texts = [
            open_envelope(r.envelope, r.id, hybrid_key).answers["text"] for r in reader.iter_all()
        ]
    assert sorted(texts)[:3] == [f"{MARKER} {i}" for i in range(3)]
    assert verify(out).reports == made.reports


def test_backup_refuses_to_overwrite_and_needs_a_vault(
    tmp_path: Path, x25519_key: PrivateKey
) -> None:
    db = tmp_path / "vault.db"
    at_version(db, SCHEMA_VERSION, x25519_key)
    out = tmp_path / "copy.sqlite3"
    backup(db, out)
    with pytest.raises(VaultError, match="exists already"):
        backup(db, out)
    with pytest.raises(VaultError, match="no vault at"):
        backup(tmp_path / "missing.db", tmp_path / "other.sqlite3")
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(VaultError, match="not a report vault"):
        backup(empty, tmp_path / "third.sqlite3")


def test_a_damaged_backup_is_found_out(tmp_path: Path, x25519_key: PrivateKey) -> None:
    db, out = tmp_path / "vault.db", tmp_path / "copy.sqlite3"
    at_version(db, SCHEMA_VERSION, x25519_key)
    backup(db, out)
    conn = sqlite3.connect(out)
    conn.execute("UPDATE reports SET envelope = X'00010203'")  # a row that holds no envelope
    conn.commit()
    conn.close()
    with pytest.raises(VaultError, match="not an envelope"):
        verify(out)
    with pytest.raises(VaultError):
        restore(out, tmp_path / "restored.db")
    assert not (tmp_path / "restored.db").exists()


def test_restore_refuses_a_newer_schema(tmp_path: Path, x25519_key: PrivateKey) -> None:
    newer = tmp_path / "newer.sqlite3"
    at_version(newer, SCHEMA_VERSION, x25519_key)
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(VaultError, match="upgrade it before restoring"):
        restore(newer, tmp_path / "vault.db")


async def test_restore_refuses_a_vault_in_use_or_holding_reports(
    tmp_path: Path, x25519_key: PrivateKey
) -> None:
    copy = tmp_path / "copy.sqlite3"
    at_version(tmp_path / "source.db", SCHEMA_VERSION, x25519_key)
    backup(tmp_path / "source.db", copy)
    live = tmp_path / "live.db"
    async with await Vault.open(live, recipients=[x25519_key.public]) as vault:
        await vault.store(make_report(day=vault.today().isoformat()))
        with pytest.raises(VaultError, match="in use: stop the bot"):
            await asyncio.to_thread(restore, copy, live, replace=True)
    with pytest.raises(VaultError, match="holds 1 report"):
        restore(copy, live)
    restored = restore(copy, live, replace=True)
    assert restored.reports == 1
    async with await Vault.open(live, recipients=[x25519_key.public]) as vault:
        assert await vault.count() == 1  # the bot opens what was restored


def test_the_command_line_says_one_line(
    tmp_path: Path,
    x25519_key: PrivateKey,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = tmp_path / "vault.db"
    at_version(db, SCHEMA_VERSION, x25519_key)
    monkeypatch.setenv("VAULT_PATH", str(db))
    assert storage_cli(["backup", str(tmp_path / "b.sqlite3")]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"backed up to {tmp_path / 'b.sqlite3'}: 1 report(s), schema version")
    assert storage_cli(["backup", str(tmp_path / "b.sqlite3")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("backup failed: ") and "exists already" in err[0]
    assert storage_cli(["verify", str(tmp_path / "b.sqlite3")]) == 0
    target = tmp_path / "restored" / "reports.sqlite3"
    assert storage_cli(["restore", str(tmp_path / "b.sqlite3"), "--vault", str(target)]) == 0
    assert "restored" in capsys.readouterr().out
