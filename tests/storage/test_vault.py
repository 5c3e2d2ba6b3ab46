"""The vault: durable commits, migrations, retention, crash safety, no plaintext on disk."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from storage_helpers import MARKER, make_report

from storage.envelope import open_envelope
from storage.errors import ReportNotFound, VaultError
from storage.keys import PrivateKey
from storage.report import ReportId
from storage.vault import SCHEMA_VERSION, Vault, VaultReader, migrate, purge_file

CHILD = Path(__file__).with_name("crash_child.py")


async def test_store_then_read_back(tmp_path: Path, hybrid_key: PrivateKey) -> None:
    db = tmp_path / "vault.db"
    async with await Vault.open(db, recipients=[hybrid_key.public]) as vault:
        report = make_report(day=vault.today().isoformat())
        rid = await vault.store(report)
        assert await vault.count() == 1
    with VaultReader(db) as reader:
        row = reader.fetch(rid)
        assert row.received_day == report.received_day
        expected_expiry = date.fromisoformat(report.received_day) + timedelta(days=90)
        assert row.expires_day == expected_expiry.isoformat()
        assert row.size_class == 1024
        assert open_envelope(row.envelope, rid, hybrid_key) == report


async def test_reader_sees_commits_of_a_live_vault(tmp_path: Path, x25519_key: PrivateKey) -> None:
    db = tmp_path / "vault.db"
    vault = await Vault.open(db, recipients=[x25519_key.public])
    try:
        ids = {await vault.store(make_report()) for _ in range(3)}
        with VaultReader(db) as reader:
            assert {row.id for row in reader.iter_all()} == ids
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                reader._conn.execute("DELETE FROM reports")
    finally:
        await vault.close()


async def test_fetch_by_prefix(tmp_path: Path, x25519_key: PrivateKey) -> None:
    db = tmp_path / "vault.db"
    async with await Vault.open(db, recipients=[x25519_key.public]) as vault:
        rid = await vault.store(make_report())
    with VaultReader(db) as reader:
        assert reader.fetch(str(rid)[:9]).id == rid
        assert reader.fetch(rid.hex.upper()).id == rid
        with pytest.raises(ReportNotFound):
            reader.fetch(str(ReportId.new()))
        with pytest.raises(ReportNotFound, match="at least 4"):
            reader.fetch("ab")


async def test_concurrent_stores_all_commit(tmp_path: Path, x25519_key: PrivateKey) -> None:
    import asyncio

    db = tmp_path / "vault.db"
    async with await Vault.open(db, recipients=[x25519_key.public]) as vault:
        ids = await asyncio.gather(*(vault.store(make_report()) for _ in range(20)))
        assert len(set(ids)) == 20
        assert await vault.count() == 20


async def test_purge_removes_exactly_the_expired(tmp_path: Path, x25519_key: PrivateKey) -> None:
    db = tmp_path / "vault.db"
    async with await Vault.open(db, recipients=[x25519_key.public], retention_days=10) as vault:
        old = await vault.store(make_report(day="2025-01-01"))  # expires 2025-01-11
        edge = await vault.store(make_report(day="2025-01-02"))  # expires 2025-01-12
        new = await vault.store(make_report(day="2025-01-03"))  # expires 2025-01-13
        assert await vault.purge(date(2025, 1, 10)) == 0
        assert await vault.purge(date(2025, 1, 11)) == 1  # the expiry day itself is not kept
    with VaultReader(db) as reader:
        assert {r.id for r in reader.iter_all()} == {edge, new}
    assert old not in {edge, new}
    assert purge_file(db, today=date(2025, 1, 12)) == 1
    with VaultReader(db) as reader:
        assert [r.id for r in reader.iter_all()] == [new]
    # Purge leaves no WAL behind: deleted envelopes have no lingering copy there.
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


async def test_purge_uses_the_injected_clock(tmp_path: Path, x25519_key: PrivateKey) -> None:
    db = tmp_path / "vault.db"
    today = date(2025, 6, 1)
    async with await Vault.open(
        db, recipients=[x25519_key.public], retention_days=1, clock=lambda: today
    ) as vault:
        await vault.store(make_report(day="2025-05-31"))
        assert await vault.purge() == 1


def test_migrations_create_and_are_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "vault.db"
    assert migrate(db) == SCHEMA_VERSION
    assert migrate(db) == SCHEMA_VERSION
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name='reports'").fetchone()[0]
    assert "WITHOUT ROWID" in sql
    conn.close()


def test_schema_refuses_a_time_in_a_day_column(tmp_path: Path) -> None:
    db = tmp_path / "vault.db"
    migrate(db)
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO reports VALUES (?, ?, ?, ?)",
            (bytes(16), "2025-01-01 10:33:00", "2025-04-01", b""),
        )
    conn.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "vault.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(VaultError, match="upgrade"):
        migrate(db)
    with pytest.raises(VaultError, match="upgrade"):
        VaultReader(db)


def test_reader_refuses_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(VaultError, match="not found"):
        VaultReader(tmp_path / "missing.db")
    (tmp_path / "notes.txt").write_text("hello, this is not sqlite at all" * 100)
    with pytest.raises(VaultError):
        VaultReader(tmp_path / "notes.txt")
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(VaultError, match="not a report vault"):
        VaultReader(empty)
    with pytest.raises(VaultError, match="not found"):
        purge_file(tmp_path / "missing.db", today=date(2025, 1, 1))


@pytest.mark.parametrize("crash_at", ["sealed", "inserted", "committed"])
def test_crash_at_every_point_leaves_no_partial_row(
    tmp_path: Path, x25519_key: PrivateKey, crash_at: str
) -> None:
    db = tmp_path / "vault.db"
    result = subprocess.run(
        [sys.executable, str(CHILD), str(db), x25519_key.public.text, crash_at],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 77, result.stderr
    acknowledged = ReportId(bytes.fromhex(result.stdout.strip()))

    conn = sqlite3.connect(db)  # reopening recovers from the WAL exactly as the bot would
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with VaultReader(db) as reader:
        rows = reader.list_rows()
        texts = {open_envelope(r.envelope, r.id, x25519_key).answers["text"] for r in rows}
    # Every row decrypts (no partial row); the acknowledged report survived; the interrupted
    # one exists only if its COMMIT completed.
    assert acknowledged in {r.id for r in rows}
    assert texts == ({"first", "second"} if crash_at == "committed" else {"first"})


async def test_no_plaintext_reaches_the_disk(tmp_path: Path, hybrid_key: PrivateKey) -> None:
    db = tmp_path / "vault.db"
    report = make_report(photo=b"PHOTO-BYTES-" + MARKER.encode())
    secrets = [MARKER, "almaty_city", "physical", "economic", "p.jpg", "image/jpeg", "PHOTO-BYTES"]

    def scan() -> None:
        files = [p for p in tmp_path.iterdir() if p.name.startswith("vault.db")]
        assert files
        for path in files:
            raw = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in raw, f"{secret!r} found in {path.name}"

    vault = await Vault.open(db, recipients=[hybrid_key.public])
    await vault.store(report)
    scan()  # while running: main file, -wal and -shm
    await vault.purge(date(2000, 1, 1))
    await vault.close()
    scan()
    assert set(scan_names(tmp_path)) <= {"vault.db", "vault.db-wal", "vault.db-shm"}


def scan_names(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir()]


async def test_vault_refuses_no_recipients_and_bad_retention(
    tmp_path: Path, x25519_key: PrivateKey
) -> None:
    with pytest.raises(VaultError):
        await Vault.open(tmp_path / "a.db", recipients=[])
    with pytest.raises(VaultError):
        await Vault.open(tmp_path / "b.db", recipients=[x25519_key.public], retention_days=0)


async def test_tidy_empties_the_wal_and_sets_every_file_to_the_start_of_the_day(
    tmp_path: Path, x25519_key: PrivateKey
) -> None:
    db = tmp_path / "vault.db"
    day = date(2025, 3, 14)
    midnight = 1741910400.0  # 2025-03-14T00:00:00Z
    async with await Vault.open(db, recipients=[x25519_key.public], clock=lambda: day) as vault:
        for _ in range(3):
            await vault.store(make_report())
            assert db.with_name("vault.db-wal").stat().st_size == 0
        await vault.tidy()
        for name in ("vault.db", "vault.db-wal", "vault.db-shm"):
            info = (tmp_path / name).stat()
            assert (info.st_atime, info.st_mtime) == (midnight, midnight), name
    purge_file(db, today=date(2026, 1, 1))  # the console's purge leaves the same times
    assert db.stat().st_mtime == 1767225600.0  # 2026-01-01T00:00:00Z


async def test_the_byte_budget_keeps_its_last_tenth_for_small_reports(
    tmp_path: Path, x25519_key: PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage.errors import VaultFull

    db = tmp_path / "vault.db"
    budget = 400 * 1024
    async with await Vault.open(db, recipients=[x25519_key.public], max_bytes=budget) as vault:
        large = make_report(photo=bytes(100_000))  # a 256 KiB bucket
        await vault.store(large)
        with pytest.raises(VaultFull) as full:
            await vault.store(large)  # past 90% of the budget: only small ones now
        assert full.value.reason == "words_only"
        stored = 1
        with pytest.raises(VaultFull) as full:
            while True:
                await vault.store(make_report())
                stored += 1
        assert full.value.reason == "budget"
        assert stored > 1 and await vault.used_bytes() <= budget
        assert await vault.count() == stored
        # The disk: never filled past its last 256 MiB, whatever the budget.
        real = shutil.disk_usage
        monkeypatch.setattr(
            shutil, "disk_usage", lambda path: real(path)._replace(free=200 * 1024 * 1024)
        )
        await vault.purge(date(2100, 1, 1))
        with pytest.raises(VaultFull) as full:
            await vault.store(make_report())
        assert full.value.reason == "disk"
