"""The wipe's pure parts: batches of at most 100 ids, bounded blind spans, the shared pacer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError

from bot.pacing import Pacer
from bot.wipe import RETRY_WORKERS, Wiper, batches, clip


def test_batches_of_at_most_100_without_duplicates() -> None:
    ids = [*range(1, 251), 5, 6, 250]
    cut = batches(ids)
    assert [len(b) for b in cut] == [100, 100, 50]
    assert [i for b in cut for i in b] == list(range(1, 251))


def test_two_hundred_messages_take_two_calls() -> None:
    assert len(batches(list(range(200)))) == 2


def test_nothing_to_delete_makes_no_call() -> None:
    assert batches([]) == []


def test_blind_spans_keep_the_newest_ids_within_the_bound() -> None:
    assert clip([(1, 50), (200, 260)], 100) == ([(200, 260), (12, 50)], True)
    assert clip([(1, 50)], 100) == ([(1, 50)], False)


async def test_the_pacer_lets_the_first_exit_through_and_makes_the_rest_wait() -> None:
    now = [0.0]
    pacer = Pacer(rate=10, burst=2, clock=lambda: now[0])
    await pacer.take()
    await pacer.take()
    assert pacer.wait_needed() == pytest.approx(0.1)
    await pacer.take(urgent=True)  # never waits for a token
    assert pacer.wait_needed() == pytest.approx(0.2)
    pacer.pause(3.0)  # a flood wait holds everyone back
    assert pacer.wait_needed() == pytest.approx(3.0)


class _Sent:
    def __init__(self, message_id: int) -> None:
        self.message_id = message_id


class FakeBot:
    """Just the calls the wiper makes; a delete can be held to let a second wipe arrive."""

    def __init__(self) -> None:
        self.deleted: list[int] = []
        self.said: list[str] = []
        self.hold: asyncio.Event | None = None
        self.held = asyncio.Event()
        self.next_id = 10_000
        self.down = False
        self.fail_deletes = False

    async def delete_messages(self, chat_id: int, message_ids: list[int]) -> bool:
        if self.hold is not None:
            hold, self.hold = self.hold, None
            self.held.set()
            await hold.wait()
        if self.fail_deletes:
            raise TelegramNetworkError(cast(Any, None), "down")
        self.deleted.extend(message_ids)
        return True

    async def delete_message(self, chat_id: int, message_id: int) -> bool:
        self.deleted.append(message_id)
        return True

    async def send_message(self, chat_id: int, text: str, **_: object) -> _Sent:
        self.said.append(text)
        if text == "boom":
            raise RuntimeError("not a Telegram error")
        if self.down:
            await asyncio.Event().wait()  # Telegram down: the send never answers
        self.next_id += 1
        return _Sent(self.next_id)


async def _until(condition: Callable[[], bool]) -> None:
    """Wait for ``condition`` (the retries run on their own), within a generous safety bound."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout=10.0)


def _wiper(bot: FakeBot, **kwargs: Any) -> Wiper:
    return Wiper(cast(Bot, bot), pacer=Pacer(rate=1e6, burst=1000), **kwargs)


async def test_a_wipe_joining_while_a_span_is_deleted_has_its_own_span_deleted() -> None:
    bot = FakeBot()
    wiper = _wiper(bot)
    bot.hold = release = asyncio.Event()
    first = asyncio.create_task(wiper.wipe(1, [], [(1, 150)], goodbye="bye", note="note"))
    await bot.held.wait()  # the first wipe's span is being deleted
    assert await wiper.wipe(1, [], [(500, 800)], note="note") is False
    release.set()
    assert await first is True
    assert set(range(500, 801)) <= set(bot.deleted)
    assert set(range(1, 151)) <= set(bot.deleted)
    assert bot.said == ["bye"]
    await wiper.close()


async def test_notes_at_shutdown_go_out_together_within_one_bound() -> None:
    bot = FakeBot()
    bot.fail_deletes = True
    wiper = _wiper(bot, backoff=3600.0, max_backoff=3600.0, note_after=3600.0)
    for chat_id in (1, 2, 3):
        assert await wiper.wipe(chat_id, [5, 6], note="note") is False
    bot.down = True
    # One after another, the first note's send would hold the shutdown for ever.
    left = await asyncio.wait_for(wiper.drain(0.0, notes_within=0.1), timeout=10.0)
    assert left == 3
    assert bot.said == ["note"] * 3  # every chat's note was at least tried


async def test_a_retry_that_fails_unexpectedly_leaves_the_other_wipes_retried() -> None:
    bot = FakeBot()
    bot.fail_deletes = True
    wiper = _wiper(bot, backoff=0.01, max_backoff=0.01, note_after=3600.0)
    for chat_id in range(1, RETRY_WORKERS + 1):  # as many broken retries as there are workers
        assert await wiper.wipe(chat_id, [5], goodbye="boom", note="note") is False
    bot.fail_deletes = False
    await _until(lambda: bot.said.count("boom") == RETRY_WORKERS)
    bot.fail_deletes = True
    assert await wiper.wipe(99, [5], goodbye="bye", note="note") is False
    bot.fail_deletes = False
    # Still retried: the workers whose retry failed were guarded (or replaced).
    await _until(lambda: "bye" in bot.said)
    assert wiper.pending == 0
    await wiper.close()
