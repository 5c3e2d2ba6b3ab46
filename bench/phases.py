"""The measured phases. Each takes a running bot process and its emulator and returns figures.

Every loop here is bounded: by a count, or by a deadline checked on each turn of a counted loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bench.procs import BARE, BotProcess, reset_peak
from bench.users import NoAnswer, Probe, User, language_for
from flows.catalog import Translator
from telegram_emulator.client import Emulator
from telegram_emulator.state import ChangeKind, ChangeListener, StoredMessage

MAX_ACTIONS = 1_000_000  # per user per phase: a bound no phase reaches
WARM_USERS = 2_000  # who come and leave before the idle phase's baseline


@dataclass(frozen=True)
class Window:
    """CPU and action counts at one instant, to difference over a measured window."""

    wall: float
    bot_cpu: float
    own_cpu: float
    actions: int


def quiet_collector() -> None:
    """Keep this process's garbage collector out of the figures.

    A full collection here (aiogram's types, the emulator's growing state) stalls the emulator,
    and every user's latency with it, for 100-300 ms. So each phase starts with the heap frozen
    and the collector off; :func:`collector_back` turns it on again. Harness only: the bots under
    test run with whatever their own code does.
    """
    gc.collect()
    gc.freeze()
    gc.disable()


def collector_back() -> None:
    """The collector on again after a phase."""
    gc.enable()


def _snapshot(bot: BotProcess, users: list[User]) -> Window:
    return Window(time.monotonic(), bot.cpu(), time.process_time(), sum(u.actions for u in users))


def _rates(start: Window, end: Window) -> dict[str, float]:
    updates = max(end.actions - start.actions, 1)
    wall = max(end.wall - start.wall, 1e-9)
    return {
        "updates": float(updates),
        "seconds": round(wall, 2),
        "updates_per_second": round(updates / wall, 1),
        "cpu_seconds_per_1000_updates": round((end.bot_cpu - start.bot_cpu) / updates * 1000, 3),
        "bot_cpu_utilisation": round((end.bot_cpu - start.bot_cpu) / wall, 2),
        # The emulator and the load generator share this process: past ~0.9 of one core they,
        # not the bot, would set the pace.
        "emulator_cpu_utilisation": round((end.own_cpu - start.own_cpu) / wall, 2),
    }


async def _window(
    bot: BotProcess,
    crowd: list[User],
    probe: Probe,
    run: Callable[[User], Coroutine[Any, Any, None]],
    *,
    warmup: float,
    seconds: float,
    alongside: Callable[[float], Coroutine[Any, Any, None]] | None = None,
) -> tuple[Window, Window]:
    """Run every user of ``crowd``; record and snapshot the ``seconds`` after ``warmup``; wait
    for the crowd to finish and turn the harness's collector back on. ``alongside(seconds)``
    runs during the measured window (receipts checked while the crowd browses)."""
    tasks = [asyncio.create_task(run(u)) for u in crowd]
    await asyncio.sleep(warmup)
    probe.recording = True
    start = _snapshot(bot, crowd)
    extra = asyncio.create_task(alongside(seconds)) if alongside is not None else None
    await asyncio.sleep(seconds)
    end = _snapshot(bot, crowd)
    probe.recording = False
    if extra is not None:
        await extra
    await asyncio.gather(*tasks)
    probe.close()
    collector_back()
    return start, end


def percentile(samples: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``samples``, nearest rank; 0 when empty."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))
    return ordered[rank]


def _users(
    emu: Emulator, probe: Probe, n: int, seed: int, translator: Translator, timeout: float
) -> list[User]:
    rng = random.Random(seed)  # noqa: S311 - load shape, not security
    return [
        User(
            emu,
            probe,
            language_for(rng),
            random.Random(rng.random()),  # noqa: S311
            translator,
            timeout,
        )
        for _ in range(n)
    ]


async def _recover(user: User) -> None:
    """After a missed answer: back to a known screen, or give up quietly for this turn."""
    with contextlib.suppress(NoAnswer):
        await user.send("/start")
        await user.press(user.tr.text(user.lang, f"language.{user.lang}"))


async def saturate(
    bot: BotProcess,
    emu: Emulator,
    translator: Translator,
    *,
    users: int,
    warmup: float,
    seconds: float,
) -> dict[str, Any]:
    """``users`` each acting as soon as the previous answer arrived: navigation for the real bot,
    a text for the bare bot. Throughput and CPU per update over the window after ``warmup``."""
    quiet_collector()
    probe = Probe(emu)
    crowd = _users(emu, probe, users, 11, translator, timeout=10.0)
    stop = time.monotonic() + warmup + seconds

    async def real(user: User) -> None:
        try:
            await user.begin()
        except NoAnswer:
            await _recover(user)
        for _ in range(MAX_ACTIONS):
            if time.monotonic() >= stop:
                return
            try:
                await user.navigate()
            except NoAnswer:
                await _recover(user)

    async def bare(user: User) -> None:
        for _ in range(MAX_ACTIONS):
            if time.monotonic() >= stop:
                return
            with contextlib.suppress(NoAnswer):
                await user.send("hello")

    start, end = await _window(
        bot, crowd, probe, bare if bot.kind == BARE else real, warmup=warmup, seconds=seconds
    )
    out: dict[str, Any] = dict(_rates(start, end))
    out.update(_latency(probe.samples), users=users, unanswered=probe.unanswered)
    out["bot_cpu_seconds"] = round(end.bot_cpu - start.bot_cpu, 3)
    out["own_cpu_seconds"] = round(end.own_cpu - start.own_cpu, 3)
    out["latency_seconds"] = probe.samples
    return out


def combine_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One saturated figure from several rounds of one bot: rates over the summed windows,
    latency percentiles over every sample; each round's own rate and CPU kept under ``rounds``."""
    total = Window(
        wall=sum(r["seconds"] for r in rounds),
        bot_cpu=sum(r["bot_cpu_seconds"] for r in rounds),
        own_cpu=sum(r["own_cpu_seconds"] for r in rounds),
        actions=int(sum(r["updates"] for r in rounds)),
    )
    samples = [s for r in rounds for s in r["latency_seconds"]]
    out: dict[str, Any] = dict(_rates(Window(0.0, 0.0, 0.0, 0), total))
    out.update(
        _latency(samples), users=rounds[0]["users"], unanswered=sum(r["unanswered"] for r in rounds)
    )
    out["rounds"] = [
        {k: r[k] for k in ("updates_per_second", "cpu_seconds_per_1000_updates")} for r in rounds
    ]
    return out


