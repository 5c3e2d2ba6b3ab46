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


def test_ids_after_a_send_without_answer_are_added_and_nothing_else() -> None:
    from bot.wipe import maybe_delivered

    assert maybe_delivered([41]) == [42, 43, 44]
    assert maybe_delivered([]) == []
