"""Live conversations, in memory only, with a time to live and a hard cap.

aiogram's MemoryStorage and SimpleEventIsolation never forget a chat, so this store replaces both:
each session takes its own updates in turn (:meth:`Session.turn`), and that goes with the session.

Thousands of sessions sit idle at once, and the memory their objects took stays with the process
after they expire: Python's allocator gives back a megabyte only once nothing at all lives in it,
and whatever the bot allocates meanwhile lands among the sessions (docs/performance.md). So a
session at rest is *parked*: packed into one short string of bytes (:meth:`Session.pack`), and
made a :class:`Session` again when her next update comes. A live session creates what most never
use (a lock while nothing runs, a dict of attachments) only when needed.
"""

from __future__ import annotations

import asyncio
import marshal
import math
import secrets
import struct
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from bot import incidents
from flows.engine import State
from storage import Attachment

Clock = Callable[[], float]

# Sends without an answer remembered per conversation (each a span for the wipe).
MAX_GAPS = 50
# Seconds after a send without an answer by which Telegram has surely finished it: only a bot
# message sent later is known to be newer (a request that timed out may still be carried out).
GAP_SETTLE = 30.0
_NO_ATTACHMENTS: Mapping[str, Attachment] = MappingProxyType({})
# A parked session starts with its last_seen, so the idle sweep reads it without unpacking.
_LAST_SEEN = struct.Struct("<d")


def new_nonce() -> str:
    """A short random token that makes the current keyboard's buttons unguessable."""
    return secrets.token_urlsafe(6)


