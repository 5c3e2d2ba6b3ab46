"""``python -m bench.screenshots``: the desk's pictures in docs/ (inbox, a report, statistics),
taken with Playwright in Debian's Chromium from made-up reports: no real data, ever.

Beside the benchmark because it runs the real desk over a generated vault in the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from playwright.async_api import async_playwright

from caseworker.desk.cache import Cache
from caseworker.desk.server import start
from caseworker.desk.state import DeskConfig
from storage.events import CaseEvent, EventId, seal_event
from storage.keys import (
    Passphrase,
    generate_keypair,
    insecure_argon2_params,
    read_key_file_info,
    write_private_key_file,
)
from storage.report import Attachment, Report
from storage.staff_store import StaffStore
from storage.vault import Vault, utc_today

DOCS = Path(__file__).resolve().parent.parent / "docs"
PASSPHRASE = "screenshots only, not a secret"  # noqa: S105 - a throwaway key
STORIES = [
    "He took my passport and my salary card in March. I am staying with my sister now.",
    "Вчера он снова кричал и угрожал, что заберёт детей. Соседи слышали.",
    "Ол маған ақша бермейді, телефонымды тексереді. Балалар қорқады.",
    "My mother-in-law and my husband do not let me leave the house alone.",
    "Он толкнул меня к стене. Я боюсь возвращаться домой вечером.",
]
REGIONS = ["almaty_city", "astana", "shymkent", "karaganda", "turkistan", "abai"]
FORMS = ["physical", "psychological", "economic", "sexual"]


def _photo() -> bytes:
    from tests.desk.harness import png

    return png(320, 200, (120, 130, 150))


async def make(folder: Path) -> tuple[Path, Path]:
    rng = random.Random(7)  # noqa: S311 - made-up sample data
    me, colleague = generate_keypair(), generate_keypair("x25519")
    key = folder / "aigerim.key"
    write_private_key_file(
        key, me, Passphrase(PASSPHRASE), params=insecure_argon2_params(), name="Aigerim"
    )
    db = folder / "vault.db"
    today = utc_today()
    team = [me.public, colleague.public]
    ids = []
    async with await Vault.open(db, recipients=team) as vault:
        for n in range(36):
            day = (today - timedelta(days=rng.randint(0, 55))).isoformat()
            files = [Attachment(kind="photo", mime="image/jpeg", name="photo.jpg", data=_photo())]
            ids.append(
                await vault.store(
                    Report(
                        language=rng.choice(["ru", "kk", "en", "ru"]),
                        answers={
                            "forms": sorted(rng.sample(FORMS, rng.randint(1, 2))),
                            "when": rng.choice(["this_week", "today", "this_month"]),
                            "region": rng.choice(REGIONS),
                            "relation": "partner",
                            "safe_now": rng.choice(["safe", "not_safe", "safe"]),
                            "story": rng.choice(STORIES),
                        },
                        received_day=today.isoformat() if n == 0 else day,
                        attachments=files if n % 4 == 0 else [],
                    )
                )
            )
    async with await StaffStore.open(db) as store:
        for n, rid in enumerate(ids[:12]):
            author, name = (colleague, "Dana") if n % 3 else (me, "Aigerim")
            changes: list[tuple[str, dict[str, object]]] = [
                ("status", {"status": "in_progress" if n % 4 else "closed"}),
                ("tag", {"tag": rng.choice(["legal aid", "shelter", "children"]), "on": True}),
                ("note", {"text": "Called back; she prefers messages after 6 pm."}),
            ]
            for seq, (kind, body) in enumerate(changes, start=1):
                eid = EventId.new()
                event = CaseEvent(kind=kind, body=body, day=today.isoformat(), seq=seq)
                envelope = seal_event(event, eid, rid, author, team, name)
                await store.add_event(eid, rid, envelope, author.public.fingerprint)
    return key, db


async def shoot(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="desk-shots-") as tmp:
        folder = Path(tmp)
        key, db = await make(folder)
        config = DeskConfig(key_path=key, key_info=read_key_file_info(key), db=db)
        running = await start(config, Cache(folder / "cache.sqlite3"))
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    args=[
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--no-first-run",
                    ],
                )
                page = await (
                    await browser.new_context(
                        locale="en-US", viewport={"width": 1280, "height": 860}
                    )
                ).new_page()
                await page.goto(running.url)
                await page.get_by_label("Passphrase of your key").fill(PASSPHRASE)
                await page.get_by_role("button", name="Unlock").click()
                await page.get_by_text("Synced:").wait_for()
                await page.goto(running.url.split("/open")[0] + "/?status=all")
                await page.screenshot(path=str(out / "desk-inbox.png"))
                await (
                    page.get_by_role("row")
                    .filter(has_text="Files:")
                    .first.get_by_role("link")
                    .click()
                )
                await page.get_by_role("img", name="Photo 1 from the report").wait_for()
                await page.screenshot(path=str(out / "desk-report.png"), full_page=True)
                await page.goto(running.url.split("/open")[0] + "/stats")
                await page.screenshot(path=str(out / "desk-statistics.png"), full_page=True)
                await browser.close()
        finally:
            await running.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.screenshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=DOCS)
    args = parser.parse_args(argv)
    asyncio.run(shoot(args.out))
    print(f"wrote desk-inbox.png, desk-report.png, desk-statistics.png to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