def _latency(samples: list[float]) -> dict[str, float]:
    return {
        "latency_ms_p50": round(percentile(samples, 0.50) * 1000, 2),
        "latency_ms_p95": round(percentile(samples, 0.95) * 1000, 2),
        "latency_ms_p99": round(percentile(samples, 0.99) * 1000, 2),
        "latency_ms_max": round(max(samples, default=0.0) * 1000, 2),
        "latency_samples": float(len(samples)),
    }


async def paced(
    bot: BotProcess,
    emu: Emulator,
    translator: Translator,
    *,
    users: int,
    pause: float,
    warmup: float,
    seconds: float,
    alongside: Callable[[float], Coroutine[Any, Any, None]] | None = None,
    keep_samples: bool = False,
) -> dict[str, Any]:
    """``users`` acting with a pause of ``pause`` ± 40 % between actions.

    Real bot: realistic visits (start, language, browsing with language switches, or a whole
    report with a typed story and a photo; then the quick exit). Bare bot: a text each time.
    Latency percentiles over the window after ``warmup``; peak RSS over the whole phase.
    """
    quiet_collector()
    probe = Probe(emu)
    crowd = _users(emu, probe, users, 23, translator, timeout=15.0)
    stop = time.monotonic() + warmup + seconds
    peak_reset = reset_peak(bot.pid)

    async def breathe(user: User) -> bool:
        await asyncio.sleep(user.rng.uniform(0.6 * pause, 1.4 * pause))
        return time.monotonic() < stop

    async def real(user: User) -> None:
        await asyncio.sleep(user.rng.uniform(0, pause))  # arrivals spread over one pause
        for _ in range(MAX_ACTIONS):
            if time.monotonic() >= stop:
                return
            try:
                await user.send("/start")
                if not await breathe(user):
                    return
                await user.press(translator.text(user.lang, f"language.{user.lang}"))
                if user.rng.random() < 0.25:
                    await _paced_report(user, breathe)
                else:
                    for _ in range(user.rng.randint(3, 10)):
                        if not await breathe(user):
                            return
                        await user.navigate()
                if not await breathe(user):
                    return
                await user.quick_exit()
            except NoAnswer:
                pass
            if not await breathe(user):
                return

    async def bare(user: User) -> None:
        await asyncio.sleep(user.rng.uniform(0, pause))
        for _ in range(MAX_ACTIONS):
            with contextlib.suppress(NoAnswer):
                await user.send("hello")
            if not await breathe(user):
                return

    start, end = await _window(
        bot,
        crowd,
        probe,
        bare if bot.kind == BARE else real,
        warmup=warmup,
        seconds=seconds,
        alongside=alongside,
    )
    memory = bot.memory()
    out: dict[str, Any] = dict(_rates(start, end))
    out.update(
        _latency(probe.samples),
        users=users,
        pause_seconds=pause,
        unanswered=probe.unanswered,
        peak_rss_mib=round(memory["VmHWM"] / 1024, 1),
        rss_mib=round(memory["VmRSS"] / 1024, 1),
        peak_is_phase_only=peak_reset,
        p99_ms_by_action={
            kind: round(percentile(v, 0.99) * 1000, 2) for kind, v in sorted(probe.by_kind.items())
        },
        samples_by_action={kind: len(v) for kind, v in sorted(probe.by_kind.items())},
    )
    if keep_samples:  # to pool several rounds' latencies (bench/receipts.py)
        out["latency_seconds"] = probe.samples
    return out


