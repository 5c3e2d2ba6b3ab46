"""The in-memory session store: time to live, hard cap, per-session locks that go with the session."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import fields
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import incidents
from bot.sessions import GAP_SETTLE, Session, SessionStore
from flows.engine import State
from storage import Attachment


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_touch_creates_once_and_marks_seen() -> None:
    clock = Clock()
    store = SessionStore(ttl=60, cap=10, clock=clock)
    first, evicted = store.touch(1)
    clock.now = 5
    again, _ = store.touch(1)
    assert first is again and evicted == [] and again.last_seen == 5 and len(store) == 1


def test_idle_returns_only_sessions_past_their_time_to_live_oldest_first() -> None:
    clock = Clock()
    store = SessionStore(ttl=60, cap=10, clock=clock)
    for chat in (1, 2, 3):
        store.touch(chat)
        clock.now += 20
    # now = 60: chat 1 seen at 0, 2 at 20, 3 at 40
    clock.now = 81
    assert store.idle() == [1, 2]


def test_the_cap_evicts_the_least_recently_seen() -> None:
    clock = Clock()
    store = SessionStore(ttl=60, cap=3, clock=clock)
    for chat in (1, 2, 3):
        store.touch(chat)
    store.touch(1)  # 1 is fresh again, 2 is now the oldest
    _, evicted = store.touch(4)
    assert [s.chat_id for s in evicted] == [2]
    assert len(store) == 3 and store.get(2) is None


def test_a_flood_of_new_chats_never_grows_past_the_cap() -> None:
    store = SessionStore(ttl=60, cap=100, clock=Clock())
    evicted = 0
    for chat in range(10_000):
        evicted += len(store.touch(chat)[1])
    assert len(store) == 100 and evicted == 9_900


async def test_drop_forgets_only_the_current_session_and_its_lock() -> None:
    store = SessionStore(ttl=60, cap=10, clock=Clock())
    old, _ = store.touch(1)
    store.drop(old)
    new, _ = store.touch(1)
    assert new is not old
    async with old.turn():
        # The old session's turn does not hold up the new one.
        await asyncio.wait_for(_take_turn(new), 1)
    store.drop(old)  # a stale handle must not drop the new session
    assert store.get(1) is new


async def _take_turn(session: Session) -> None:
    async with session.turn():
        pass


async def test_turns_run_one_at_a_time_in_order_and_leave_no_lock_behind() -> None:
    session, _ = SessionStore(ttl=60, cap=10, clock=Clock()).touch(1)
    running: list[int] = []
    log: list[str] = []

    async def update(n: int) -> None:
        async with session.turn():
            running.append(n)
            log.append(f"start {n} with {len(running)} running")
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            log.append(f"end {n}")
            running.remove(n)

    await asyncio.gather(*(update(n) for n in range(3)))
    assert log == [line for n in range(3) for line in (f"start {n} with 1 running", f"end {n}")]
    assert session._lock is None and session._turns == 0
    # The next update makes a fresh lock, and still waits for one that runs.
    async with session.turn():
        waiting = asyncio.ensure_future(_take_turn(session))
        await asyncio.sleep(0.01)
        assert not waiting.done()
    await asyncio.wait_for(waiting, 1)
    assert session._lock is None


async def test_a_turn_left_by_an_error_or_a_cancellation_is_given_back() -> None:
    session, _ = SessionStore(ttl=60, cap=10, clock=Clock()).touch(1)
    try:
        async with session.turn():
            raise RuntimeError("handler failed")
    except RuntimeError:
        pass
    async with session.turn():
        waiting = asyncio.ensure_future(_take_turn(session))
        await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.sleep(0)
    assert waiting.cancelled()
    assert session._lock is None and session._turns == 0
    await asyncio.wait_for(_take_turn(session), 1)


def test_attachments_are_held_only_while_the_draft_has_files() -> None:
    session, _ = SessionStore(ttl=60, cap=10, clock=Clock()).touch(1)
    assert session.attachments == {} and session._attachments is None
    photo = Attachment(kind="photo", mime="image/jpeg", name="photo.jpg", data=b"one")
    note = Attachment(kind="document", mime="text/plain", name="a.txt", data=b"two")
    session.attach("a", photo)
    session.attach("b", note)
    session.keep_attachments({"b", "gone"})
    assert dict(session.attachments) == {"b": note}
    session.drop_attachments()
    assert session.attachments == {} and session._attachments is None


def test_recorded_ids_are_kept_in_order() -> None:
    session, _ = SessionStore(ttl=60, cap=10, clock=Clock()).touch(1)
    for i in (5, 6, 7):
        session.record(i)
    session.forget_message(6)
    assert session.message_ids == [5, 7]


def test_the_store_gives_back_its_table_once_most_sessions_are_gone() -> None:
    clock = Clock()
    store = SessionStore(ttl=60, cap=100_000, clock=clock)
    for chat in range(20_000):
        store.touch(chat)
    full = sys.getsizeof(store._sessions)
    clock.now = 30
    for chat in range(20_000, 20_010):
        store.touch(chat)  # still fresh when the others expire
    clock.now = 61
    for chat in store.idle():
        idle = store.get(chat)
        assert idle is not None
        store.drop(idle)
    assert len(store) == 10
    assert sys.getsizeof(store._sessions) < full / 100
    # Order and lookups survive the copy.
    assert store.chat_ids() == list(range(20_000, 20_010))
    assert store.get(20_005) is not None and store.get(5) is None


# Parking: a quiet session is held as one packed string of bytes --------------------------------

# Fields a parked session does not carry: the key it is stored under, and what a session must be
# without (see Session.at_rest) before it may be parked at all.
NOT_PACKED = {"chat_id", "closed", "_attachments", "_lock", "_turns", "_holders"}

texts = st.text(max_size=300) | st.sampled_from(
    ["", "\ud800 lone surrogate", "\u202eright-to-left\u202c", "a\x00b", "👩‍👧‍👦" * 50, "x" * 4096]
)


def _busy_session(text: str = "Her words, her street") -> Session:
    """A session with every packed field away from its default."""
    return Session(
        chat_id=-(2**40),
        last_seen=1234.5678,
        state=State(
            locale="kk",
            screen="report.what",
            answers=MappingProxyType(
                {"report": {"what": text, "when": ("a", "b")}, "help": {"region": "almaty"}}
            ),
            return_to="report.review",
        ),
        preselect="ru",
        message_ids=[5, 6, 2**40],
        anchor=5,
        gaps=((4, 9, 1.0), (6, 0, 2.5)),
        pinned=True,
        live_message_id=6,
        nonce="n0nce-AB",
        previous_nonce="prev-Xy",
        recent=[1.5, 2.25],
        flood_warned=True,
        receipt_offer=bytes(16),
        receipt_shown="0000 1111 2222 3333",
        case=(bytes(16), bytes(range(32))),
        thread=("reading", (("2026-12-01", text),)),
    )


def test_packing_keeps_every_field_but_those_a_parked_session_cannot_have() -> None:
    session = _busy_session()
    default = Session(chat_id=1, last_seen=0.0)
    packed_fields = [f.name for f in fields(Session) if f.name not in NOT_PACKED]
    # Every packed field is set away from its default above, or this test could not see it lost.
    assert [n for n in packed_fields if getattr(session, n) == getattr(default, n)] == []
    back = Session.unpack(session.chat_id, session.pack())
    assert {n: getattr(back, n) for n in packed_fields} == {
        n: getattr(session, n) for n in packed_fields
    }
    assert back.chat_id == session.chat_id and back.at_rest
    # A fresh session round-trips too: no answers, no nonce shown yet.
    assert _same(Session.unpack(1, default.pack()), default)


def _same(a: Session, b: Session) -> bool:
    return all(getattr(a, f.name) == getattr(b, f.name) for f in fields(Session))


@given(texts)
@settings(max_examples=200, deadline=None)
def test_any_text_she_typed_survives_packing(text: str) -> None:
    session = _busy_session(text)
    back = Session.unpack(session.chat_id, session.pack())
    assert back.state.answers["report"]["what"] == text


def test_a_parked_session_is_small() -> None:
    # The point of parking: a quiet conversation is one object of about a hundred bytes.
    store = SessionStore(ttl=60, cap=10, clock=Clock())
    session, _ = store.touch(7)
    session.record(10)
    session.nonce, session.recent = "abcdefgh", [1.0]
    store.park(session)
    parked = store._sessions[7]
    assert isinstance(parked, bytes) and sys.getsizeof(parked) < 160


async def test_only_a_session_at_rest_and_still_current_is_parked() -> None:
    store = SessionStore(ttl=60, cap=10, clock=Clock())
    session, _ = store.touch(1)

    def parked() -> bool:
        return isinstance(store._sessions.get(1), bytes)

    async with session.turn():  # an update runs
        store.park(session)
        assert not parked()
    with session.held():  # the quick exit, or a flood answer, works with it outside a turn
        store.park(session)
        assert not parked()
    session.attach("t", Attachment(kind="photo", mime="image/jpeg", name="p.jpg", data=b"1"))
    store.park(session)  # files of her draft stay as they are
    assert not parked()
    session.drop_attachments()
    store.park(session)
    assert parked()
    again = store.get(1)
    assert again is not None
    assert again is not session and again is store.get(1) and _same(again, session)
    store.park(session)  # a stale handle parks nothing: the store keeps the one it handed out
    assert store.get(1) is again
    store.drop(again)
    store.park(again)  # closed
    assert store.get(1) is None and len(store) == 0


def test_parked_sessions_keep_their_place_expire_and_are_evicted_whole() -> None:
    clock = Clock()
    store = SessionStore(ttl=60, cap=3, clock=clock)
    for chat in (1, 2, 3):
        session, _ = store.touch(chat)
        session.record(chat * 100)
        store.park(session)
        clock.now += 20
    # now = 60: chat 1 seen at 0, 2 at 20, 3 at 40; all parked, read without unpacking
    clock.now = 81
    assert store.idle() == [1, 2]
    assert all(isinstance(store._sessions[c], bytes) for c in (1, 2, 3))
    touched, _ = store.touch(2)  # she is back: unpacked, seen now, newest
    assert touched.last_seen == 81 and touched.message_ids == [200]
    assert store.chat_ids() == [1, 3, 2]
    # Eviction hands over the whole session, messages and all, so the wipe can delete them.
    _, evicted = store.touch(4)
    assert [(s.chat_id, s.message_ids, s.closed) for s in evicted] == [(1, [100], True)]


def test_a_session_that_cannot_be_packed_stays_as_it_is_and_is_counted() -> None:
    class Odd(str):
        pass

    store = SessionStore(ttl=60, cap=10, clock=Clock())
    session, _ = store.touch(1)
    session.state = State(answers=MappingProxyType({"report": {"story": Odd("her words")}}))
    incidents.report()  # start counting afresh
    store.park(session)  # must not raise: it runs in the middleware's finally
    assert store.get(1) is session
    assert incidents.report() == {"session not parked": 1}


def test_a_lost_send_opens_a_span_above_the_newest_known_id_that_the_next_send_closes() -> None:
    session = Session(chat_id=1, last_seen=0.0)
    for i in (100, 250):
        session.record(i)
    session.lost_after(session.newest_known(), now=1000.0)
    assert session.spans() == [(251, None)]  # up to the newest: still unknown
    session.record(300)  # one of hers, perhaps written before the lost message: no bound
    session.bot_sent(310, now=1001.0)  # Telegram may still be carrying out the lost send
    assert session.spans() == [(251, None)]
    session.bot_sent(420, now=1000.0 + GAP_SETTLE)  # by now the lost one has surely landed
    assert session.spans() == [(251, 419)]
    assert session.anchor == 100
