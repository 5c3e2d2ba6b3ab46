"""Webhook mode: Telegram POSTs each update here; the bot answers at once and handles it.

Behind the operator's TLS proxy, on loopback by default. What a request must be, and what it gets:

- ``X-Telegram-Bot-Api-Secret-Token`` equal to this start's secret, compared in constant time;
  otherwise 401 and nothing else (no hint, no log line per request: only a count).
- A message update is answered with an empty 200 at once and handled afterwards. Telegram sends a
  chat's next message only after that answer: answering first keeps her typed "exit" from queueing
  behind a slow download, exactly as in polling (per-chat order is kept by the session's lock).
- A callback query's answer is held while it is handled, so that ``answerCallbackQuery`` can ride
  on it (:mod:`bot.replies`); at most :data:`HOLD` seconds, and never while her chat's turn is
  taken.
- While stopping: 503, so Telegram keeps the update and delivers it again after the restart.
- A body that is not an update (it passed the secret, so it came from Telegram): 200 and a count,
  never a retry loop that would block her chat's queue at Telegram.
- An update delivered again (Telegram retries when our answer was lost): 200, not handled twice.

Of what Telegram sends, the bot turns into objects only what it reads (:func:`lean`): of the
message a button was pressed on, its id and chat, not its text (which may be the review of her
report) nor its keyboard; never the message she replied to. Those would otherwise sit in memory as
aiogram objects, and parsing them was a fifth of what a tap costs.
"""

from __future__ import annotations

import asyncio
import contextvars
import hmac
import json
from collections import deque
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bot import incidents
from bot.replies import HELD, HeldResponse

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header's name
# Seconds a callback query's response waits for the handler's answer. The handler answers first
# thing once it has her turn; under heavy load the answer then goes as a request of its own.
HOLD = 0.5
# Telegram's updates are small; evidence is downloaded separately, never posted to us.
MAX_BODY = 1024 * 1024
# Update ids remembered to recognise a delivery made again (a counter, not about anyone).
SEEN = 4096
# What the bot reads of the message a button was pressed on.
PRESSED_MESSAGE_KEEPS = frozenset({"message_id", "date", "chat", "from"})
# What it never reads of her messages: the message she replied to, or quoted.
NEVER_READ = ("reply_to_message", "external_reply", "quote")


def lean(update: dict[str, Any]) -> dict[str, Any]:
    """``update`` without what the bot never reads (see the module's docstring); in place."""
    query = update.get("callback_query")
    if isinstance(query, dict):
        pressed = query.get("message")
        if isinstance(pressed, dict):
            query["message"] = {k: v for k, v in pressed.items() if k in PRESSED_MESSAGE_KEEPS}
    for kind in ("message", "edited_message"):
        message = update.get(kind)
        if isinstance(message, dict):
            for key in NEVER_READ:
                message.pop(key, None)
    return update


class WebhookServer:
    """The aiohttp side of webhook mode for one bot."""

    def __init__(
        self, dp: Dispatcher, bot: Bot, *, secret: str, path: str, hold: float = HOLD
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.path = path
        self.hold = hold
        self._secret = secret.encode()
        self._tasks: set[asyncio.Task[None]] = set()
        self._seen: set[int] = set()
        self._seen_order: deque[int] = deque()
        self.closing = False

    @property
    def handling(self) -> int:
        """Updates answered but still being handled."""
        return len(self._tasks)

    def application(self) -> web.Application:
        """The aiohttp application: one POST route at the webhook's path."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.path, self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One delivery from Telegram."""
        if self.closing:
            return web.Response(status=503, headers={"Retry-After": "5"})
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            incidents.note("webhook request refused (wrong secret)")
            return web.Response(status=401)
        try:
            raw = json.loads(await request.read())
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            update = Update.model_validate(lean(raw), context={"bot": self.bot})
        except (ValidationError, ValueError) as exc:
            incidents.note("webhook body not an update", exc)
            return web.Response()
        if self._again(update.update_id):
            incidents.note("webhook update delivered again")
            return web.Response()
        query = update.callback_query
        if query is None:
            self._spawn(update, None)
            return web.Response()
        held = HeldResponse(query.id)
        task = self._spawn(update, held)
        task.add_done_callback(lambda _: held.let_go())
        timer = asyncio.get_running_loop().call_later(self.hold, held.let_go)
        body = await held.body  # the answer, or None: handled without one, or held too long
        timer.cancel()
        if body is None:
            return web.Response()
        return web.Response(body=body, content_type="application/json")

    def _again(self, update_id: int) -> bool:
        """Whether this update came before (and note it if not)."""
        if update_id in self._seen:
            return True
        self._seen.add(update_id)
        self._seen_order.append(update_id)
        if len(self._seen_order) > SEEN:
            self._seen.discard(self._seen_order.popleft())
        return False

    def _spawn(self, update: Update, held: HeldResponse | None) -> asyncio.Task[None]:
        context = contextvars.copy_context()
        if held is not None:
            context.run(HELD.set, held)
        task = asyncio.get_running_loop().create_task(self._feed(update), context=context)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _feed(self, update: Update) -> None:
        try:
            await self.dp.feed_update(self.bot, update)
        except Exception as exc:  # the errors observer took handler failures; this is the rest
            incidents.note("update failed", exc)

    async def finish(self, seconds: float) -> None:
        """Wait for the updates being handled, at most ``seconds``."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=seconds)
