"""The HTTP side: Telegram's URL scheme, body formats, response shapes, faults and the call log.

The access log is off on purpose: the token travels in every request URL, and tests must be able
to prove that nothing about a conversation reaches a log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from telegram_emulator.errors import ApiError
from telegram_emulator.faults import Fault, FaultPlan
from telegram_emulator.methods import METHODS, BotApi
from telegram_emulator.params import Params, normalise

log = logging.getLogger(__name__)


@dataclass
class ApiCall:
    """One request the bot made: canonical method name, decoded params, monotonic time."""

    method: str
    params: dict[str, Any]
    at: float
    fault: Fault | None = None  # the injected fault this call met, if any
    # "request": the bot called the API; "webhook": a method carried by a webhook answer.
    via: str = "request"


@dataclass
class Traffic:
    """What ``settle`` needs to know: requests in flight and when anything last happened."""

    in_flight: int = 0  # requests other than getUpdates (a long poll is idle by design)
    last_activity: float = field(default_factory=time.monotonic)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def touch(self, *, activity: bool = True) -> None:
        """Note a change; ``activity`` restarts the quiet period."""
        if activity:
            self.last_activity = time.monotonic()
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_change(self, seconds: float) -> None:
        """Sleep until the next change or ``seconds``."""
        event = self._changed
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                await event.wait()
        except TimeoutError:
            pass


# The name fault rules use for file downloads (``/file/bot<token>/<path>``), not a Bot API method.
DOWNLOAD = "file"


class ApiServer:
    """The aiohttp application serving one bot token."""

    def __init__(self, api: BotApi, token: str, faults: FaultPlan) -> None:
        self.api = api
        self.token = token
        self.faults = faults
        self.calls: list[ApiCall] = []
        self.errors: list[BaseException] = []  # emulator bugs, kept for tests to inspect
        self.traffic = Traffic()

    def app(self) -> web.Application:
        """Routes: ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        lowered = request.match_info["method"].lower()
        if lowered not in METHODS:
            return _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        name, handler = METHODS[lowered]
        polling = lowered == "getupdates"
        if not polling:
            self.traffic.in_flight += 1
        self.traffic.touch(activity=not polling)
        try:
            try:
                params = normalise(await _read_params(request))
            except ValueError:
                return _json(400, ApiError(400, "Bad Request: can't parse request body").to_api())
            fault = self.faults.take(lowered, params.get("chat_id"))
            self.calls.append(ApiCall(name, params, time.monotonic(), fault))
            if fault is not None and fault.delay > 0:
                await asyncio.sleep(fault.delay)
            if fault is not None and not fault.after and (fault.drop or fault.status):
                return _fail(request, fault)
            try:
                result = await handler(self.api, Params(params))
            except ApiError as exc:
                body, status = exc.to_api(), exc.status
            except Exception as exc:
                # An emulator bug. aiohttp would log the exception text, which may quote message
                # content; keep the exception for tests and log only its type.
                self.errors.append(exc)
                log.error("emulator failed in %s: %s", name, type(exc).__name__)
                body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
                status = 500
            else:
                body, status = {"ok": True, "result": result}, 200
            if polling and body.get("result"):
                self.traffic.touch()  # the bot now has work: the quiet period starts over
            if fault is not None and fault.after and (fault.drop or fault.status):
                return _fail(request, fault)
            return _json(status, body)
        finally:
            if not polling:
                self.traffic.in_flight -= 1
                self.traffic.touch()

    async def call_in_response(self, lowered: str, raw: dict[str, Any]) -> None:
        """Run a method a webhook answer carried: as a request would run, answer to nobody.

        Telegram executes it with the bot's token and never tells the bot how it went, so an
        error here is only kept in the call log (an unknown method is logged as such and skipped).
        """
        self.traffic.in_flight += 1
        self.traffic.touch()
        try:
            if lowered not in METHODS:
                self.calls.append(ApiCall(lowered, dict(raw), time.monotonic(), via="webhook"))
                return
            name, handler = METHODS[lowered]
            params = normalise(raw)
            fault = self.faults.take(lowered, params.get("chat_id"))
            self.calls.append(ApiCall(name, params, time.monotonic(), fault, via="webhook"))
            if fault is not None and fault.delay > 0:
                await asyncio.sleep(fault.delay)
            if fault is not None and not fault.after and (fault.drop or fault.status):
                return
            try:
                await handler(self.api, Params(params))
            except ApiError:
                pass
            except Exception as exc:
                self.errors.append(exc)
                log.error("emulator failed in %s: %s", name, type(exc).__name__)
        finally:
            self.traffic.in_flight -= 1
            self.traffic.touch()

    async def _file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        path = request.match_info["path"]
        self.traffic.in_flight += 1  # a download under way is work settle waits for
        self.traffic.touch()
        try:
            # Faults on cue for downloads too, under the name "file" (a slow download: a delay).
            fault = self.faults.take(DOWNLOAD)
            if fault is not None and fault.delay > 0:
                await asyncio.sleep(fault.delay)
            if fault is not None and (fault.drop or fault.status):
                return _fail(request, fault)
            for stored in self.api.world.files.values():
                if stored.path == path:
                    # Written here, not after returning, so that in flight covers the transfer.
                    response = web.StreamResponse(
                        headers={"Content-Type": "application/octet-stream"}
                    )
                    response.content_length = len(stored.data)
                    await response.prepare(request)
                    await response.write(stored.data)
                    await response.write_eof()
                    return response
            return _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        finally:
            self.traffic.in_flight -= 1
            self.traffic.touch()


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string plus a JSON, urlencoded or multipart body (files are kept as bytes)."""
    params: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return params
    if request.content_type == "application/json":
        body = json.loads(await request.text() or "{}")
        if not isinstance(body, dict):
            raise ValueError("a JSON body must be an object")
        params.update(body)
        return params
    for key, value in (await request.post()).items():
        params[key] = value if isinstance(value, str | bytes | bytearray) else value.file.read()
    return params


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _fail(request: web.Request, fault: Fault) -> web.StreamResponse:
    """Answer with the fault's error, or drop the connection without any answer."""
    body = fault.error_body()
    if body is not None:
        return _json(int(body["error_code"]), body)
    # Drop: close the socket under aiohttp; the client sees a disconnect, never a response.
    if request.transport is not None:
        request.transport.close()
    raise asyncio.CancelledError
