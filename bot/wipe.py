"""The wipe: delete every message of a conversation, both sides, or say honestly that it could not.

A wipe is a :class:`Job`: the ids the bot knows (as Telegram gave them, never computed) and
*ranges* of ids where a message may exist that the bot never learned the id of (a send whose
answer was lost; her chat before an unclean restart). Message ids of private chats are numbered
per bot account, so a range holds other people's ids too: ``deleteMessages`` is scoped to her chat
and skips them, which makes a range safe, but wide on a busy bot: it is bounded and paced.

A job stays queued in memory until every batch is confirmed, retried after each failure
(``retry_after`` honoured, other faults with a growing pause), for as long as deleting can still
work (Telegram lets a bot delete a message for everyone for 48 hours). Only then does the exit
leave its neutral line. If it cannot finish (refused, too old, too wide, or still unconfirmed
after ``note_after`` seconds), the last thing in her chat is a short neutral note that tells her
to delete the chat with Telegram's own "Delete chat"; should the retries succeed later, that note
goes too. A second wipe of a chat whose job is still queued joins it: it costs no more calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import Update

from bot import incidents
from bot.pacing import Pacer
from bot.sessions import UNRECORDED

Clock = Callable[[], float]

BATCH = 100  # deleteMessages takes at most 100 ids per call
DELETE_WINDOW = 48 * 3600.0  # seconds Telegram lets a bot delete a message for everyone
# The widest span of ids a wipe deletes blind (300 calls): on a bot whose other conversations
# made more messages meanwhile, the oldest part of the span is left and she is told so.
MAX_RANGE_IDS = 30_000
RETRY_WORKERS = 4
# Calls of a first exit that go at once; the rest of a wide span waits its turn (bot.pacing).
URGENT_CALLS = 20
# Seconds the notes of wipes still unconfirmed at shutdown get, all sent at once: the stop
# timeout (deploy: TimeoutStopSec=300) is spent by then on SHUTDOWN_WIPE_SECONDS (≤270) and more.
NOTES_WITHIN = 10.0
# A message the bot sends to learn how far her chat's ids go (see Job.ranges); deleted at once.
PROBE_TEXT = "…"

Span = tuple[int, int | None]  # first and last id, both included; None: up to the newest


def forget_updates() -> None:
    """Drop the updates aiogram keeps in memory after handling them.

    ``Update.event_type`` is memoised in an ``lru_cache`` keyed by the update itself, so the last
    128 updates (her words, her name, her ids) stayed in the process however long ago she left.
    """
    prop = vars(Update).get("event_type")
    cache_clear = getattr(getattr(prop, "fget", None), "cache_clear", None)
    if cache_clear is not None:
        cache_clear()


def batches(ids: Sequence[int], size: int = BATCH) -> list[list[int]]:
    """``ids`` without duplicates, in order, cut into lists of at most ``size``."""
    unique = list(dict.fromkeys(ids))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


def clip(spans: Iterable[tuple[int, int]], budget: int) -> tuple[list[tuple[int, int]], bool]:
    """``spans`` cut to ``budget`` ids in all, newest kept; and whether anything was cut."""
    kept: list[tuple[int, int]] = []
    cut = False
    for first, last in sorted(spans, key=lambda s: s[1], reverse=True):
        if budget <= 0:
            cut = True
            continue
        if last - first + 1 > budget:
            first, cut = last - budget + 1, True
        kept.append((first, last))
        budget -= last - first + 1
    return kept, cut


def _narrow_spans_as_ids(ids: Sequence[int], spans: Sequence[Span]) -> tuple[list[int], list[Span]]:
    """Known spans of a few ids (the "pinned" line, most lost answers) join the ids' batches,
    so they cost no call of their own; wide and open ones stay spans. Empty ones go."""
    out = list(dict.fromkeys(ids))
    wide: list[Span] = []
    for first, last in spans:
        if last is None or last - first + 1 > BATCH:
            wide.append((first, last))
        else:
            out.extend(i for i in range(first, last + 1) if i not in out)
    return out, wide


@dataclass(eq=False)
class Job:
    """What is left to delete in one chat, and what to say once it is done."""

    chat_id: int
    ids: list[int]
    spans: list[Span]
    urgent: bool
    created: float
    # What the chat shows once every batch is confirmed (None: nothing); the note if it can't.
    goodbye: str | None
    note: str
    incomplete: bool = False  # part of it can never be deleted (the note stays)
    note_id: int | None = None  # the note, once shown
    attempts: int = 0
    calls: int = 0
    done: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def merge(self, ids: Iterable[int], spans: Iterable[Span], urgent: bool) -> None:
        """Take a second wipe of the same chat into this one."""
        self.ids.extend(i for i in ids if i not in self.ids)
        self.spans.extend(spans)
        self.urgent = self.urgent or urgent

    @property
    def empty(self) -> bool:
        """Nothing left to delete."""
        return not self.ids and not self.spans


class Refused(Exception):
    """Telegram refused a batch for good (she blocked the bot, the chat is gone)."""


class Wiper:
    """Every wipe of the bot: run at once, retried until confirmed, paced under one budget."""

    def __init__(
        self,
        bot: Bot,
        *,
        pacer: Pacer | None = None,
        clock: Clock = time.monotonic,
        backoff: float = 0.5,
        max_backoff: float = 5.0,
        note_after: float = 60.0,
        give_up_after: float = DELETE_WINDOW,
        max_range_ids: int = MAX_RANGE_IDS,
    ) -> None:
        self.bot = bot
        self.pacer = pacer or Pacer()
        self.clock = clock
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.note_after = note_after
        self.give_up_after = give_up_after
        self.max_range_ids = max_range_ids
        self._pending: dict[int, Job] = {}  # chat id -> its queued job (memory only)
        self._retry: list[tuple[float, int, Job]] = []  # (not before, order, job)
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._notes: set[asyncio.Task[None]] = set()
        self.calls = 0  # deleteMessages calls made by wipes (tests and the benchmark read it)

    @property
    def pending(self) -> int:
        """Chats whose wipe is not yet confirmed."""
        return len(self._pending)

    async def wipe(
        self,
        chat_id: int,
        ids: Sequence[int],
        spans: Sequence[Span] = (),
        *,
        urgent: bool = False,
        goodbye: str | None = None,
        note: str,
    ) -> bool:
        """Delete ``ids`` and ``spans`` in ``chat_id``; then show ``goodbye`` (or, if that can't
        be done, ``note``). Returns whether it is done now; if not, it goes on in the background.

        A chat whose previous wipe is still queued has this one merged into it: no extra calls.
        """
        job = self._pending.get(chat_id)
        if job is not None:
            job.merge(*_narrow_spans_as_ids(ids, spans), urgent)
            job.goodbye = job.goodbye or goodbye
            return False
        ids, spans = _narrow_spans_as_ids(ids, spans)
        job = Job(
            chat_id,
            ids,
            spans,
            urgent=urgent,
            created=self.clock(),
            goodbye=goodbye,
            note=note,
        )
        if job.empty and goodbye is None:
            return True
        self._pending[chat_id] = job
        return await self._run(job)

    async def _run(self, job: Job) -> bool:
        """One attempt; then the goodbye, or a place in the retry queue."""
        try:
            delay = await self._attempt(job)
        except Refused:
            await self._finish(job, confirmed=False)
            return False
        except Exception as exc:  # a wipe must go on whatever happens
            incidents.note("wipe attempt failed unexpectedly", exc)
            delay = self.max_backoff
        if delay is None:
            await self._finish(job, confirmed=True)
            return True
        if job.attempts == 1:
            incidents.note("wipe batch not confirmed")
            self._after(self.note_after, job)
        self._queue(job, delay)
        return False

    async def _attempt(self, job: Job) -> float | None:
        """Delete what is left of ``job``; ``None`` when done, else seconds before trying again."""
        job.attempts += 1
        if self.clock() - job.created > self.give_up_after:
            job.incomplete = True
            raise Refused
        try:
            while job.ids or job.spans:
                if any(last is None for _, last in job.spans):
                    await self._close_spans(job)
                if job.ids:
                    batch = job.ids[:BATCH]
                    await self._delete(job, batch)
                    del job.ids[: len(batch)]
                    continue
                # Out of the list while its batch is deleted: a second wipe joining meanwhile
                # appends its own spans, so "the last span" would be another one afterwards.
                span = job.spans.pop()
                first, last = span
                assert last is not None  # closed above
                top = list(range(max(first, last - BATCH + 1), last + 1))
                try:
                    await self._delete(job, top)
                except BaseException:
                    job.spans.append(span)  # not deleted: tried again with the rest
                    raise
                if top[0] > first:
                    job.spans.append((first, top[0] - 1))
        except TelegramRetryAfter as exc:
            wait = float(exc.retry_after)
            self.pacer.pause(wait)
            return wait
        except (TelegramServerError, TelegramNetworkError):
            return min(self.max_backoff, self.backoff * 2.0 ** (job.attempts - 1))
        return None

    async def _delete(self, job: Job, batch: list[int]) -> None:
        await self.pacer.take(urgent=job.urgent and job.calls < URGENT_CALLS)
        job.calls += 1
        self.calls += 1
        try:
            await self.bot.delete_messages(chat_id=job.chat_id, message_ids=batch)
        except TelegramBadRequest as exc:
            if "not found" in exc.message:
                return  # nothing of hers left among these ids
            incidents.note("wipe batch refused", exc)
            job.incomplete = True
            raise Refused from exc
        except (TelegramRetryAfter, TelegramServerError, TelegramNetworkError):
            raise
        except TelegramAPIError as exc:  # forbidden: she blocked the bot
            incidents.note("wipe batch refused", exc)
            job.incomplete = True
            raise Refused from exc

    async def _close_spans(self, job: Job) -> None:
        """Learn the newest id of her chat by sending one message (then deleted with the span).

        A message whose answer was lost, or her chat before a restart, may hold ids above every
        id the bot knows; a message sent now is newer than all of them.
        """
        token = UNRECORDED.set(True)
        try:
            probe = await self.bot.send_message(
                chat_id=job.chat_id, text=PROBE_TEXT, disable_notification=True
            )
        except (TelegramServerError, TelegramNetworkError, TelegramRetryAfter):
            raise
        except TelegramAPIError as exc:
            incidents.note("wipe probe refused", exc)
            job.incomplete = True
            raise Refused from exc
        finally:
            UNRECORDED.reset(token)
        top = probe.message_id
        closed = [(first, top if last is None else last) for first, last in job.spans]
        kept, cut = clip([(f, t) for f, t in closed if f <= t], self.max_range_ids)
        if cut:
            incidents.note("wipe span wider than the bound")
            job.incomplete = True
        # Oldest first in the list: the loop takes from the end, newest first.
        job.spans = [(f, t) for f, t in sorted(kept)]

    def _queue(self, job: Job, delay: float) -> None:
        heapq.heappush(self._retry, (self.clock() + delay, next(self._order), job))
        self._wake.set()
        self._workers = [task for task in self._workers if not task.done()]
        while len(self._workers) < RETRY_WORKERS:
            self._workers.append(asyncio.create_task(self._retry_worker()))

    async def _retry_worker(self) -> None:
        while True:
            job = await self._next_due()
            try:
                await self._run(job)
            except Exception as exc:  # a worker that died would leave every queued wipe waiting
                incidents.note("wipe retry failed unexpectedly", exc)
                if self._pending.get(job.chat_id) is job:
                    self._queue(job, self.max_backoff)

    async def _next_due(self) -> Job:
        """Wait for the queued job whose retry is due first, and take it off the queue."""
        while True:
            if not self._retry:
                self._wake.clear()
                await self._wake.wait()
                continue
            when, _, job = self._retry[0]
            wait = when - self.clock()
            if wait > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            heapq.heappop(self._retry)
            return job

    def _after(self, seconds: float, job: Job) -> None:
        """Show the note if ``job`` is still unconfirmed after ``seconds``."""

        async def later() -> None:
            await asyncio.sleep(seconds)
            if not job.done.done():
                await self._show_note(job)

        task = asyncio.create_task(later())
        self._notes.add(task)
        task.add_done_callback(self._notes.discard)

    async def _finish(self, job: Job, *, confirmed: bool) -> None:
        if self._pending.get(job.chat_id) is job:
            del self._pending[job.chat_id]
        if confirmed and not job.incomplete:
            if job.note_id is not None:
                # The retries won after the note was shown: the note goes, the goodbye comes.
                with contextlib.suppress(TelegramAPIError):
                    await self.bot.delete_message(chat_id=job.chat_id, message_id=job.note_id)
            if job.goodbye is not None:
                await self._say(job.chat_id, job.goodbye)
        elif job.note_id is None:
            await self._show_note(job)
        if not job.done.done():
            job.done.set_result(confirmed and not job.incomplete)

    async def _show_note(self, job: Job) -> None:
        if job.note_id is None:
            job.note_id = await self._say(job.chat_id, job.note)

    async def _say(self, chat_id: int, text: str) -> int | None:
        token = UNRECORDED.set(True)
        try:
            sent = await self.bot.send_message(chat_id=chat_id, text=text)
            return sent.message_id
        except TelegramAPIError as exc:
            incidents.note("wipe line not sent", exc)
            return None
        finally:
            UNRECORDED.reset(token)

    async def drain(self, seconds: float, *, notes_within: float = NOTES_WITHIN) -> int:
        """Wait until every queued wipe is confirmed, at most ``seconds`` (a shutdown); the chats
        still unconfirmed then are shown the note, all at once, within ``notes_within`` seconds.
        Returns how many."""
        waiting = [job.done for job in self._pending.values()]
        if waiting:
            await asyncio.wait(waiting, timeout=seconds)
        left = list(self._pending.values())
        if left:
            # One after another, each could take a minute with Telegram down: far past the stop
            # timeout, and the process killed before the last chats got their note.
            notes = [asyncio.create_task(self._show_note(job)) for job in left]
            _, late = await asyncio.wait(notes, timeout=notes_within)
            if late:
                incidents.note("wipe note not sent before shutdown")
            for task in late:
                task.cancel()
            await asyncio.gather(*notes, return_exceptions=True)
        await self.close()
        return len(left)

    async def close(self) -> None:
        """Stop the retry workers and note timers (the process is ending)."""
        for task in [*self._workers, *self._notes]:
            task.cancel()
        for task in [*self._workers, *self._notes]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers.clear()
