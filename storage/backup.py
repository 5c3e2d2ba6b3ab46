"""Backups of the vault that survive an operator's mistakes: made online, checked, restored safely.

- **Ciphertext only.** The vault holds sealed envelopes, their days and nothing else; a backup is a
  copy of it, and every envelope in it is checked to parse as one (no key is needed or used).
- **Online.** SQLite's backup API copies the live database, WAL included, inside one read
  transaction: a consistent snapshot while the bot keeps storing reports. The count of reports is
  read in that same transaction.
- **Checked after writing.** The copy is reopened: ``PRAGMA integrity_check``, the schema version
  and the count must match before it is renamed into place (written to a temp file beside it, owner
  only, fsynced: a backup is whole or absent).
- **Restore** refuses a backup from a newer schema (upgrade the software first), migrates an older
  one (storage.vault.MIGRATIONS), refuses to replace a vault that holds reports unless told to,
  and refuses while any process has the vault open (the bot and the staff API must be stopped).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from storage.atomicfile import _fsync_dir
from storage.envelope import parse
from storage.errors import StorageError, VaultError
from storage.vault import SCHEMA_VERSION, migrate


@dataclass(frozen=True)
class Copied:
    """What a backup or a restore wrote."""

    path: Path
    reports: int
    schema_version: int
    size: int


def backup(vault: Path, out: Path) -> Copied:
    """Copy the live ``vault`` to ``out`` (which must not exist yet), then check the copy."""
    vault, out = Path(vault), Path(out)
    if not vault.is_file():
        raise VaultError(f"no vault at {vault}")
    if out.exists():
        raise VaultError(f"{out} exists already: give a new file name (a date, say)")
    with _temp_beside(out) as tmp:
        source = _open(vault, readonly=True)
        try:
            source.execute("BEGIN")  # one snapshot for the count and the copy
            version = _version(source, vault)
            reports = _count(source, vault)
            target = sqlite3.connect(tmp)
            try:
                source.backup(target)
                # A backup is one self-contained file: no WAL beside it.
                target.execute("PRAGMA journal_mode = DELETE")
            finally:
                target.close()
            source.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise VaultError(f"cannot copy {vault}: {exc}") from exc
        finally:
            source.close()
        copied = verify(tmp, reports=reports, schema_version=version)
        _publish(tmp, out, overwrite=False)
    return Copied(out, copied.reports, copied.schema_version, out.stat().st_size)


def verify(path: Path, *, reports: int | None = None, schema_version: int | None = None) -> Copied:
    """Check a vault file: integrity, its schema version and count (when given), and that every
    row holds a well-formed envelope. Raises :class:`VaultError` saying what is wrong."""
    conn = _open(path, readonly=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise VaultError(f"{path} fails SQLite's integrity check: {result}")
        version = _version(conn, path)
        if schema_version is not None and version != schema_version:
            raise VaultError(f"{path}: schema version {version}, expected {schema_version}")
        found = 0
        for (envelope,) in conn.execute("SELECT envelope FROM reports"):
            try:
                parse(bytes(envelope))
            except StorageError as exc:
                raise VaultError(f"{path} holds something that is not an envelope: {exc}") from exc
            found += 1
    except sqlite3.DatabaseError as exc:
        raise VaultError(f"{path} is not a usable report database: {exc}") from exc
    finally:
        conn.close()
    if reports is not None and found != reports:
        raise VaultError(f"{path} holds {found} reports, the vault held {reports}")
    return Copied(path, found, version, path.stat().st_size)


def restore(backup_file: Path, vault: Path, *, replace: bool = False) -> Copied:
    """Put ``backup_file`` in place as ``vault``, migrated to this software's schema."""
    backup_file, vault = Path(backup_file), Path(vault)
    if not backup_file.is_file():
        raise VaultError(f"no backup at {backup_file}")
    checked = verify(backup_file)
    if checked.schema_version > SCHEMA_VERSION:
        raise VaultError(
            f"{backup_file} has schema version {checked.schema_version}; this software knows up "
            f"to {SCHEMA_VERSION}: upgrade it before restoring"
        )
    if vault.exists():
        _refuse_if_open(vault)
        held = verify(vault).reports
        if held and not replace:
            raise VaultError(
                f"{vault} holds {held} report(s): move it away first, or pass --replace"
            )
    vault.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _temp_beside(vault) as tmp:
        source = _open(backup_file, readonly=True)
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        migrate(tmp)  # an older backup becomes this version's schema (and WAL)
        restored = verify(tmp, reports=checked.reports, schema_version=SCHEMA_VERSION)
        for suffix in ("-wal", "-shm"):  # the replaced vault's, which must not meet the new one
            with contextlib.suppress(FileNotFoundError):
                vault.with_name(vault.name + suffix).unlink()
        _publish(tmp, vault, overwrite=True)
    return Copied(vault, restored.reports, restored.schema_version, vault.stat().st_size)


def _refuse_if_open(vault: Path) -> None:
    """Raise if any process has ``vault`` open (the bot keeps it open while it runs)."""
    try:
        conn = sqlite3.connect(vault, timeout=0, isolation_level=None)
    except sqlite3.DatabaseError as exc:
        raise VaultError(f"cannot open {vault}: {exc}") from exc
    try:
        # Exclusive locking mode takes the file's exclusive lock, which an open connection of
        # another process (even an idle one, in WAL mode) keeps it from getting.
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("COMMIT")
    except sqlite3.OperationalError:
        raise VaultError(
            f"{vault} is in use: stop the bot and the staff API before restoring"
        ) from None
    finally:
        conn.close()


def _open(path: Path, *, readonly: bool) -> sqlite3.Connection:
    mode = "ro" if readonly else "rw"
    try:
        conn = sqlite3.connect(
            f"file:{quote(str(path))}?mode={mode}", uri=True, isolation_level=None
        )
        conn.execute("PRAGMA temp_store = MEMORY")
    except sqlite3.DatabaseError as exc:
        raise VaultError(f"cannot open {path}: {exc}") from exc
    return conn


def _version(conn: sqlite3.Connection, path: Path) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version < 1:
        raise VaultError(f"{path} is not a report vault")
    return version


def _count(conn: sqlite3.Connection, path: Path) -> int:
    return int(conn.execute("SELECT count(*) FROM reports").fetchone()[0])


@contextlib.contextmanager
def _temp_beside(path: Path) -> Iterator[Path]:
    """An empty owner-only temp file in ``path``'s folder, removed unless it was published."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        for leftover in (tmp, *(tmp.with_name(tmp.name + s) for s in ("-wal", "-shm", "-journal"))):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _publish(tmp: Path, path: Path, *, overwrite: bool) -> None:
    """fsync ``tmp`` and move it to ``path`` (failing if it exists, unless ``overwrite``)."""
    os.chmod(tmp, 0o600)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    if overwrite:
        os.replace(tmp, path)
    else:
        os.link(tmp, path)  # fails if ``path`` appeared meanwhile
        tmp.unlink()
    _fsync_dir(path.parent)