async def _paced_report(user: User, breathe: Callable[[User], Awaitable[bool]]) -> None:
    steps: list[Callable[[], Awaitable[float]]] = [
        lambda: user.press(user.label("main.menu.report")),
        lambda: user.press(user.label("report.consent.agree")),
        lambda: user.press(user.label("report.forms.physical")),
        lambda: user.press(user.label("report.next")),
        lambda: user.press(user.label("report.when.this_week")),
        lambda: user.press_index(1),
        lambda: user.press(user.label("report.relation.partner")),
        lambda: user.press(user.label("report.children.present")),
        lambda: user.press(user.label("report.safe_now.safe")),
        lambda: user.send("He took my documents and my salary card last month."),
        lambda: user.press(user.label("report.next")),
        lambda: user.send_photo(),
        lambda: user.press(user.label("report.next")),
        lambda: user.press(user.label("report.contact.skip")),
        lambda: user.press(user.label("report.review.send")),
    ]
    for action in steps:
        if not await breathe(user):
            return
        await action()


async def quick_exit_cost(
    bot: BotProcess, emu: Emulator, translator: Translator, *, messages: int, repeats: int
) -> dict[str, Any]:
    """A conversation of ``messages`` visible messages, then the exit button.

    API calls: every request the bot made from the tap until it went quiet (getUpdates aside).
    Time: from the tap's update being queued to the last deletion at the emulator.
    """
    quiet_collector()
    probe = Probe(emu)
    runs: list[dict[str, float]] = []
    for n in range(repeats):
        user = _users(emu, probe, 1, 100 + n, translator, timeout=10.0)[0]
        user.lang = "en"
        await user.begin()
        for _ in range(messages):
            if len(user.chat.visible()) >= messages:
                break
            await user.send("just typing here")
        await emu.settle(timeout=10)
        visible = len(user.chat.visible())
        deletions: list[float] = []
        unsubscribe = emu.subscribe(_deletion_clock(user.chat.id, deletions))
        first_call = len(emu.calls)
        tapped = time.perf_counter()
        await user.quick_exit()
        await emu.settle(timeout=10)
        unsubscribe()
        calls = [c.method for c in emu.calls[first_call:] if c.method != "getUpdates"]
        runs.append(
            {
                "visible_messages": float(visible),
                "left_visible": float(len(user.chat.visible())),
                "api_calls": float(len(calls)),
                "delete_calls": float(calls.count("deleteMessages")),
                "ms_to_last_delete": (max(deletions) - tapped) * 1000 if deletions else -1.0,
            }
        )
    probe.close()
    collector_back()
    median = statistics.median(r["ms_to_last_delete"] for r in runs)
    worst = max(runs, key=lambda r: r["api_calls"])
    return {
        "messages": int(min(r["visible_messages"] for r in runs)),
        "left_visible_after_exit": int(max(r["left_visible"] for r in runs)),
        "api_calls": int(worst["api_calls"]),
        "delete_calls": int(max(r["delete_calls"] for r in runs)),
        "ms_to_last_delete": round(median, 2),
        "repeats": repeats,
    }