@dataclass(slots=True, eq=False)
class Session:
    """One chat's live state. Never written anywhere."""

    chat_id: int
    last_seen: float
    state: State = field(default_factory=State)
    # The language Telegram reports, used only to preselect a button at first contact.
    preselect: str | None = None
    # Every message of the conversation, both sides, in the order seen: what the wipe deletes.
    message_ids: list[int] = field(default_factory=list)
    # The first id of the conversation: carried by its exit buttons, so a tap after a restart
    # knows where her chat's wipe starts (bot.render.exit_data). 0 until a message is seen.
    anchor: int = 0
    # Where a send that failed without an answer may have been delivered all the same: between
    # the newest id known when it was sent and the id of the bot's next message in her chat
    # once the lost one must have landed (0 until then), and when it failed (a monotonic time).
    # The wipe deletes that span (bot.wipe). Rare, and bounded: a tuple.
    gaps: tuple[tuple[int, int, float], ...] = ()
    # Her chat holds the bot's pinned first message (bot.conversation: pin_header), found or made.
    pinned: bool = False
    # The message showing the current screen, edited in place where that reads naturally.
    live_message_id: int | None = None
    nonce: str = field(default_factory=new_nonce)
    # The nonce of the screen just replaced: a second tap on it is a double tap, not a forgery.
    previous_nonce: str = ""
    # Times of her recent updates, for the flood limit; never longer than the limit plus one, so
    # a plain list (an empty deque costs ten times more, in every one of thousands of sessions).
    recent: list[float] = field(default_factory=list)
    flood_warned: bool = False
    # Follow-up (bot/followup.py). The id of the report she just sent, while she may still take a
    # receipt for it; the receipt itself only until its screen is drawn, once; the case her
    # receipt opened (report id, reply key seed) and what she may read of it. Never the receipt
    # after it was shown; all of it goes with the session at exit and idle.
    receipt_offer: bytes | None = field(default=None, repr=False)
    receipt_shown: str | None = field(default=None, repr=False)
    case: tuple[bytes, bytes] | None = field(default=None, repr=False)
    thread: tuple[str, tuple[tuple[str, str], ...]] | None = field(default=None, repr=False)
    # Dropped from the store (exit, idle, eviction, shutdown): nothing may be added to it but
    # messages to delete.
    closed: bool = False
    # See :attr:`attachments`; ``None`` until her draft holds a file.
    _attachments: dict[str, Attachment] | None = field(default=None, init=False, repr=False)
    # See :meth:`turn`: the lock exists only while one of her updates runs or waits.
    _lock: asyncio.Lock | None = field(default=None, init=False, repr=False)
    _turns: int = field(default=0, init=False, repr=False)
    # Updates working with this session outside a turn (the quick exit, a flood answer): while
    # any does, it is not parked, so what they change is not left behind in a stale copy.
    _holders: int = field(default=0, init=False, repr=False)

    def pack(self) -> bytes:
        """Everything a session at rest holds, as one short string of bytes.

        One object instead of a dozen: a crowd of idle sessions then fills a few of the
        allocator's arenas, not dozens that a handful of other objects keep alive after the sweep.
        Only for a session :attr:`at_rest` (no lock, no files, not closed).
        """
        state = self.state
        fields = (
            state.locale,
            state.screen,
            {flow: dict(given) for flow, given in state.answers.items()},
            state.return_to,
            self.preselect,
            self.message_ids,
            self.anchor,
            self.gaps,
            self.pinned,
            self.live_message_id,
            self.nonce,
            self.previous_nonce,
            self.recent,
            self.flood_warned,
            self.receipt_offer,
            self.receipt_shown,
            self.case,
            self.thread,
        )
        return _LAST_SEEN.pack(self.last_seen) + marshal.dumps(fields)

    @classmethod
    def unpack(cls, chat_id: int, packed: bytes) -> Session:
        """The session :meth:`pack` made ``packed`` from."""
        # Only ever bytes this process packed itself: they are never read from anywhere else.
        fields = marshal.loads(memoryview(packed)[_LAST_SEEN.size :])  # noqa: S302
        (
            locale,
            screen,
            answers,
            return_to,
            preselect,
            message_ids,
            anchor,
            gaps,
            pinned,
            live_message_id,
            nonce,
            previous_nonce,
            recent,
            flood_warned,
            receipt_offer,
            receipt_shown,
            case,
            thread,
        ) = fields
        state = State(locale=locale, screen=screen, return_to=return_to)
        if answers:
            state = replace(state, answers=MappingProxyType(answers))
        return cls(
            chat_id=chat_id,
            last_seen=_LAST_SEEN.unpack_from(packed)[0],
            state=state,
            preselect=preselect,
            message_ids=message_ids,
            anchor=anchor,
            gaps=gaps,
            pinned=pinned,
            live_message_id=live_message_id,
            nonce=nonce,
            previous_nonce=previous_nonce,
            recent=recent,
            flood_warned=flood_warned,
            receipt_offer=receipt_offer,
            receipt_shown=receipt_shown,
            case=case,
            thread=thread,
        )

    @property
    def at_rest(self) -> bool:
        """Whether nothing runs for her and nothing but :meth:`pack`'s fields is held."""
        return not (self._turns or self._holders or self.closed or self._attachments)

    @property
    def turn_taken(self) -> bool:
        """Whether one of her updates holds (or waits for) her turn: the next one would wait."""
        return self._turns > 0

    @contextmanager
    def held(self) -> Iterator[None]:
        """Keep this session from being parked while an update works with it outside a turn."""
        self._holders += 1
        try:
            yield
        finally:
            self._holders -= 1

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold this chat's turn: her updates run one at a time, in the order they came.

        The lock is made for the first update that needs it and dropped when the last one that
        held or awaited it leaves, so an idle session keeps none.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        lock = self._lock
        self._turns += 1
        try:
            async with lock:
                yield
        finally:
            self._turns -= 1
            if self._turns == 0:
                self._lock = None

    @property
    def attachments(self) -> Mapping[str, Attachment]:
        """Evidence of her report draft by handle: sealed on submit, dropped on exit. In memory."""
        return self._attachments if self._attachments is not None else _NO_ATTACHMENTS

    def attach(self, token: str, attachment: Attachment) -> None:
        """Hold a file of her draft under ``token``."""
        if self._attachments is None:
            self._attachments = {}
        self._attachments[token] = attachment

    def forget_followup(self) -> None:
        """Drop everything a receipt gave or opened (exit, idle, a deleted case)."""
        self.receipt_offer = self.receipt_shown = None
        self.case = self.thread = None

    def keep_attachments(self, tokens: Collection[str]) -> None:
        """Forget every file of the draft but those under ``tokens``."""
        if self._attachments:
            for token in [t for t in self._attachments if t not in tokens]:
                del self._attachments[token]
        if not self._attachments:
            self._attachments = None

    def drop_attachments(self) -> None:
        """Forget every file of the draft."""
        self.keep_attachments(())

    def record(self, message_id: int) -> None:
        """Remember a message of this conversation so the wipe can delete it."""
        self.message_ids.append(message_id)
        if not self.anchor or message_id < self.anchor:
            self.anchor = message_id

    def newest_known(self) -> int:
        """The newest id of her chat the bot knows (the anchor when it knows no other)."""
        return max(self.message_ids, default=self.anchor)

    def lost_after(self, newest: int, now: float) -> None:
        """A send got no answer at ``now``: it may have been delivered with an id above
        ``newest`` (or be delivered still: Telegram may finish a request the bot gave up on)."""
        if len(self.gaps) < MAX_GAPS:
            self.gaps += ((newest, 0, now),)

    def inherit(self, anchor: int) -> None:
        """Her chat holds messages of this conversation from before the session (an unclean
        restart), from ``anchor`` on: everything up to the bot's next message is to be wiped."""
        if anchor > 0 and (not self.anchor or anchor < self.anchor):
            if len(self.gaps) < MAX_GAPS:
                self.gaps += ((anchor - 1, 0, -math.inf),)  # closed by the next send
            self.anchor = anchor

    def bot_sent(self, message_id: int, now: float) -> None:
        """The bot's own new message, sent at ``now``: newer than any message lost long enough
        before it (GAP_SETTLE), so it closes their gaps."""
        if any(last == 0 and now - since >= GAP_SETTLE for _, last, since in self.gaps):
            self.gaps = tuple(
                (first, message_id if not last and now - since >= GAP_SETTLE else last, since)
                for first, last, since in self.gaps
            )

    def spans(self) -> list[tuple[int, int | None]]:
        """The ids the wipe must delete blind, first and last included (None: up to the newest)."""
        return [(first + 1, last - 1 if last else None) for first, last, _ in self.gaps]

    def forget_message(self, message_id: int) -> None:
        if message_id in self.message_ids:
            self.message_ids.remove(message_id)


