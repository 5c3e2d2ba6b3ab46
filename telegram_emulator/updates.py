"""The bot's update queue: getUpdates with Telegram's offset, limit, timeout and filter rules.

An update stays in the queue until the bot confirms it by asking for a later offset, exactly as on
Telegram, so a bot that crashes after fetching gets the same updates again. Long polls sleep on an
event that every new update sets, never on a timer loop.

While a webhook is set (:mod:`telegram_emulator.webhook`), the same queue holds the updates not yet
acknowledged by the bot's webhook, getUpdates answers 409, and an update leaves the queue when the
webhook answered it with a 2xx, in whatever order the per-chat deliveries finish.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

from telegram_emulator.errors import ApiError

# Telegram's default when allowed_updates was never given (or given as an empty list).
ALL_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "shipping_query",
        "pre_checkout_query",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "message_reaction",
        "message_reaction_count",
        "chat_boost",
        "removed_chat_boost",
    }
)
DEFAULT_ALLOWED = ALL_UPDATE_TYPES - {"chat_member", "message_reaction", "message_reaction_count"}
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
# telegram-bot-api Client::process_get_updates_query and Client::abort_long_poll.
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
TERMINATED_BY_WEBHOOK = "Conflict: terminated by setWebhook request"
_SET_WEBHOOK = object()  # the poll owner a setWebhook leaves behind: waiting polls end with 409


class UpdateQueue:
    """Pending updates, oldest first, and the bookkeeping ``settle`` and ``press`` rely on."""

    def __init__(self) -> None:
        self._pending: deque[dict[str, Any]] = deque()
        self._next_id = 1
        self._wakeup = asyncio.Event()
        self._poll_owner: object | None = None
        self._delivery: dict[int, asyncio.Future[None]] = {}
        self.allowed: frozenset[str] = DEFAULT_ALLOWED
        self.fetched_up_to = 0  # highest update id ever returned to the bot
        self.last_id = 0  # highest update id ever accepted
        self.closed = False
        # Set while a webhook is set: getUpdates is refused, and this hears of every new update.
        self.webhook_active = False
        self.on_push: Callable[[], None] | None = None

    @property
    def unconfirmed(self) -> int:
        """Updates not yet confirmed by a later offset (fetched or not)."""
        return len(self._pending)

    def push(self, kind: str, body: dict[str, Any]) -> int | None:
        """Queue an update of type ``kind``; None when the bot's allowed_updates excludes it."""
        if kind not in self.allowed:
            return None  # Telegram does not even keep updates the bot opted out of
        update_id = self._next_id
        self._next_id += 1
        self.last_id = update_id
        self._pending.append({"update_id": update_id, kind: body})
        self._wake()
        if self.on_push is not None:
            self.on_push()
        return update_id

    async def delivered(self, update_id: int, seconds: float) -> None:
        """Wait until the bot has fetched the update ``update_id`` (or its webhook took it)."""
        if update_id <= self.fetched_up_to:
            return
        if self.webhook_active and all(u["update_id"] != update_id for u in self._pending):
            return
        future = self._delivery.get(update_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._delivery[update_id] = future
        async with asyncio.timeout(seconds):
            await asyncio.shield(future)

    def close(self) -> None:
        """Make every long poll return now (the server is stopping)."""
        self.closed = True
        self._wake()

    async def get(
        self, offset: int | None, limit: int, wait: float, allowed: list[str] | None
    ) -> list[dict[str, Any]]:
        """getUpdates: confirm below ``offset``, then return up to ``limit`` updates."""
        if self.webhook_active:
            raise ApiError(409, WEBHOOK_ACTIVE)
        if allowed is not None:
            # The filter applies to updates created after this call, as on Telegram.
            self.allowed = frozenset(allowed) & ALL_UPDATE_TYPES or DEFAULT_ALLOWED
        if offset is not None:
            self._confirm(offset)
        owner = object()
        self._poll_owner = owner  # a newer poll terminates this one with 409, as on Telegram
        self._wake()
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            if self._poll_owner is _SET_WEBHOOK:
                raise ApiError(409, TERMINATED_BY_WEBHOOK)
            if self._poll_owner is not owner:
                raise ApiError(409, CONFLICT)
            batch = list(itertools.islice(self._pending, limit))
            remaining = deadline - asyncio.get_running_loop().time()
            if batch or remaining <= 0 or self.closed:
                break
            event = self._wakeup
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                pass
        if self._poll_owner is owner:
            self._poll_owner = None
        if batch:
            self._mark_fetched(batch[-1]["update_id"])
        return batch

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            # "-N": keep only the newest N updates; everything before is forgotten.
            while len(self._pending) > -offset:
                self._pending.popleft()
            return
        while self._pending and self._pending[0]["update_id"] < offset:
            self._pending.popleft()

    def _mark_fetched(self, update_id: int) -> None:
        if update_id <= self.fetched_up_to:
            return
        self.fetched_up_to = update_id
        for waiting_id in [i for i in self._delivery if i <= update_id]:
            future = self._delivery.pop(waiting_id)
            if not future.done():
                future.set_result(None)

    def _wake(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    def drop_pending(self) -> None:
        """deleteWebhook(drop_pending_updates=True): forget every pending update."""
        self._pending.clear()

    def set_allowed(self, allowed: list[str] | None) -> None:
        """Filter updates created from now on (setWebhook's allowed_updates, as getUpdates')."""
        if allowed is not None:
            self.allowed = frozenset(allowed) & ALL_UPDATE_TYPES or DEFAULT_ALLOWED

    def start_webhook(self) -> None:
        """A webhook was set: a waiting long poll ends with 409, later ones are refused."""
        self.webhook_active = True
        self._poll_owner = _SET_WEBHOOK
        self._wake()

    def stop_webhook(self) -> None:
        """The webhook was deleted: getUpdates works again."""
        self.webhook_active = False
        if self._poll_owner is _SET_WEBHOOK:
            self._poll_owner = None

    def pending(self) -> list[dict[str, Any]]:
        """Every update not yet confirmed or acknowledged, oldest first."""
        return list(self._pending)

    def acknowledge(self, update_id: int) -> None:
        """The webhook answered this update with a 2xx: it leaves the queue, whatever its place."""
        for index, update in enumerate(self._pending):
            if update["update_id"] == update_id:
                del self._pending[index]
                break
        future = self._delivery.pop(update_id, None)
        if future is not None and not future.done():
            future.set_result(None)

    def forget(self, update_id: int) -> None:
        """Drop one update Telegram gave up on (it expired while its delivery kept failing)."""
        self.acknowledge(update_id)
