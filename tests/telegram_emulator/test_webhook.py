"""Webhook delivery as telegram-bot-api does it: checks, queues, retries, answers with a method.

A small aiohttp server stands in for the bot's webhook: it records every POST and answers as each
test tells it to.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from telegram_emulator import Emulator
from tests.telegram_emulator.conftest import TOKEN

Reply = Callable[[dict[str, Any]], Awaitable[web.StreamResponse]]


async def ok(update: dict[str, Any]) -> web.StreamResponse:
    return web.Response()


@dataclass
class Receiver:
    """The bot's side of the webhook: what came, and how to answer."""

    url: str = ""
    reply: Reply = ok
    received: list[dict[str, Any]] = field(default_factory=list)
    secrets: list[str | None] = field(default_factory=list)
    started: list[float] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        update = json.loads(await request.read())
        self.received.append(update)
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        self.started.append(time.monotonic())
        return await self.reply(update)

    def texts(self) -> list[str]:
        return [u["message"]["text"] for u in self.received if "message" in u]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    hook.url = f"http://{host}:{port}/hook"
    yield hook
    await runner.cleanup()


@pytest.fixture
async def local() -> AsyncIterator[Emulator]:
    """An emulator that allows http:// loopback webhooks, as telegram-bot-api --local does."""
    async with Emulator(token=TOKEN, local_mode=True) as emulator:
        emulator.webhook.backoff_scale = 0.01
        yield emulator
    assert emulator.errors == []


async def call(emu: Emulator, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{emu.base_url}/bot{emu.token}/{method}", json=params) as resp,
    ):
        return resp.status, await resp.json()


async def until(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("url", "secret", "error"),
    [
        ("http://example.org/hook", "", "bad webhook: An HTTPS URL must be provided for webhook"),
        (
            "https://example.org:8080/hook",
            "",
            "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
        ),
        ("https://127.0.0.1/hook", "", "bad webhook: IP address 127.0.0.1 is reserved"),
        ("https://10.1.2.3:8443/hook", "", "bad webhook: IP address 10.1.2.3 is reserved"),
        ("https://203.0.113.9/hook", "s" * 257, "secret token is too long"),
        ("https://203.0.113.9/hook", "has space", "secret token contains unallowed characters"),
        ("ftp://example.org/hook", "", "invalid webhook URL specified"),
    ],
)
async def test_set_webhook_refuses_what_telegram_refuses(
    emu: Emulator, url: str, secret: str, error: str
) -> None:
    status, body = await call(emu, "setWebhook", url=url, secret_token=secret)
    assert status == 400 and body["description"] == f"Bad Request: {error}"
    assert emu.webhook.target is None