async def idle_sessions(
    bot: BotProcess,
    emu: Emulator,
    translator: Translator,
    *,
    sessions: int,
    idle_seconds: float,
    concurrency: int,
) -> dict[str, Any]:
    """RSS growth over ``sessions`` live idle sessions, and RSS once the idle wipe forgot them.

    Each session is one user who sent /start and got the language screen, then went quiet.
    The bot's ``/start`` answer deletes her command (one deleteMessages each); the idle wipe
    deletes the screen (one more each): counting them proves no session expired before the
    reading and that all of them did before the second one.
    """
    probe = Probe(emu)
    # The baseline is a bot already warmed by the same load (a crowd at the same concurrency
    # that came and left by the quick exit), so that what the crowd below adds is its sessions,
    # not the memory any process takes to serve that many users at once.
    warmers = _users(emu, probe, min(WARM_USERS, sessions), 5, translator, timeout=15.0)
    warm = iter(warmers)

    async def come_and_leave() -> None:
        for user in warm:
            with contextlib.suppress(NoAnswer):
                await user.send("/start")
                await user.quick_exit()

    await asyncio.gather(*(come_and_leave() for _ in range(concurrency)))
    await emu.settle(timeout=30)
    await asyncio.sleep(0.5)
    baseline = bot.memory()["VmRSS"]
    emu.server.calls.clear()
    created = time.monotonic()
    crowd = _users(emu, probe, sessions, 7, translator, timeout=30.0)
    queue = iter(crowd)

    async def worker() -> None:
        for user in queue:
            with contextlib.suppress(NoAnswer):
                await user.send("/start")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await emu.settle(timeout=60)
    creation = time.monotonic() - created
    await asyncio.sleep(0.5)
    live = bot.memory()["VmRSS"]
    deletes_before = len(emu.calls_to("deleteMessages"))
    expected = sessions + deletes_before
    waited = 0.0
    deadline = time.monotonic() + idle_seconds * 2 + 60
    for _ in range(10_000):
        if len(emu.calls_to("deleteMessages")) >= expected or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    await emu.settle(timeout=60)
    waited = time.monotonic() - created
    await asyncio.sleep(1.0)
    after = bot.memory()["VmRSS"]
    wiped = len(emu.calls_to("deleteMessages")) - deletes_before
    probe.close()
    return {
        "sessions": sessions,
        "warm_users_before_baseline": len(warmers),
        "seconds_to_create": round(creation, 1),
        "expired_before_reading": max(0, deletes_before - sessions),
        "wiped_by_idle_sweep": wiped,
        "rss_before_mib": round(baseline / 1024, 1),
        "rss_live_mib": round(live / 1024, 1),
        "rss_after_expiry_mib": round(after / 1024, 1),
        "kib_per_idle_session": round((live - baseline) / sessions, 3),
        "rss_after_expiry_vs_before": round(after / baseline, 3),
        "idle_seconds": idle_seconds,
        "seconds_until_expired": round(waited, 1),
    }


def _deletion_clock(chat_id: int, into: list[float]) -> ChangeListener:
    def seen(kind: ChangeKind, chat: int, message: StoredMessage) -> None:
        if kind == "delete" and chat == chat_id:
            into.append(time.perf_counter())

    return seen


def median_startup(values: list[float]) -> float:
    """Median seconds from spawn to first getUpdates."""
    return round(statistics.median(values), 3) if values else 0.0
