"""The staff API's routes (version 1). Everything it sends or takes is ciphertext, ids, days,
sizes and key fingerprints; see staff_api/README.md for the contract.

    GET  /v1/health                 unsigned: 200 when the vault answers
    GET  /v1/team                   the caseworkers' public keys (events are sealed to all)
    GET  /v1/index?since=YYYY-MM-DD reports received, events recorded and her follow-up messages
                                    kept on or after that day; the reply keys of live reports
    POST /v1/fetch                  sealed envelopes of reports, events and messages, by id
    POST /v1/events                 keep one sealed case event beside its report
    POST /v1/audit                  the desk reports an export (audited like a fetch)
    GET  /v1/audit?since=YYYY-MM-DD the staff audit log
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

from aiohttp import web

from staff_api.auth import REFUSED, body, caller, gate
from staff_api.config import Settings
from storage.errors import StorageError
from storage.events import EventId
from storage.followups import MessageId
from storage.keys import PublicKey
from storage.report import ReportId
from storage.signing import NonceCache
from storage.staff_store import EXPORT, MAX_BATCH, EventRefused, StaffStore

log = logging.getLogger(__name__)

API_VERSION = 1
STORE = web.AppKey("store", StaffStore)
TEAM = web.AppKey("team", tuple)
# A fetch answer stops adding envelopes past this many bytes (at least one is always sent); the
# rest are listed as deferred and fetched again. Keeps one answer's memory bounded.
FETCH_BUDGET = 16 * 1024 * 1024


class BadRequest(Exception):
    """The request was signed but its content is malformed: 400, no detail."""


def _json(data: object, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


def _document(request: web.Request) -> dict[str, Any]:
    try:
        document = json.loads(body(request))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadRequest from None
    if not isinstance(document, dict):
        raise BadRequest
    return document


def _ids(value: object, kind: type[ReportId]) -> list[Any]:
    if not isinstance(value, list) or len(value) > MAX_BATCH:
        raise BadRequest
    try:
        return [kind(bytes.fromhex(v)) for v in value if isinstance(v, str)]
    except ValueError:
        raise BadRequest from None


def _day(request: web.Request) -> date | None:
    text = request.query.get("since")
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadRequest from None
    if day.isoformat() != text:
        raise BadRequest
    return day


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


async def health(request: web.Request) -> web.Response:
    """Unsigned liveness and readiness: the vault answers a query."""
    try:
        await request.app[STORE].index(request.app[STORE].today())
    except StorageError:
        return _json({"status": "vault unavailable", "api": API_VERSION}, 503)
    return _json({"status": "ok", "api": API_VERSION})


async def team(request: web.Request) -> web.Response:
    """Every caseworker key (case events are sealed to all of them) and who is asking."""
    keys: tuple[PublicKey, ...] = request.app[TEAM]
    return _json(
        {
            "team": [{"public_key": k.text, "fingerprint": k.fingerprint} for k in keys],
            "you": caller(request).fingerprint,
        }
    )


async def index(request: web.Request) -> web.Response:
    """Reports and events on or after `since` (all without it): ids, days, sizes, no content."""
    found = await request.app[STORE].index(_day(request))
    return _json(
        {
            "today": found.today,
            "reports": [[r.id.hex, r.received_day, r.expires_day, r.size] for r in found.reports],
            "events": [[e.id.hex, e.report_id.hex, e.day, e.size] for e in found.events],
            "messages": [[m.id.hex, m.report_id.hex, m.day, m.size] for m in found.messages],
            "reply_keys": {rid.hex: key for rid, key in found.reply_keys.items()},
        }
    )


async def fetch(request: web.Request) -> web.Response:
    """Envelopes by id, within one answer's budget; the rest listed as deferred."""
    document = _document(request)
    report_ids = _ids(document.get("reports", []), ReportId)
    event_ids = _ids(document.get("events", []), EventId)
    message_ids = _ids(document.get("messages", []), MessageId)
    store = request.app[STORE]
    reports: dict[str, str] = {}
    deferred: list[str] = []
    spent = 0
    if report_ids:
        for rid, envelope in (
            await store.fetch_reports(report_ids, caller(request).fingerprint)
        ).items():
            if spent and spent + len(envelope) > FETCH_BUDGET:
                deferred.append(rid.hex)
                continue
            spent += len(envelope)
            reports[rid.hex] = _b64(envelope)
    events: dict[str, list[str]] = {}
    if event_ids:
        for eid, (rid, envelope) in (await store.fetch_events(event_ids)).items():
            events[eid.hex] = [rid.hex, _b64(envelope)]
    messages: dict[str, list[str]] = {}
    deferred_messages: list[str] = []
    if message_ids:
        fetched = await store.fetch_messages(message_ids, caller(request).fingerprint)
        for mid, (rid, envelope) in fetched.items():
            # Her messages may carry files: the same budget as reports bounds one answer.
            if spent and spent + len(envelope) > FETCH_BUDGET:
                deferred_messages.append(mid.hex)
                continue
            spent += len(envelope)
            messages[mid.hex] = [rid.hex, _b64(envelope)]
    return _json(
        {
            "reports": reports,
            "events": events,
            "messages": messages,
            "deferred": deferred,
            "deferred_messages": deferred_messages,
        }
    )


