"""``python -m bench.desk``: the caseworker's desk at 10,000 reports, measured end to end.

1. sync: a fresh desk cache fetches every sealed report and case event from the staff API (a
   real ``python -m staff_api serve`` process on loopback), signed requests and all;
2. unlock: from the passphrase's POST (real Argon2id costs) to the inbox page served, the
   decryption's progress polled the way the unlocking page polls it; three times;
3. pages: p50 and p95 of inbox pages (first page, a later page, a filter, a text search) and of
   report pages, over HTTP, while unlocked.

Setup (sealing 10,000 reports into a vault) is not measured. Figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

from caseworker.desk.cache import Cache
from caseworker.desk.server import start
from caseworker.desk.source import RemoteSource
from caseworker.desk.state import DeskConfig
from caseworker.desk.sync import sync
from storage.envelope import seal
from storage.events import CaseEvent, EventId, seal_event
from storage.keys import (
    Passphrase,
    PrivateKey,
    generate_keypair,
    read_key_file_info,
    write_private_key_file,
)
from storage.report import Report, ReportId
from storage.vault import _connect_rw, migrate, utc_today

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "benchmark passphrase, not a secret"  # noqa: S105 - a throwaway key
REGIONS = ["astana", "almaty_city", "shymkent", "karaganda", "turkistan", "abai", "atyrau"]
FORMS = ["physical", "psychological", "sexual", "economic", "other"]
WORDS = "он мне угрожал забрал паспорт деньги дети соседи слышали боюсь ол маған қорқытты".split()


def _report(rng: random.Random, day: str) -> Report:
    story = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 120)))
    return Report(
        language=rng.choice(["kk", "ru", "ru", "en"]),
        answers={
            "forms": sorted(rng.sample(FORMS, rng.randint(1, 2))),
            "when": rng.choice(["today", "this_week", "this_month"]),
            "region": rng.choice(REGIONS),
            "safe_now": rng.choice(["safe", "not_safe", "safe"]),
            "story": story,
        },
        received_day=day,
    )


def fill(
    db: Path, author: PrivateKey, team: list[PrivateKey], reports: int, events: int
) -> list[ReportId]:
    """Seal `reports` reports (and `events` case events) straight into a vault (one transaction)."""
    rng = random.Random(12)  # noqa: S311 - repeatable sample data, not secrets
    today = utc_today()
    migrate(db)
    conn = _connect_rw(db)
    publics = [k.public for k in team]
    ids: list[ReportId] = []
    rows = []
    for _ in range(reports):
        day = (today - timedelta(days=rng.randint(0, 80))).isoformat()
        rid = ReportId.new()
        ids.append(rid)
        expires = (today + timedelta(days=10)).isoformat()
        rows.append((rid.value, day, expires, seal(_report(rng, day), rid, publics)))
    event_rows = []
    for n in range(events):
        rid = ids[n % len(ids)]
        eid = EventId.new()
        status = CaseEvent(
            kind="status", body={"status": "in_progress"}, day=today.isoformat(), seq=1
        )
        event_rows.append(
            (rid.value, eid.value, today.isoformat(), seal_event(status, eid, rid, author, publics))
        )
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO reports VALUES (?, ?, ?, ?)", rows)
    conn.executemany("INSERT INTO case_events VALUES (?, ?, ?, ?)", event_rows)
    conn.execute("COMMIT")
    conn.close()
    return ids


async def _staff_api(db: Path, team: str, log: Path) -> tuple[asyncio.subprocess.Process, str]:
    sink = log.open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "staff_api",
        "serve",
        stdout=sink,
        stderr=sink,
        env={
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(ROOT),
            "STAFF_API_ENABLED": "true",
            "STAFF_API_LISTEN": "127.0.0.1:0",
            "VAULT_PATH": str(db),
            "REPORT_RECIPIENTS": team,
        },
    )
    for _ in range(200):
        text = await asyncio.to_thread(log.read_text)
        if "listening on " in text:
            return process, text.split("listening on ", 1)[1].split()[0]
        await asyncio.sleep(0.05)
    raise RuntimeError("the staff API did not start")


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "n": len(ordered),
    }


async def measure(folder: Path, reports: int, events: int, page_samples: int) -> dict[str, Any]:
    me, colleague = generate_keypair(), generate_keypair()
    key_path = folder / "me.key"
    # Real Argon2id costs (64 MiB, t=3, p=4): unlocking pays them, as hers will.
    write_private_key_file(key_path, me, Passphrase(PASSPHRASE), name="Bench")
    db = folder / "vault.db"
    started = time.perf_counter()
    ids = await asyncio.to_thread(fill, db, me, [me, colleague], reports, events)
    setup = time.perf_counter() - started
    vault_bytes = db.stat().st_size
    process, url = await _staff_api(
        db, f"{me.public.text},{colleague.public.text}", folder / "api.log"
    )
    results: dict[str, Any] = {
        "reports": reports,
        "events": events,
        "vault_mb": round(vault_bytes / 2**20, 1),
    }
    try:
        cache = Cache(folder / "cache.sqlite3")
        source = RemoteSource(url, me)
        t0 = time.perf_counter()
        done = await sync(source, cache)
        results["sync_seconds"] = round(time.perf_counter() - t0, 2)
        results["synced"] = [len(done.reports), len(done.events)]
        await source.close()
        config = DeskConfig(key_path=key_path, key_info=read_key_file_info(key_path), server=url)
        running = await start(config, cache)
        await asyncio.sleep(2)  # she opens the link and types her passphrase: the pool warms
        base = running.url.split("/open")[0]
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            await http.get(running.url, allow_redirects=False)
            unlocks, partial_views, cpu = [], 0, []
            for _ in range(3):
                pool = running.desk.decryptor._pool
                pids = [os.getpid(), *(pool._processes or {} if pool is not None else {})]
                cpu_before = _cpu_seconds(pids)
                page = await (await http.get(base + "/unlock")).text()
                csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
                t0 = time.perf_counter()
                await http.post(
                    base + "/unlock",
                    data={"csrf": csrf, "passphrase": PASSPHRASE},
                    allow_redirects=False,
                )
                while True:
                    state = await (await http.get(base + "/progress")).json()
                    if state["phase"] == "unlocked":
                        break
                    partial_views += 0 < state["done"] < state["total"]
                    await asyncio.sleep(0.05)
                inbox = await http.get(base + "/")
                body = await inbox.text()
                assert inbox.status == 200 and "/report/" in body
                unlocks.append(time.perf_counter() - t0)
                cpu.append(_cpu_seconds(pids) - cpu_before)
                while running.desk.sync_status.running:  # noqa: ASYNC110 - the desk's own flag
                    await asyncio.sleep(0.1)
                if len(unlocks) < 3:
                    page = await (await http.get(base + "/")).text()
                    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
                    await http.post(base + "/lock", data={"csrf": csrf}, allow_redirects=False)
                    await asyncio.sleep(2)  # fresh workers warm up while she is away
            results["unlock_seconds"] = [round(u, 2) for u in unlocks]
            # CPU the desk and its workers spent on each unlock (the bench's client included):
            # independent of other load on the machine; on two idle cores the wall time is at
            # least about half of it.
            results["unlock_cpu_seconds"] = [round(c, 2) for c in cpu]
            results["unlock_progress_polls_mid_way"] = partial_views
            rng = random.Random(3)  # noqa: S311 - which pages to ask for
            # A search set in a URL stays until another clears it (the desk keeps it in
            # memory, out of URLs): every other page clears it with an empty q.
            inbox_paths = [
                "/?q=",
                "/?page=5&q=",
                "/?status=all&region=astana&q=",
                "/?status=all&q=паспорт",
                "/?status=in_progress&q=",
            ]
            timings: dict[str, list[float]] = {"inbox": [], "report": []}
            for n in range(page_samples):
                for kind, path in (
                    ("inbox", inbox_paths[n % len(inbox_paths)]),
                    ("report", f"/report/{rng.choice(ids).hex}"),
                ):
                    t0 = time.perf_counter()
                    answer = await http.get(base + path)
                    await answer.read()
                    timings[kind].append(time.perf_counter() - t0)
                    assert answer.status == 200, path
            results["inbox_page"] = _percentiles(timings["inbox"])
            results["report_page"] = _percentiles(timings["report"])
        await running.stop()
    finally:
        process.terminate()
        await process.wait()
    results["setup_seconds_not_measured"] = round(setup, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.desk", description=__doc__)
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--pages", type=int, default=200, help="samples of each page kind")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as folder:
        results = asyncio.run(measure(Path(folder), args.reports, args.events, args.pages))
    text = json.dumps(results, indent=1, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
