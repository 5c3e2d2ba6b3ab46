"""``python -m bench.screenshots``: the desk's pictures in docs/ (inbox, a report, a case with a
reply thread, statistics), taken with Playwright in Debian's Chromium from made-up reports: no
real data, ever.

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
from storage.followups import Case, Followups, seal_for_reporter
from storage.keys import (
    Passphrase,
    PrivateKey,
    PublicKey,
    generate_keypair,
    insecure_argon2_params,
    read_key_file_info,
    write_private_key_file,
)
from storage.receipts import derive, insecure_receipt_cost, new_receipt
from storage.report import Attachment, Report, ReportId
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
# A made-up follow-up thread: her message, a reply, what she sees, her answer back.
THREAD_IN = "Спасибо, что ответили. Мне удобно говорить только днём, пока он на работе."
THREAD_REPLY = (
    "Мы прочитали ваше сообщение. Юрист центра может встретиться с вами во вторник в 11:00; "
    "на входе скажите, что вы на консультацию."
)
THREAD_BACK = "Во вторник смогу. Можно прийти с ребёнком?"
REGIONS = ["almaty_city", "astana", "shymkent", "karaganda", "turkistan", "abai"]
FORMS = ["physical", "psychological", "economic", "sexual"]


def _photo() -> bytes:
    from tests.desk.harness import png

    return png(320, 200, (120, 130, 150))


async def make(folder: Path) -> tuple[Path, Path, str]:
    rng = random.Random(7)  # noqa: S311 - made-up sample data
    me, colleague = generate_keypair(), generate_keypair("x25519")
    key = folder / "aigerim.key"
    write_private_key_file(
        key, me, Passphrase(PASSPHRASE), params=insecure_argon2_params(), name="Aigerim"
    )
    db = folder / "vault.db"
    today = utc_today()
    team = [me.public, colleague.public]
    ids, russian = [], []
    async with await Vault.open(db, recipients=team) as vault:
        for n in range(36):
            day = (today - timedelta(days=rng.randint(0, 55))).isoformat()
            files = [Attachment(kind="photo", mime="image/jpeg", name="photo.jpg", data=_photo())]
            language = rng.choice(["ru", "kk", "en", "ru"])
            ids.append(
                await vault.store(
                    Report(
                        language=language,
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
            if language == "ru" and 0 < n < 12:
                russian.append(ids[-1])
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
    await _thread(db, russian[0], me, team)
    return key, db, colleague.public.text


async def _thread(db: Path, rid: ReportId, me: PrivateKey, team: list[PublicKey]) -> None:
    """A receipt on one report, her two messages and a reply with what she sees between them."""
    today = utc_today()
    async with await Vault.open(db, recipients=team) as vault:
        followups = Followups(vault)
        keys = derive(new_receipt(), await followups.salt(), insecure_receipt_cost())
        await followups.attach(rid, keys)
        case = Case(rid, keys.public)
        for day, text in ((today - timedelta(days=2), THREAD_IN), (today, THREAD_BACK)):
            message = Report(language="ru", answers={"message": text}, received_day=day.isoformat())
            await followups.add_message(case, message)
    async with await StaffStore.open(db) as store:
        said: list[tuple[str, dict[str, object]]] = [
            ("reply", {"text": THREAD_REPLY}),
            ("reporter_status", {"status": "answered"}),
        ]
        for seq, (kind, body) in enumerate(said, start=4):
            eid = EventId.new()
            event = CaseEvent(
                kind=kind, body=body, day=(today - timedelta(days=1)).isoformat(), seq=seq
            )
            envelope = seal_for_reporter(event, eid, rid, me, team, keys.public, "Aigerim")
            await store.add_event(eid, rid, envelope, me.public.fingerprint)


async def shoot(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="desk-shots-") as tmp:
        folder = Path(tmp)
        key, db, colleague = await make(folder)
        config = DeskConfig(
            key_path=key, key_info=read_key_file_info(key), db=db, team_spec=colleague
        )
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
                await page.goto(running.url.split("/open")[0] + "/?status=all&unread=1")
                await (
                    page.get_by_role("row")
                    .filter(has_text="new from her")
                    .get_by_role("link")
                    .click()
                )
                await page.get_by_text("Reply to her:").wait_for()
                await page.screenshot(path=str(out / "desk-followup.png"), full_page=True)
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
    print(
        "wrote desk-inbox.png, desk-report.png, desk-followup.png, desk-statistics.png "
        f"to {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