async def add_event(request: web.Request) -> web.Response:
    """Keep one sealed case event: 201 new, 200 already kept, 404 no such report, 409 another
    event under this id, 400 malformed."""
    document = _document(request)
    try:
        event_id = EventId(bytes.fromhex(str(document["id"])))
        report_id = ReportId(bytes.fromhex(str(document["report"])))
        envelope = base64.b64decode(str(document["envelope"]), validate=True)
    except (KeyError, ValueError, binascii.Error):
        raise BadRequest from None
    try:
        created = await request.app[STORE].add_event(
            event_id, report_id, envelope, caller(request).fingerprint
        )
    except EventRefused as exc:
        status = {"no-report": 404, "conflict": 409}.get(exc.reason, 400)
        return _json({"stored": False}, status)
    return _json({"stored": created}, 201 if created else 200)


async def record(request: web.Request) -> web.Response:
    """The desk reports an export of these reports (audited under the signer's key)."""
    document = _document(request)
    if document.get("action") != EXPORT:
        raise BadRequest
    ids = _ids(document.get("reports"), ReportId)
    if not ids:
        raise BadRequest
    recorded = await request.app[STORE].record(ids, caller(request).fingerprint, EXPORT)
    return _json({"recorded": recorded})


async def audit_log(request: web.Request) -> web.Response:
    """The staff audit log from `since` on: day, key fingerprint, action, report id."""
    entries = await request.app[STORE].audit_log(_day(request))
    return _json({"entries": [[e.day, e.actor, e.action, e.report_id.hex] for e in entries]})


@web.middleware
async def malformed_is_400(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
    """A signed request with a bad body gets 400 and no detail; a store failure 503."""
    try:
        response: web.StreamResponse = await handler(request)
    except BadRequest:
        return web.Response(status=400, headers={"Cache-Control": "no-store"})
    except StorageError as exc:
        log.error("vault error: %s", type(exc).__name__)
        return web.Response(status=503, headers={"Cache-Control": "no-store"})
    return response


def build_app(
    settings: Settings, store: StaffStore, nonces: NonceCache | None = None
) -> web.Application:
    """The aiohttp application over an open store."""
    signers = settings.by_fingerprint()
    app = web.Application(
        middlewares=[gate(lambda: signers, nonces or NonceCache()), malformed_is_400],
        client_max_size=1024 * 1024,
    )
    app[STORE] = store
    app[TEAM] = settings.team
    app[REFUSED] = Counter()
    app.router.add_get("/v1/health", health)
    app.router.add_get("/v1/team", team)
    app.router.add_get("/v1/index", index)
    app.router.add_post("/v1/fetch", fetch)
    app.router.add_post("/v1/events", add_event)
    app.router.add_post("/v1/audit", record)
    app.router.add_get("/v1/audit", audit_log)
    return app
