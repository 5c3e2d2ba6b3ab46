"""Receipts under load: what checking receipts costs everyone else, and how long she waits.

A fresh real bot holds ``cases`` reports with receipts and a reply each (seeded into its vault
as the bot and the desk would keep them: the bot's own salt, the real Argon2id costs). Then:

1. ``alone``: one receipt typed into an idle bot; time until her replies are on screen.
2. The paced crowd browses without receipts (the baseline), then again while, every few
   seconds, ``cases`` women type their receipts at the same moment; in rounds that take turns.
   The crowd's p99 with receipts over its p99 without is the figure (target ≤ 1.2); the
   burst's own times too.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from pathlib import Path
from typing import Any

from bench import phases
from bench.procs import BotProcess
from bench.users import NoAnswer, Probe, User
from flows.catalog import Translator
from storage.events import CaseEvent, EventId
from storage.followups import Followups, seal_for_reporter
from storage.keys import PrivateKey, parse_public_key
from storage.receipts import derive, new_receipt
from storage.report import Report
from storage.staff_store import StaffStore
from storage.vault import Vault
from telegram_emulator.client import Emulator

REPLY = "We read your message. Call us on a weekday morning; say it is about the clinic."
# Seconds between two bursts of receipts in the measured window.
BURST_EVERY = 10.0


async def seed(vault_path: Path, author: PrivateKey, cases: int) -> list[str]:
    """``cases`` reports with receipts and one reply each, in the bot's vault; their receipts."""
    codes = []
    async with await Vault.open(vault_path, recipients=[author.public]) as vault:
        followups = Followups(vault)
        salt = await followups.salt()
        for n in range(cases):
            report_id = await vault.store(
                Report(
                    language="ru",
                    answers={"story": f"bench case {n}"},
                    received_day=vault.today().isoformat(),
                )
            )
            receipt = new_receipt()
            await followups.attach(report_id, await asyncio.to_thread(derive, receipt, salt))
            codes.append(receipt.shown)
    async with await StaffStore.open(vault_path) as store:
        index = await store.index(None)
        for report_id, line in index.reply_keys.items():
            eid = EventId.new()
            event = CaseEvent(kind="reply", body={"text": REPLY}, day=index.today, seq=1)
            envelope = seal_for_reporter(
                event,
                eid,
                report_id,
                author,
                [author.public],
                parse_public_key(line),
            )
            await store.add_event(eid, report_id, envelope, "bench")
    return codes


class Checker:
    """One woman who comes back with her receipt, as often as a burst calls her."""

    def __init__(self, emu: Emulator, probe: Probe, translator: Translator, code: str) -> None:
        rng = random.Random(code)  # noqa: S311 - load shape, not security
        self.user = User(emu, probe, "ru", rng, translator, timeout=30.0)
        self.code = code

    async def ready(self) -> None:
        """On the code screen, from wherever she is (the language chosen the first time)."""
        await self.user.send("/start")
        language = self.user.tr.text("ru", "language.ru")
        if any(language in text for text, _ in self.user.buttons()):
            await self.user.press(language)
        await self.user.press(self.user.label("main.menu.code"))

    async def check(self) -> float:
        """She types her receipt; seconds until her case (with the reply) is on screen."""
        return await self.user.send(self.code)


async def _burst(checkers: list[Checker]) -> list[float]:
    for checker in checkers:
        await checker.ready()
    times = []
    for result in await asyncio.gather(*(c.check() for c in checkers), return_exceptions=True):
        if isinstance(result, float):
            times.append(result)
    return times


async def phase(
    bot: BotProcess,
    emu: Emulator,
    translator: Translator,
    codes: list[str],
    *,
    users: int,
    pause: float,
    warmup: float,
    seconds: float,
    rounds: int = 2,
) -> dict[str, Any]:
    """The figures of this module's docstring; the crowd's figures pooled over ``rounds`` of
    each kind, taking turns."""
    probe = Probe(emu)
    probe.recording = True
    alone_checker = Checker(emu, probe, translator, codes[0])
    alone = []
    for _ in range(3):
        await alone_checker.ready()
        alone.append(await alone_checker.check())
    checkers = [Checker(emu, probe, translator, code) for code in codes]
    burst_times: list[float] = []

    async def bursts(window: float) -> None:
        deadline = time.monotonic() + window
        for _ in range(1000):
            started = time.monotonic()
            with contextlib.suppress(NoAnswer):
                burst_times.extend(await _burst(checkers))
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, max(0.0, BURST_EVERY - (time.monotonic() - started))))

    runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for _ in range(rounds):  # taking turns, so whatever else the machine does weighs on both
        for busy in (False, True):
            runs[busy].append(
                await phases.paced(
                    bot,
                    emu,
                    translator,
                    users=users,
                    pause=pause,
                    warmup=warmup,
                    seconds=seconds,
                    alongside=bursts if busy else None,
                    keep_samples=True,
                )
            )
    without, with_receipts = (_pooled(runs[flag]) for flag in (False, True))
    probe.close()
    base = without["latency_ms_p99"] or 1.0
    return {
        "cases": len(codes),
        "users": users,
        "alone_ms_to_replies": round(min(alone) * 1000, 1),
        "alone_ms_to_replies_max": round(max(alone) * 1000, 1),
        "burst_checks": len(burst_times),
        "burst_ms_to_replies_p50": round(phases.percentile(burst_times, 0.5) * 1000, 1),
        "burst_ms_to_replies_max": round(max(burst_times, default=0.0) * 1000, 1),
        "crowd_p99_ms_without": without["latency_ms_p99"],
        "crowd_p99_ms_with": with_receipts["latency_ms_p99"],
        "crowd_p50_ms_without": without["latency_ms_p50"],
        "crowd_p50_ms_with": with_receipts["latency_ms_p50"],
        "p99_ratio": round(with_receipts["latency_ms_p99"] / base, 3),
        "unanswered_without": without["unanswered"],
        "unanswered_with": with_receipts["unanswered"],
        "rounds": rounds,
        "seconds_per_round": seconds,
    }


def _pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Latency percentiles over every round's samples; unanswered actions summed."""
    samples = [s for run in runs for s in run["latency_seconds"]]
    return {
        "latency_ms_p50": round(phases.percentile(samples, 0.50) * 1000, 2),
        "latency_ms_p99": round(phases.percentile(samples, 0.99) * 1000, 2),
        "unanswered": sum(run["unanswered"] for run in runs),
    }
