"""Benchmarks of the vault, as functions another benchmark can call, and `python -m storage.bench`.

- `store_rate`: reports sealed and durably committed per second (each its own fsync'd commit).
- `decrypt_export_seconds`: seconds to open every envelope of a vault and write one JSON export,
  the work `python -m caseworker export --format json` does (kept here so `storage` does not
  import the console).
- `size_overhead`: envelope bytes against payload bytes for a few report sizes.

fsync cost dominates `store_rate`: run it on the disk the bot will use (`--dir`), not on tmpfs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from storage.atomicfile import write_atomic
from storage.envelope import open_envelope, seal
from storage.keys import KeyKind, PrivateKey, generate_keypair
from storage.report import Attachment, Report, ReportId, encode_report
from storage.vault import Vault, VaultReader, migrate

_TEXT = "Бенчмарк мәтіні / текст для замера / benchmark text. "


def sample_report(text_bytes: int = 400, attachment_bytes: int = 0) -> Report:
    """A report of roughly `text_bytes` of free text and one attachment if asked."""
    text = (_TEXT * (text_bytes // len(_TEXT.encode()) + 1)).encode()[:text_bytes]
    attachments = (
        [Attachment(kind="photo", mime="image/jpeg", name="p.jpg", data=bytes(attachment_bytes))]
        if attachment_bytes
        else []
    )
    return Report(
        language="ru",
        answers={
            "forms": ["physical", "economic"],
            "region": "almaty_city",
            "text": text.decode("utf-8", "ignore"),
        },
        received_day="2025-03-14",
        attachments=attachments,
    )


def _keys(count: int, kind: KeyKind) -> list[PrivateKey]:
    return [generate_keypair(kind) for _ in range(count)]


def store_rate(
    n: int, recipients: int = 1, *, kind: KeyKind = "mlkem768x25519", folder: Path | None = None
) -> float:
    """Reports sealed to `recipients` keys and committed per second, over `n` reports."""
    keys = _keys(recipients, kind)

    async def run(db: Path) -> float:
        async with await Vault.open(db, recipients=[k.public for k in keys]) as vault:
            report = sample_report()
            start = time.perf_counter()
            for _ in range(n):
                await vault.store(report)
            return n / (time.perf_counter() - start)

    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        return asyncio.run(run(Path(tmp) / "bench.db"))


def _fill(db: Path, key: PrivateKey, n: int) -> None:
    # Bulk insert in one transaction: this prepares data for the read benchmark; it is not the
    # bot's write path (that is `store_rate`).
    migrate(db)
    report = sample_report()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN")
        for _ in range(n):
            rid = ReportId.new()
            conn.execute(
                "INSERT INTO reports VALUES (?, ?, ?, ?)",
                (rid.value, report.received_day, "2025-06-12", seal(report, rid, [key.public])),
            )
        conn.execute("COMMIT")
    finally:
        conn.close()


def decrypt_export_seconds(n: int = 10_000, *, folder: Path | None = None) -> float:
    """Seconds to open `n` hybrid-sealed reports and write them as one JSON export."""
    key = generate_keypair()
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        db, out = Path(tmp) / "bench.db", Path(tmp) / "export.json"
        _fill(db, key, n)
        start = time.perf_counter()
        with VaultReader(db) as reader:
            records = []
            for row in reader.iter_all():
                report = open_envelope(row.envelope, row.id, key)
                records.append({"id": str(row.id), "answers": report.answers})
        write_atomic(out, json.dumps({"reports": records}, ensure_ascii=False).encode())
        return time.perf_counter() - start


def size_overhead(
    text_sizes: Sequence[int] = (100, 1_000, 10_000, 100_000, 1_000_000),
    *,
    recipients: Sequence[KeyKind] = ("mlkem768x25519",),
) -> list[dict[str, Any]]:
    """Payload (canonical JSON) bytes, envelope bytes and their ratio for each text size."""
    keys = [generate_keypair(kind).public for kind in recipients]
    rows = []
    for size in text_sizes:
        report = sample_report(text_bytes=size)
        payload = len(encode_report(report))
        envelope = len(seal(report, ReportId.new(), keys))
        rows.append(
            {
                "text_bytes": size,
                "payload_bytes": payload,
                "envelope_bytes": envelope,
                "ratio": round(envelope / payload, 2),
            }
        )
    return rows


def run_all(*, quick: bool, folder: Path | None = None) -> dict[str, Any]:
    """Every benchmark; `quick` uses small counts (for CI smoke runs)."""
    n_store = 50 if quick else 500
    n_export = 1_000 if quick else 10_000
    return {
        "store_reports_per_second_1_recipient": round(store_rate(n_store, 1, folder=folder), 1),
        "store_reports_per_second_3_recipients": round(store_rate(n_store, 3, folder=folder), 1),
        "store_n": n_store,
        "decrypt_export_n": n_export,
        "decrypt_export_seconds": round(decrypt_export_seconds(n_export, folder=folder), 3),
        "size_overhead_1_hybrid_recipient": size_overhead(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m storage.bench [--quick] [--dir DIR]`: a table on stdout, then one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m storage.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts, a few seconds")
    parser.add_argument("--dir", type=Path, help="folder for temp databases (the bot's disk)")
    args = parser.parse_args(argv)
    result = run_all(quick=args.quick, folder=args.dir)
    print(f"store, 1 recipient   {result['store_reports_per_second_1_recipient']:>10} reports/s")
    print(f"store, 3 recipients  {result['store_reports_per_second_3_recipients']:>10} reports/s")
    print(
        f"decrypt + export     {result['decrypt_export_seconds']:>10} s "
        f"for {result['decrypt_export_n']} reports"
    )
    print("text bytes  payload  envelope  ratio")
    for row in result["size_overhead_1_hybrid_recipient"]:
        print(
            f"{row['text_bytes']:>10}  {row['payload_bytes']:>7}  "
            f"{row['envelope_bytes']:>8}  {row['ratio']:>5}"
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