# The session whose handler runs in this context: what it sends is recorded there, even when she
# has left (and the store forgot the session) while it ran, so the wipe after it can delete it.
CURRENT: ContextVar[Session | None] = ContextVar("current_session", default=None)
# Set while sending the one neutral line the exit may leave: the only message never recorded.
UNRECORDED: ContextVar[bool] = ContextVar("unrecorded", default=False)


# A dict never shrinks its table as entries go: with 50,000 sessions gone, the empty store would
# still hold 3.5 MiB. Once it is down to this fraction of its largest size, it is copied afresh.
COMPACT_BELOW = 0.25
COMPACT_FROM = 1024  # entries: below this, the table is too small to matter


class SessionStore:
    """Sessions by chat id, least recently seen first; those at rest parked (see :meth:`park`)."""

    def __init__(self, *, ttl: float, cap: int, clock: Clock = time.monotonic) -> None:
        self.ttl = ttl
        self.cap = cap
        self.clock = clock
        self._sessions: OrderedDict[int, Session | bytes] = OrderedDict()
        # The most sessions held since the table was last sized (see COMPACT_BELOW).
        self._high = 0

    def __len__(self) -> int:
        return len(self._sessions)

    def chat_ids(self) -> list[int]:
        """Every chat with a live conversation, least recently seen first."""
        return list(self._sessions)

    def get(self, chat_id: int) -> Session | None:
        """The chat's session (unparked if it was parked), or ``None``."""
        found = self._sessions.get(chat_id)
        if isinstance(found, bytes):
            found = self._sessions[chat_id] = Session.unpack(chat_id, found)
        return found

    def touch(self, chat_id: int) -> tuple[Session, list[Session]]:
        """The chat's session (created if new), marked as seen; and any evicted to fit the cap."""
        now = self.clock()
        session = self.get(chat_id)
        if session is not None:
            session.last_seen = now
            self._sessions.move_to_end(chat_id)
            return session, []
        evicted: list[Session] = []
        while len(self._sessions) >= self.cap:
            oldest_id, oldest = self._sessions.popitem(last=False)
            if isinstance(oldest, bytes):
                oldest = Session.unpack(oldest_id, oldest)
            oldest.closed = True
            evicted.append(oldest)
        session = Session(chat_id=chat_id, last_seen=now)
        self._sessions[chat_id] = session
        self._high = max(self._high, len(self._sessions))
        return session, evicted

    def park(self, session: Session) -> None:
        """Pack ``session`` while she is quiet, if it is at rest and still the chat's current one.

        Call it once an update is done with the session. A :class:`Session` object handed out
        before must not be changed after this: :meth:`get` makes a new one from the packed bytes.
        """
        if not session.at_rest or self._sessions.get(session.chat_id) is not session:
            return
        try:
            packed = session.pack()
        except ValueError as exc:  # a value marshal cannot hold: she stays as she is
            incidents.note("session not parked", exc)
            return
        self._sessions[session.chat_id] = packed

    @contextmanager
    def holding(self, session: Session) -> Iterator[None]:
        """Work with ``session`` outside her turn (the quick exit, a flood answer): it is not
        parked meanwhile, and is parked after if it is then at rest."""
        try:
            with session.held():
                yield
        finally:
            self.park(session)

    def drop(self, session: Session) -> None:
        """Forget ``session`` (if it is still the chat's current one) and mark it closed."""
        session.closed = True
        if self._sessions.get(session.chat_id) is session:
            del self._sessions[session.chat_id]
            if self._high >= COMPACT_FROM and len(self._sessions) < self._high * COMPACT_BELOW:
                self._sessions = OrderedDict(self._sessions)  # same order, a table to fit
                self._high = len(self._sessions)

    def is_idle(self, session: Session) -> bool:
        """Whether ``session`` is still current and quiet for longer than the time to live."""
        current = self._sessions.get(session.chat_id) is session
        return current and session.last_seen <= self.clock() - self.ttl

    def idle(self) -> list[int]:
        """Chats quiet for longer than the time to live, least recently seen first.

        Chat ids, not sessions: a sweep unpacks one session at a time, not thousands at once.
        """
        deadline = self.clock() - self.ttl
        out: list[int] = []
        for chat_id, session in self._sessions.items():
            if _last_seen(session) > deadline:
                break  # ordered by last_seen: the rest are newer
            out.append(chat_id)
        return out


def _last_seen(session: Session | bytes) -> float:
    if isinstance(session, bytes):
        seen: float = _LAST_SEEN.unpack_from(session)[0]
        return seen
    return session.last_seen
