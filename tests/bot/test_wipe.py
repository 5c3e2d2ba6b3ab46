"""The wipe's pure parts: batches of at most 100 ids, bounded blind spans, the shared pacer."""

from __future__ import annotations

import pytest

from bot.pacing import Pacer
from bot.wipe import batches, clip


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