async def test_while_a_webhook_is_set_polling_is_refused_and_pending_updates_wait(
    local: Emulator, receiver: Receiver
) -> None:
    # The bot polls, nothing comes; then a webhook is set: the waiting poll ends with 409.
    poll = asyncio.create_task(call(local, "getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    receiver.reply = lambda update: asyncio.sleep(10, web.Response(status=502))  # busy
    status, _ = await call(local, "setWebhook", url=receiver.url, max_connections=500)
    assert status == 200
    assert await poll == (
        409,
        {
            "ok": False,
            "error_code": 409,
            "description": "Conflict: terminated by setWebhook request",
        },
    )
    status, body = await call(local, "getUpdates")
    assert status == 409 and "while webhook is active" in body["description"]
    # max_connections is clamped to Telegram's range (local mode allows up to 100,000).
    _, info = await call(local, "getWebhookInfo")
    assert info["result"]["url"] == receiver.url
    assert info["result"]["max_connections"] == 500
    # Deleted, polling works again and what was waiting is still there.
    user = local.user("A")
    await local.webhook.close()  # stop the delivery that is under way
    await call(local, "deleteWebhook")
    await user.send("kept")
    status, body = await call(local, "getUpdates")
    assert status == 200 and [u["message"]["text"] for u in body["result"]] == ["kept"]


async def test_each_update_is_posted_as_json_with_the_secret(
    local: Emulator, receiver: Receiver
) -> None:
    await call(local, "setWebhook", url=receiver.url, secret_token="s3cret_-X")
    user = local.user("A", username="aigerim")
    await user.send("hello")
    await local.settle()
    assert receiver.secrets == ["s3cret_-X"]
    update = receiver.received[0]
    assert update["update_id"] >= 1 and update["message"]["from"]["username"] == "aigerim"
    assert local.world.updates.unconfirmed == 0
    # No secret set, no header sent.
    await call(local, "setWebhook", url=receiver.url)
    await user.send("again")
    await local.settle()
    assert receiver.secrets[-1] is None


async def test_one_chat_at_a_time_in_order_other_chats_alongside(
    local: Emulator, receiver: Receiver
) -> None:
    release = asyncio.Event()

    async def slow_for_a(update: dict[str, Any]) -> web.StreamResponse:
        if update.get("message", {}).get("text", "").startswith("a"):
            await release.wait()
        return web.Response()

    await call(local, "setWebhook", url=receiver.url)
    warm = local.user("W")
    await warm.send("warm-up")  # a first success: more than one connection from now on
    await local.settle()
    receiver.reply = slow_for_a
    a, b = local.user("A"), local.user("B")
    await a.send("a1")
    await a.send("a2")
    await b.send("b1")
    await until(lambda: "b1" in receiver.texts())
    assert receiver.texts() == ["warm-up", "a1", "b1"]  # a2 waits for a1's answer
    release.set()
    await local.settle()
    assert receiver.texts() == ["warm-up", "a1", "b1", "a2"]


async def test_her_tap_and_her_message_are_separate_queues(
    local: Emulator, receiver: Receiver
) -> None:
    """Telegram queues messages by chat and callback queries by user: a message held at the
    webhook does not hold back her next tap."""
    release = asyncio.Event()

    async def hold_messages(update: dict[str, Any]) -> web.StreamResponse:
        if "message" in update and update["message"]["text"] != "warm-up":
            await release.wait()
        return web.Response()

    await call(local, "setWebhook", url=receiver.url)
    user = local.user("A")
    await user.send("warm-up")
    await local.settle()
    receiver.reply = hold_messages
    await user.send("a slow one")
    await until(lambda: len(receiver.received) == 2)
    await user.press_data(1, "exit")
    assert "callback_query" in receiver.received[-1]
    release.set()
    await local.settle()


async def test_a_new_or_failing_webhook_gets_one_connection(
    local: Emulator, receiver: Receiver
) -> None:
    in_flight, most = 0, 0

    async def count(update: dict[str, Any]) -> web.StreamResponse:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return web.Response()

    receiver.reply = count
    users = [local.user(f"U{i}") for i in range(4)]
    for user in users:
        await user.send("hi")
    await call(local, "setWebhook", url=receiver.url)
    await until(lambda: len(receiver.received) >= 1)
    await asyncio.sleep(0.02)
    assert most == 1  # nothing answered yet since it was set: one at a time
    await local.settle()
    for user in users:
        await user.send("again")
    await local.settle()
    assert most > 1  # answered a moment ago: in parallel


async def test_failures_are_retried_with_back_off_and_reported(
    local: Emulator, receiver: Receiver
) -> None:
    failures = 3

    async def flaky(update: dict[str, Any]) -> web.StreamResponse:
        nonlocal failures
        if failures:
            failures -= 1
            return web.Response(status=500)
        return web.Response()

    local.webhook.backoff_scale = 0.05
    receiver.reply = flaky
    await call(local, "setWebhook", url=receiver.url)
    user = local.user("A")
    await user.send("first")
    await user.send("second")
    await local.settle(timeout=10)
    assert receiver.texts() == ["first"] * 4 + ["second"]
    gaps = [round(b - a, 2) for a, b in zip(receiver.started, receiver.started[1:4], strict=False)]
    # At once, then 2 s and 4 s (scaled by 0.05 here).
    assert gaps[0] < 0.05 and 0.08 <= gaps[1] < 0.19 and 0.18 <= gaps[2] < 0.35, gaps
    _, info = await call(local, "getWebhookInfo")
    result = info["result"]
    assert (
        result["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
    )
    assert result["last_error_date"] >= int(local.world.now()) - 5
    assert result["pending_update_count"] == 0


async def test_retry_after_from_the_webhook_is_honoured(
    local: Emulator, receiver: Receiver
) -> None:
    answers = [web.Response(status=429, headers={"Retry-After": "3"}), web.Response()]

    async def busy(update: dict[str, Any]) -> web.StreamResponse:
        return answers.pop(0)

    local.webhook.backoff_scale = 0.1
    receiver.reply = busy
    await call(local, "setWebhook", url=receiver.url)
    await local.user("A").send("x")
    await local.settle(timeout=5)
    assert 0.28 <= receiver.started[1] - receiver.started[0] < 0.6


async def test_a_refused_connection_keeps_the_update_until_the_bot_listens(
    local: Emulator, receiver: Receiver
) -> None:
    url = receiver.url.replace("/hook", "/nowhere")  # a 404 first: the path is wrong
    await call(local, "setWebhook", url=url)
    await local.user("A").send("hello")
    await until(lambda: local.webhook.last_error_message != "")
    assert local.webhook.last_error_message == "Wrong response from the webhook: 404 Not Found"
    with_closed_port = "http://127.0.0.1:9/hook"  # nothing listens on the discard port
    await call(local, "setWebhook", url=with_closed_port)
    await until(lambda: local.webhook.last_error_message == "Connection refused")
    assert local.world.updates.unconfirmed == 1
    await call(local, "setWebhook", url=receiver.url)
    await local.settle(timeout=5)
    assert receiver.texts() == ["hello"]


async def test_no_answer_in_time_is_a_failure(local: Emulator, receiver: Receiver) -> None:
    slow = [True]

    async def stall(update: dict[str, Any]) -> web.StreamResponse:
        if slow.pop(0) if slow else False:
            await asyncio.sleep(1)
        return web.Response()

    local.webhook.timeout = 0.2
    receiver.reply = stall
    await call(local, "setWebhook", url=receiver.url)
    await local.user("A").send("x")
    await until(lambda: local.webhook.last_error_message == "Read timeout expired")
    await local.settle(timeout=5)
    assert receiver.texts() == ["x", "x"]


async def test_a_method_in_the_answer_is_run_and_its_result_is_lost(
    local: Emulator, receiver: Receiver
) -> None:
    user = local.user("A")

    async def answer_with_methods(update: dict[str, Any]) -> web.StreamResponse:
        text = update["message"]["text"]
        if text == "json":
            body = {"method": "sendMessage", "chat_id": user.id, "text": "from json"}
            return web.json_response(body)
        if text == "form":
            form = f"method=sendMessage&chat_id={user.id}&text=from+form"
            return web.Response(text=form, content_type="application/x-www-form-urlencoded")
        if text == "refused":  # no such chat: the error reaches nobody
            return web.json_response({"method": "sendMessage", "chat_id": 1, "text": "x"})
        return web.json_response({"method": "getMe"})  # get* methods are never run

    receiver.reply = answer_with_methods
    await call(local, "setWebhook", url=receiver.url)
    for text in ("json", "form", "refused", "get"):
        await user.send(text)
        await local.settle()
    assert [m.text for m in user.visible if m.from_bot] == ["from json", "from form"]
    in_response = [(c.method, c.via) for c in local.calls if c.via == "webhook"]
    assert in_response == [("sendMessage", "webhook")] * 3


async def test_an_update_that_outlives_its_expiry_is_dropped(
    local: Emulator, receiver: Receiver
) -> None:
    async def down(update: dict[str, Any]) -> web.StreamResponse:
        return web.Response(status=502)

    receiver.reply = down
    await call(local, "setWebhook", url=receiver.url)
    user = local.user("A")
    await user.send("hi")
    await until(lambda: len(receiver.received) >= 2)
    local.clock.advance(hours=25)  # messages wait a day, no longer
    await until(lambda: local.world.updates.unconfirmed == 0)
    await asyncio.sleep(0.05)
    tries = len(receiver.received)
    await asyncio.sleep(0.1)
    assert len(receiver.received) == tries


async def test_drop_pending_updates_forgets_what_waited(
    local: Emulator, receiver: Receiver
) -> None:
    await local.user("A").send("old")
    await call(local, "setWebhook", url=receiver.url, drop_pending_updates=True)
    await local.user("A").send("new")
    await local.settle()
    assert receiver.texts() == ["new"]
