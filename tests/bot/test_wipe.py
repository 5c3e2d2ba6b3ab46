"""The wipe's batching: every id once, in order, at most 100 per deleteMessages call."""

from __future__ import annotations

from bot.wipe import batches


def test_batches_of_at_most_100_without_duplicates() -> None:
    ids = [*range(1, 251), 5, 6, 250]
    cut = batches(ids)
    assert [len(b) for b in cut] == [100, 100, 50]
    assert [i for b in cut for i in b] == list(range(1, 251))


def test_two_hundred_messages_take_two_calls() -> None:
    assert len(batches(list(range(200)))) == 2


def test_nothing_to_delete_makes_no_call() -> None:
    assert batches([]) == []


def test_small_gaps_are_filled_large_ones_left_alone() -> None:
    from bot.wipe import with_gaps

    # 12 and 13 were delivered but their answers were lost; 40..99 belong to her other chats.
    assert with_gaps([10, 11, 14, 15, 100, 101]) == [10, 11, 12, 13, 14, 15, 100, 101]
    assert with_gaps([]) == []
    assert len(with_gaps(list(range(0, 400, 2)))) == 399  # a 200-message chat: still 4 calls
