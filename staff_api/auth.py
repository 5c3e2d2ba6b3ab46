"""The gate every request but the health check passes: size, signature, replay, body digest.

Cheap refusals come first and nothing is read from an unauthenticated request's body: a request
that is too big, unsigned, from an unknown key, stale or replayed costs a few header look-ups and
at most one Ed25519 verification. Refusals carry no detail (400 or 401, an empty body); the
reason is counted, never logged per request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.typedefs import Middleware

from storage.keys import PublicKey
from storage.signing import BadSignature, NonceCache, verify_request

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC_PATHS = frozenset({"/v1/health"})
# The largest honest body: one case event (256 KiB envelope) in base64 inside JSON.
MAX_BODY = 512 * 1024
MAX_HEADER_BYTES = 8 * 1024
REFUSED = web.AppKey("refused", Counter)
CALLER_KEY = web.RequestKey("caller", PublicKey)
BODY_KEY = web.RequestKey("body", bytes)


def _refuse(status: int) -> web.Response:
    return web.Response(status=status, headers={"Cache-Control": "no-store"})


def gate(team: Callable[[], dict[str, PublicKey]], nonces: NonceCache) -> Middleware:
    """The signature middleware for a team (fingerprint -> key) and a nonce cache."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PUBLIC_PATHS:
            return await handler(request)
        refused: Counter[str] = request.app[REFUSED]
        length = request.content_length
        has_body = request.body_exists
        if (length is not None and length > MAX_BODY) or (has_body and length is None):
            refused["oversized or unframed body"] += 1  # chunked bodies are not accepted
            return _refuse(400)
        if request.method in ("GET", "HEAD") and has_body:
            refused["body on a GET"] += 1
            return _refuse(400)
        if sum(len(k) + len(v) for k, v in request.headers.items()) > MAX_HEADER_BYTES:
            refused["oversized headers"] += 1
            return _refuse(400)
        keys = team()
        try:
            verified = verify_request(request.method, request.raw_path, request.headers, keys.get)
            nonces.check_and_remember(verified.nonce, verified.expires, datetime.now(UTC))
            # Framed by Content-Length, at most MAX_BODY (checked above). ``content.read(n)``
            # would return only what has arrived so far: a large body cut short failed its
            # digest now and then.
            body = await request.read() if has_body else b""
            verified.check_body(body)
        except BadSignature as exc:
            refused[exc.reason] += 1  # a fixed phrase: the message may quote the request
            return _refuse(401)
        request[CALLER_KEY] = verified.key
        request[BODY_KEY] = body
        return await handler(request)

    return check


def caller(request: web.Request) -> PublicKey:
    """The key that signed this request (set by the gate)."""
    return request[CALLER_KEY]


def body(request: web.Request) -> bytes:
    """The request's body, already read and checked against its signed digest by the gate."""
    return request[BODY_KEY]
