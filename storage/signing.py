"""Signed requests to the staff API (RFC 9421 HTTP Message Signatures, RFC 9530 Content-Digest).

A caseworker's desk signs every request with the Ed25519 key of her version 2 key file; the staff
API checks it against the team's public keys. This module is the one definition of that
contract, used by both sides, on top of the `http-message-signatures` library:

- algorithm `ed25519`, `keyid` = the key's fingerprint, `tag` = `safe-report-staff/v1`;
- covered: `@method`, `@path`, `@query`, and `content-digest` (SHA-256 of the body) whenever the
  request has a body; parameters `created`, `expires` (created + 60 s) and a random `nonce`;
- a verifier refuses a signature older than `MAX_AGE` or created in the future (5 s of skew), and
  a nonce it has seen within `MAX_AGE` (`NonceCache`), so a captured request cannot be replayed.

`@authority` is not covered: behind the operator's TLS proxy the host the desk names and the host
the API sees may differ. The path must reach the API unchanged (no prefix added by the proxy).
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from storage.errors import StorageError
from storage.keys import PrivateKey, PublicKey

TAG = "safe-report-staff/v1"
LABEL = "staff"
MAX_AGE = timedelta(seconds=60)
COMPONENTS = ("@method", "@path", "@query")
BODY_COMPONENTS = (*COMPONENTS, "content-digest")
# Longer signature headers are refused before any parsing: an honest one is about 300 bytes.
MAX_SIGNATURE_FIELD = 1024
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")


class BadSignature(StorageError):
    """A request's signature is missing, malformed, stale, replayed, from an unknown key, or
    does not verify. Its message is for tests and may quote the request; `reason` is one of a
    few fixed phrases, safe to count and to log. Clients get no detail."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


# The library's messages can quote the request (a covered component's name, a parameter): they
# are reduced to these fixed reasons, so that counting refusals cannot be made to grow by
# sending new names, nor put a stranger's text in the operator's log.
_LIBRARY_REASONS = (
    ("age exceeds", "stale"),
    ("in the future", "created in the future"),
    ("in the past", "expired"),
)
INVALID = "invalid or malformed signature"


def _library_reason(message: str) -> str:
    return next((reason for part, reason in _LIBRARY_REASONS if part in message), INVALID)


@dataclass
class _Message:
    """The request shape the library reads: method, absolute URL, headers."""

    method: str
    url: str
    headers: Any


class _Keys(HTTPSignatureKeyResolver):
    def __init__(self, resolve: Callable[[str], PublicKey | None] | None, key: PrivateKey | None):
        self._resolve = resolve
        self._key = key
        self.found: PublicKey | None = None

    def resolve_public_key(self, key_id: str) -> Any:
        public = self._resolve(key_id) if self._resolve is not None else None
        if public is None or not public.can_sign:
            raise BadSignature("unknown key")
        self.found = public
        return public.verify_key()

    def resolve_private_key(self, key_id: str) -> Any:
        assert self._key is not None
        return self._key.signing_key()


def sign_request(
    key: PrivateKey,
    method: str,
    url: str,
    body: bytes | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers that sign this request (`Signature-Input`, `Signature`, and `Content-Digest`
    when there is a body). `now` lets a desk whose clock is off sign in the server's time."""
    created = (now or datetime.now(UTC)).replace(microsecond=0)
    headers: dict[str, str] = {}
    message = _Message(method=method.upper(), url=url, headers=headers)
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519, key_resolver=_Keys(None, key)
    )
    signer.sign(
        message,
        key_id=key.public.fingerprint,
        created=created,
        expires=created + MAX_AGE,
        nonce=secrets.token_urlsafe(24),
        label=LABEL,
        tag=TAG,
        covered_component_ids=COMPONENTS,
        body=body,  # the library adds Content-Digest (sha-256) and covers it
    )
    return dict(message.headers)


@dataclass(frozen=True, slots=True)
class Verified:
    """A request whose signature checked out: who signed it and what its body must hash to."""

    key: PublicKey
    nonce: str
    expires: datetime
    signs_body: bool
    _message: _Message
    _results: list[Any]

    def check_body(self, body: bytes) -> None:
        """Raise `BadSignature` unless the signed Content-Digest matches `body` (an empty body
        with no digest passes)."""
        verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=None)
        try:
            verifier.verify_body(self._message, self._results, body)
        except HTTPMessageSignaturesException as exc:
            raise BadSignature(f"body: {exc}", "body does not match its digest") from None


def verify_request(
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    resolve: Callable[[str], PublicKey | None],
) -> Verified:
    """Check a request's signature headers (not yet its body: see `Verified.check_body`).

    Cheap refusals come first (missing or oversized fields); then one Ed25519 verification.
    Replay is the caller's check, with a `NonceCache`, after this succeeds.
    """
    for name in ("Signature-Input", "Signature"):
        value = headers.get(name)
        if value is None or len(value) > MAX_SIGNATURE_FIELD:
            raise BadSignature(f"{name} missing or too long")
    keys = _Keys(resolve, None)
    message = _Message(method=method, url=f"http://staff-api{path_and_query}", headers=headers)
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=keys)
    has_body = "Content-Digest" in headers
    try:
        results = verifier.verify(
            message,
            max_age=MAX_AGE,
            expect_tag=TAG,
            require_components=BODY_COMPONENTS if has_body else COMPONENTS,
        )
    except BadSignature:
        raise
    except HTTPMessageSignaturesException as exc:
        raise BadSignature(str(exc), _library_reason(str(exc))) from None
    except Exception as exc:  # the library on input it did not expect: refused all the same
        raise BadSignature(type(exc).__name__, INVALID) from None
    if len(results) != 1 or keys.found is None:
        raise BadSignature("expected exactly one signature")
    params = results[0].parameters
    nonce, expires = params.get("nonce"), params.get("expires")
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        raise BadSignature("nonce missing or malformed")
    if not isinstance(expires, int) or expires - int(params["created"]) > MAX_AGE.total_seconds():
        raise BadSignature("expires missing or beyond the maximum age")
    return Verified(
        key=keys.found,
        nonce=nonce,
        expires=datetime.fromtimestamp(expires, UTC),
        signs_body=has_body,
        _message=message,
        _results=results,
    )


class NonceCache:
    """Nonces seen within the maximum age, bounded: a replay inside the window is caught, and a
    flood of signed requests cannot grow it without limit (when full, requests are refused until
    old nonces expire: failing closed, not forgetting)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[str, datetime] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def check_and_remember(self, nonce: str, expires: datetime, now: datetime) -> None:
        """Remember `nonce` until `expires` (plus skew); raise `BadSignature` if it was seen."""
        self._forget_expired(now)
        if nonce in self._seen:
            raise BadSignature("replayed nonce")
        if len(self._seen) >= self.capacity:
            raise BadSignature("nonce cache full")
        keep_until = expires + timedelta(seconds=HTTPMessageVerifier.max_clock_skew.total_seconds())
        # Insertion order is near enough expiry order (every nonce lives the same window), so
        # forgetting from the front stops at the first live one.
        self._seen[nonce] = keep_until

    def _forget_expired(self, now: datetime) -> None:
        while self._seen:
            nonce, until = next(iter(self._seen.items()))
            if until >= now:
                return
            del self._seen[nonce]
