"""Webhook delivery, as Telegram's Bot API server does it.

Modelled on telegram-bot-api (``telegram-bot-api/Client.cpp`` and ``WebhookActor.cpp``, the server
Telegram runs and publishes), not on the documentation alone, because the surprising parts live
there:

- **Queues.** Every update belongs to a queue: messages (and edits, channel posts) to their chat,
  callback queries to the user who pressed, member changes to their chat; anything else to a queue
  of its own. A queue sends one update at a time and the next only after the bot answered the one
  before with a 2xx, so one chat's messages arrive in order; different queues run in parallel, up to
  ``max_connections`` (default 40; 1-100, 100,000 with ``--local``). A message and a callback query
  from the same private chat are in *different* queues and may arrive together.
- **A failing webhook gets one connection.** Until an update has been answered with a 2xx within the
  last 10 seconds (and so also right after setWebhook), updates go one at a time, to whichever
  queue's front is due first.
- **Retries.** A non-2xx answer, a refused or dropped connection, or no answer within 60 seconds
  leave the update at its queue's front. The first failure is retried at once; the next after 2 s,
  then 4, 8, ... up to a random 60-120 s; a ``Retry-After`` header (at most 3600 s) wins. An update
  that would outlive its expiry meanwhile is dropped: callback queries after 150 s, messages a day
  after they were sent. ``getWebhookInfo`` shows the last error and its date.
- **The answer may carry a method.** A 2xx answer whose body (JSON, urlencoded or multipart) names a
  ``method`` has it executed with the bot's token (except setWebhook, deleteWebhook, close, logOut
  and get* methods); its result, or error, reaches nobody.
- **The secret.** ``X-Telegram-Bot-Api-Secret-Token`` carries setWebhook's ``secret_token`` (1-256
  of ``A-Z a-z 0-9 _ -``) on every delivery; none is sent when none was set.
- **Where a webhook may point.** Without ``--local``: only https, only ports 443, 80, 88 and 8443,
  never a reserved address (loopback, private ranges); the emulator's ``local_mode`` is
  ``telegram-bot-api --local``, which allows http, any port and loopback, as the tests need.
- **Polling and webhooks exclude each other.** While a webhook is set getUpdates answers 409;
  setting one ends a waiting long poll with 409 ("terminated by setWebhook request").

The emulator's own knobs, for tests only: ``timeout`` (Telegram's 60 s) and ``backoff_scale``
(1.0 is Telegram's delays; a test may shrink them to see several retries in a second).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import socket
import string
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from telegram_emulator.errors import bad_request
from telegram_emulator.params import Params
from telegram_emulator.updates import DEFAULT_ALLOWED
from telegram_emulator.world import World

SECRET_ALPHABET = frozenset(string.ascii_letters + string.digits + "_-")
MAX_SECRET = 256
CLOUD_PORTS = frozenset({443, 80, 88, 8443})
DEFAULT_MAX_CONNECTIONS = 40  # telegram-bot-api: 40, or 100 with --local
MAX_CONNECTIONS = 100
LOCAL_MAX_CONNECTIONS = 100_000
REQUEST_TIMEOUT = 60.0  # HttpOutboundConnection's idle timeout in WebhookActor
MAX_RESEND = 60  # WEBHOOK_MAX_RESEND_TIMEOUT: the cap is a random 60-120 s
MAX_RETRY_AFTER = 3600
ACTIVE_SECONDS = 10.0  # since the last 2xx: more than one connection may be used
CALLBACK_TTL = 150  # seconds a callback query waits to be delivered
MESSAGE_TTL = 86_400  # seconds after its date a message update waits
# Methods a webhook answer may not run (WebhookActor::handle).
NOT_IN_RESPONSE = frozenset({"deletewebhook", "setwebhook", "close", "logout"})

# Executes a method named in a webhook answer: (lower-cased name, params).
Execute = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass
class Target:
    """The webhook setWebhook set."""

    url: str
    secret: str
    max_connections: int
    ip_address: str


@dataclass
class _Pending:
    """Delivery bookkeeping for one update (telegram-bot-api's WebhookActor::Update)."""

    queue: tuple[str, int]
    expires_at: float  # emulated Unix time
    delay: int = 1
    fails: int = 0
    wakeup_at: float = 0.0  # monotonic
    in_flight: bool = False


@dataclass
class Attempt:
    """One POST to the webhook, for tests: which update, and how it ended."""

    update_id: int
    status: int | None  # HTTP status, or None when there was no answer
    error: str  # empty on success
    secret_sent: str | None
    method: str | None = None  # the method the answer carried, if any


@dataclass
class WebhookDelivery:
    """The webhook side of one emulated bot: setWebhook state and the delivery loop."""

    world: World
    execute: Execute
    on_activity: Callable[[int], None]  # +1 when a delivery starts, -1 when it ends
    local_mode: bool = False
    timeout: float = REQUEST_TIMEOUT
    backoff_scale: float = 1.0
    target: Target | None = None
    last_error_date: int = 0
    last_error_message: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    _state: dict[int, _Pending] = field(default_factory=dict)
    _in_flight: int = 0
    _last_success: float = float("-inf")
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _loop_task: asyncio.Task[None] | None = None
    _deliveries: set[asyncio.Task[None]] = field(default_factory=set)
    _http: aiohttp.ClientSession | None = None

    # --- the Bot API methods ------------------------------------------------------------------

    async def set_webhook(self, params: Params) -> str:
        """setWebhook; returns the description Telegram answers with."""
        url = params.opt_str("url") or ""
        if not url:
            return self.delete_webhook(params.flag("drop_pending_updates"))
        secret = params.opt_str("secret_token") or ""
        if len(secret) > MAX_SECRET:
            raise bad_request("secret token is too long")
        if not set(secret) <= SECRET_ALPHABET:
            raise bad_request("secret token contains unallowed characters")
        limit = LOCAL_MAX_CONNECTIONS if self.local_mode else MAX_CONNECTIONS
        wanted = params.opt_int("max_connections")
        connections = min(max(wanted or DEFAULT_MAX_CONNECTIONS, 1), limit)
        ip_address = await self._check_url(url)
        allowed = params.json_value("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise bad_request("can't parse allowed_updates JSON object")
        drop = params.flag("drop_pending_updates")
        new = Target(url, secret, connections, ip_address)
        if self.target == new and not drop:
            self.world.updates.set_allowed(allowed)
            return "Webhook is already set"
        if drop:
            self.world.updates.drop_pending()
        # A new webhook is a new delivery actor at Telegram: retries start afresh, at once.
        self._state.clear()
        self.world.updates.set_allowed(allowed)
        self.target = new
        self.last_error_date, self.last_error_message = 0, ""
        self._last_success = float("-inf")  # a new webhook starts on one connection
        self.world.updates.start_webhook()
        self.world.updates.on_push = self._wake.set
        self._ensure_running()
        self._wake.set()
        return "Webhook was set"

    def delete_webhook(self, drop_pending: bool) -> str:
        """deleteWebhook: polling works again; pending updates stay unless dropped."""
        if drop_pending:
            self.world.updates.drop_pending()
            self._state.clear()
        self._state.clear()  # Telegram's retry state goes with its webhook actor
        if self.target is None:
            return "Webhook is already deleted"
        self.target = None
        self.last_error_date, self.last_error_message = 0, ""
        self.world.updates.stop_webhook()
        self.world.updates.on_push = None
        return "Webhook was deleted"

    def info(self) -> dict[str, Any]:
        """getWebhookInfo (Client::JsonWebhookInfo): url is "" when none is set."""
        target = self.target
        out: dict[str, Any] = {
            "url": target.url if target else "",
            "has_custom_certificate": False,
            "pending_update_count": self.world.updates.unconfirmed,
        }
        if self.last_error_date:
            out["last_error_date"] = self.last_error_date
            out["last_error_message"] = self.last_error_message
        if target is not None:
            out["max_connections"] = target.max_connections
            out["ip_address"] = target.ip_address
        allowed = self.world.updates.allowed
        if allowed != DEFAULT_ALLOWED:
            out["allowed_updates"] = sorted(allowed)
        return out

    async def _check_url(self, url: str) -> str:
        """The URL's address, or the error setWebhook gives (WebhookActor::start_up)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise bad_request("invalid webhook URL specified") from None
        scheme = parts.scheme.lower() or "https"
        if scheme not in ("http", "https") or not parts.hostname:
            raise bad_request("invalid webhook URL specified")
        port = port or (443 if scheme == "https" else 80)
        if not self.local_mode:
            if scheme != "https":
                raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
            if port not in CLOUD_PORTS:
                raise bad_request(
                    "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
                )
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                parts.hostname, port, type=socket.SOCK_STREAM
            )
        except OSError:
            reason = "bad webhook: Failed to resolve host: Name or service not known"
            raise bad_request(reason) from None
        address = str(infos[0][4][0])
        if not self.local_mode:
            ip = ipaddress.ip_address(address)
            if ip.version != 4:
                raise bad_request("bad webhook: IPv6-only addresses are not allowed")
            if not ip.is_global:
                raise bad_request(f"bad webhook: IP address {address} is reserved")
        return address

    # --- delivery -----------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop delivering (the emulator is stopping)."""
        tasks = [t for t in (self._loop_task, *self._deliveries) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except BaseException:  # noqa: S110 - cancelled or failed: stopping either way
                pass
        self._loop_task = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            wait = self._start_due()
            if self.target is None and not self._deliveries:
                return
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def _start_due(self) -> float | None:
        """Start every delivery that may start now; seconds until the next one may (or None)."""
        target = self.target
        if target is None:
            return None
        now = time.monotonic()
        active = now - self._last_success <= ACTIVE_SECONDS
        limit = target.max_connections if active else 1
        # Each queue offers its front only; due fronts go in the order they became due.
        fronts: dict[tuple[str, int], tuple[dict[str, Any], _Pending]] = {}
        for update in self.world.updates.pending():
            state = self._state_of(update)
            fronts.setdefault(state.queue, (update, state))
        due = sorted(
            (s.wakeup_at, u["update_id"], u, s)
            for u, s in fronts.values()
            if not s.in_flight and s.wakeup_at <= now
        )
        for _, _, update, state in due:
            if self._in_flight >= limit:
                break
            state.in_flight = True
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._deliver(target, update, state))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        later = [s.wakeup_at for _, s in fronts.values() if not s.in_flight and s.wakeup_at > now]
        return max(min(later) - now, 0.0) if later else None

    def _state_of(self, update: dict[str, Any]) -> _Pending:
        update_id = update["update_id"]
        state = self._state.get(update_id)
        if state is None:
            state = self._state[update_id] = _Pending(
                queue=queue_of(update), expires_at=self._expiry(update)
            )
        return state

    def _expiry(self, update: dict[str, Any]) -> float:
        now = self.world.clock.now()
        if "callback_query" in update:
            return now + CALLBACK_TTL
        for kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
            body = update.get(kind)
            if body is not None:
                return float(body.get("edit_date") or body.get("date") or now) + MESSAGE_TTL
        return now + MESSAGE_TTL

    async def _deliver(self, target: Target, update: dict[str, Any], state: _Pending) -> None:
        self.on_activity(+1)
        try:
            update_id = update["update_id"]
            status, error, retry_after, method = await self._post(target, update)
            state.in_flight = False
            self._in_flight -= 1
            self.attempts.append(
                Attempt(update_id, status, error, target.secret or None, method and method[0])
            )
            if error:
                self._failed(update_id, state, error, retry_after)
                return
            self._last_success = time.monotonic()
            self._state.pop(update_id, None)
            self.world.updates.acknowledge(update_id)
            if method is not None:
                await self.execute(*method)
        finally:
            if state.in_flight:  # cancelled while posting
                state.in_flight = False
                self._in_flight -= 1
            self.on_activity(-1)
            self._wake.set()

    async def _post(
        self, target: Target, update: dict[str, Any]
    ) -> tuple[int | None, str, int, tuple[str, dict[str, Any]] | None]:
        """POST one update: (status, error or "", Retry-After seconds, method in the answer)."""
        headers = {"Content-Type": "application/json"}
        if target.secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = target.secret
        body = json.dumps(update, ensure_ascii=False).encode()
        try:
            async with self._client().post(
                target.url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                status = response.status
                if not 200 <= status <= 299:
                    error = f"Wrong response from the webhook: {status} {response.reason}"
                    return status, error, _retry_after(response.headers.get("Retry-After")), None
                return status, "", 0, await _answer_method(response)
        except aiohttp.ClientConnectorError:
            return None, "Connection refused", 0, None
        except TimeoutError:
            return None, "Read timeout expired", 0, None
        except aiohttp.ClientError:
            return None, "Webhook connection closed", 0, None

    def _failed(self, update_id: int, state: _Pending, error: str, retry_after: int) -> None:
        """WebhookActor::on_update_error: back off, or drop an update that would expire."""
        self.last_error_date = self.world.now()
        self.last_error_message = error
        retry_after = min(max(retry_after, 0), MAX_RETRY_AFTER)
        delay, effective = state.delay, retry_after
        if retry_after == 0 and state.fails > 0:
            cap = random.randint(MAX_RESEND, 2 * MAX_RESEND)  # noqa: S311 - Telegram's jitter
            delay = min(cap, delay * 2)
            effective = delay
        if self.world.clock.now() + effective > state.expires_at:
            self._state.pop(update_id, None)
            self.world.updates.forget(update_id)
            return
        state.delay = delay
        state.fails += 1
        state.wakeup_at = time.monotonic() + effective * self.backoff_scale

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, force_close=False),
                auto_decompress=True,
            )
        return self._http


def queue_of(update: dict[str, Any]) -> tuple[str, int]:
    """The delivery queue of an update (telegram-bot-api's ``webhook_queue_id``)."""
    for kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
        body = update.get(kind)
        if body is not None:
            return ("chat", int(body["chat"]["id"]))
    query = update.get("callback_query")
    if query is not None:
        return ("user", int(query["from"]["id"]))
    member = update.get("my_chat_member") or update.get("chat_member")
    if member is not None:
        return ("member", int(member["chat"]["id"]))
    return ("own", int(update["update_id"]))


def _retry_after(value: str | None) -> int:
    try:
        return int(value) if value else 0
    except ValueError:
        return 0


async def _answer_method(response: aiohttp.ClientResponse) -> tuple[str, dict[str, Any]] | None:
    """The method a 2xx webhook answer asks to run, with its parameters, if it names one."""
    kind = response.content_type
    params: dict[str, Any]
    if kind == "application/json":
        raw = await response.read()
        try:
            decoded = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return None
        if not isinstance(decoded, dict):
            return None
        params = decoded
    elif kind == "application/x-www-form-urlencoded":
        params = dict(parse_qsl(await response.text(), keep_blank_values=True))
    elif kind == "multipart/form-data":
        params = {}
        reader = aiohttp.MultipartReader(response.headers, response.content)
        while (part := await reader.next()) is not None:
            if isinstance(part, aiohttp.BodyPartReader) and part.name:
                params[part.name] = await part.text()
    else:
        return None
    method = str(params.pop("method", "") or "").lower()
    if not method or method in NOT_IN_RESPONSE or method.startswith("get"):
        return None
    return method, params
