"""Where the desk's sealed reports come from and its case events go: the staff API over signed
HTTP (`RemoteSource`), or a vault file directly (`LocalSource`, the `--db` mode). Both speak in
sealed envelopes, ids and days; neither ever sees plaintext.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from storage.errors import StorageError
from storage.events import EventId
from storage.followups import MessageId
from storage.keys import PrivateKey, PublicKey, load_recipients, parse_public_key
from storage.report import ReportId
from storage.signing import sign_request
from storage.staff_store import (
    EXPORT,
    MAX_BATCH,
    AuditEntry,
    EventRefused,
    Index,
    IndexedEvent,
    IndexedMessage,
    IndexedReport,
    StaffStore,
)

API = "/v1"
# A desk whose clock is off by more than this signs in the server's time instead (learned from
# each answer's Date): a laptop's clock must not lock her out of her cases.
CLOCK_TOLERANCE = timedelta(seconds=20)
MAX_ANSWER = 64 * 1024 * 1024


def _server_day(value: object) -> str:
    """A day as the staff API sends it (YYYY-MM-DD); anything else is a malformed answer. The
    desk stores these days in its cache and starts its next sync from one of them."""
    text = str(value)
    if date.fromisoformat(text).isoformat() != text:
        raise ValueError(text)
    return text


def _size(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("size")
    return value


# What a hostile or broken server's answer can raise while it is read (a list where an object
# was expected, a day that is not a day, ...): each means "malformed", never a crash.
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, binascii.Error, StorageError)


class SourceError(Exception):
    """The source could not do it. `reason`: unreachable, refused (the key is not accepted),
    missing (no such report), or failed."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Fetched:
    """Envelopes by id; `deferred` reports (and `deferred_messages`) did not fit this answer and
    are fetched again. `messages`: her follow-up messages, with their report ids."""

    reports: dict[ReportId, bytes] = field(default_factory=dict)
    events: dict[EventId, tuple[ReportId, bytes]] = field(default_factory=dict)
    deferred: list[ReportId] = field(default_factory=list)
    messages: dict[MessageId, tuple[ReportId, bytes]] = field(default_factory=dict)
    deferred_messages: list[MessageId] = field(default_factory=list)


class Source(Protocol):
    """What the desk needs from wherever the reports are."""

    label: str

    async def team(self) -> list[PublicKey]:
        """Every caseworker key (case events are sealed to all)."""

    async def index(self, since: date | None) -> Index:
        """Reports and events on or after `since`."""

    async def fetch(
        self,
        reports: Sequence[ReportId],
        events: Sequence[EventId],
        messages: Sequence[MessageId] = (),
    ) -> Fetched:
        """Envelopes by id (at most `MAX_BATCH` of each)."""

    async def post_event(self, event_id: EventId, report_id: ReportId, envelope: bytes) -> None:
        """Keep one sealed case event; returns once it is stored."""

    async def record_export(self, report_ids: Sequence[ReportId]) -> None:
        """Put an export of these reports in the audit log (before the file is made)."""

    async def audit(self, since: date | None) -> list[AuditEntry]:
        """The staff audit log from `since` on."""

    async def close(self) -> None:
        """Release connections."""


def check_server_url(url: str) -> str:
    """An https URL, or http on loopback only (a sandbox); without a trailing slash."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if parts.scheme == "https" and host:
        return url.rstrip("/")
    if parts.scheme == "http" and loopback:
        return url.rstrip("/")
    raise SourceError("failed", "the staff API is reached over https (http only on 127.0.0.1)")


class RemoteSource:
    """The staff API, every request signed with her key."""

    def __init__(self, base_url: str, key: PrivateKey, *, timeout: float = 60.0) -> None:
        self.base = check_server_url(base_url)
        self.label = self.base
        self._key = key
        self._offset = timedelta(0)
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout), raise_for_status=False
        )

    async def _call(self, method: str, path: str, document: object = None) -> Any:
        body = None if document is None else json.dumps(document).encode("utf-8")
        for attempt in (1, 2):
            now = datetime.now(UTC) + self._offset
            headers = sign_request(self._key, method, self.base + path, body, now=now)
            if body is not None:
                headers["Content-Type"] = "application/json"
            try:
                async with self._session.request(
                    method, self.base + path, data=body, headers=headers
                ) as response:
                    skewed = self._learn_clock(response.headers.get("Date"))
                    if response.status == 401 and skewed and attempt == 1:
                        continue  # signed in the wrong time: once more in the server's
                    if response.status == 401:
                        raise SourceError("refused", "the staff API does not accept this key")
                    if response.status == 404:
                        raise SourceError("missing")
                    if response.status >= 400:
                        raise SourceError("failed", f"the staff API answered {response.status}")
                    data = bytearray()
                    async for chunk in response.content.iter_chunked(256 * 1024):
                        data += chunk
                        if len(data) > MAX_ANSWER:
                            raise SourceError("failed", "answer too large")
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise SourceError("unreachable", type(exc).__name__) from None
            try:
                return json.loads(data)
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                raise SourceError("failed", "not JSON") from None
        raise SourceError("refused", "the staff API does not accept this key")

    def _learn_clock(self, date_header: str | None) -> bool:
        """Remember how far our clock is from the server's; True if that changed the offset."""
        if not date_header:
            return False
        try:
            server = parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            return False
        offset = server - datetime.now(UTC)
        if abs(offset) < CLOCK_TOLERANCE:
            changed = self._offset != timedelta(0)
            self._offset = timedelta(0)
            return changed
        changed = abs(offset - self._offset) >= CLOCK_TOLERANCE
        self._offset = offset
        return changed

    async def team(self) -> list[PublicKey]:
        answer = await self._call("GET", f"{API}/team")
        try:
            return [parse_public_key(str(m["public_key"])) for m in answer["team"]]
        except _MALFORMED:
            raise SourceError("failed", "malformed team") from None

    async def index(self, since: date | None) -> Index:
        query = f"?since={since.isoformat()}" if since is not None else ""
        answer = await self._call("GET", f"{API}/index{query}")
        try:
            return Index(
                today=_server_day(answer["today"]),
                reports=[
                    IndexedReport(
                        ReportId(bytes.fromhex(r)), _server_day(d), _server_day(x), _size(s)
                    )
                    for r, d, x, s in answer["reports"]
                ],
                events=[
                    IndexedEvent(
                        EventId(bytes.fromhex(e)),
                        ReportId(bytes.fromhex(r)),
                        _server_day(d),
                        _size(s),
                    )
                    for e, r, d, s in answer["events"]
                ],
                # Absent from a staff API older than follow-up: then no case has a receipt.
                messages=[
                    IndexedMessage(
                        MessageId(bytes.fromhex(m)), ReportId(bytes.fromhex(r)), str(d), int(s)
                    )
                    for m, r, d, s in answer.get("messages", [])
                ],
                reply_keys={
                    ReportId(bytes.fromhex(r)): str(line)
                    for r, line in answer.get("reply_keys", {}).items()
                },
            )
        except _MALFORMED:
            raise SourceError("failed", "malformed index") from None

    async def fetch(
        self,
        reports: Sequence[ReportId],
        events: Sequence[EventId],
        messages: Sequence[MessageId] = (),
    ) -> Fetched:
        asked: dict[str, list[str]] = {
            "reports": [r.hex for r in reports],
            "events": [e.hex for e in events],
        }
        if messages:
            asked["messages"] = [m.hex for m in messages]
        answer = await self._call("POST", f"{API}/fetch", asked)
        try:
            return Fetched(
                reports={
                    ReportId(bytes.fromhex(r)): base64.b64decode(b, validate=True)
                    for r, b in answer["reports"].items()
                },
                events={
                    EventId(bytes.fromhex(e)): (
                        ReportId(bytes.fromhex(r)),
                        base64.b64decode(b, validate=True),
                    )
                    for e, (r, b) in answer["events"].items()
                },
                deferred=[ReportId(bytes.fromhex(r)) for r in answer["deferred"]],
                messages={
                    MessageId(bytes.fromhex(m)): (
                        ReportId(bytes.fromhex(r)),
                        base64.b64decode(b, validate=True),
                    )
                    for m, (r, b) in answer.get("messages", {}).items()
                },
                deferred_messages=[
                    MessageId(bytes.fromhex(m)) for m in answer.get("deferred_messages", [])
                ],
            )
        except _MALFORMED:
            raise SourceError("failed", "malformed envelopes") from None

    async def post_event(self, event_id: EventId, report_id: ReportId, envelope: bytes) -> None:
        await self._call(
            "POST",
            f"{API}/events",
            {
                "id": event_id.hex,
                "report": report_id.hex,
                "envelope": base64.b64encode(envelope).decode("ascii"),
            },
        )

    async def record_export(self, report_ids: Sequence[ReportId]) -> None:
        for start in range(0, len(report_ids), MAX_BATCH):
            batch = report_ids[start : start + MAX_BATCH]
            await self._call(
                "POST", f"{API}/audit", {"action": EXPORT, "reports": [r.hex for r in batch]}
            )

    async def audit(self, since: date | None) -> list[AuditEntry]:
        query = f"?since={since.isoformat()}" if since is not None else ""
        answer = await self._call("GET", f"{API}/audit{query}")
        try:
            return [
                AuditEntry(str(d), str(a), str(act), ReportId(bytes.fromhex(r)))
                for d, a, act, r in answer["entries"]
            ]
        except _MALFORMED:
            raise SourceError("failed", "malformed audit log") from None

    async def close(self) -> None:
        await self._session.close()


class LocalSource:
    """A vault file on this computer (a copy, or the sandbox's): the same store the staff API
    uses, so case events and the audit log go into that file, under her key's fingerprint."""

    def __init__(self, store: StaffStore, path: Path, key: PrivateKey, team: list[PublicKey]):
        self._store = store
        self._actor = key.public.fingerprint
        self.label = str(path)
        known = {k.key_id for k in team}
        self._team = team if key.public.key_id in known else [key.public, *team]

    @classmethod
    async def open(cls, path: Path, key: PrivateKey, team_spec: str = "") -> LocalSource:
        """Open the vault at `path`; `team_spec` lists colleagues' keys (REPORT_RECIPIENTS
        syntax) so that case events are sealed to them too."""
        if not await asyncio.to_thread(Path(path).is_file):
            raise SourceError("failed", f"database not found: {path}")
        try:
            team = load_recipients(team_spec) if team_spec.strip() else []
            store = await StaffStore.open(path)
        except StorageError as exc:
            raise SourceError("failed", str(exc)) from None
        return cls(store, path, key, team)

    async def team(self) -> list[PublicKey]:
        return list(self._team)

    async def index(self, since: date | None) -> Index:
        return await self._store.index(since)

    async def fetch(
        self,
        reports: Sequence[ReportId],
        events: Sequence[EventId],
        messages: Sequence[MessageId] = (),
    ) -> Fetched:
        found = await self._store.fetch_reports(reports, self._actor) if reports else {}
        got = await self._store.fetch_events(events) if events else {}
        hers = await self._store.fetch_messages(messages, self._actor) if messages else {}
        return Fetched(reports=found, events=got, messages=hers)

    async def post_event(self, event_id: EventId, report_id: ReportId, envelope: bytes) -> None:
        try:
            await self._store.add_event(event_id, report_id, envelope, self._actor)
        except EventRefused as exc:
            raise SourceError("missing" if exc.reason == "no-report" else "failed") from None
        except StorageError as exc:
            raise SourceError("failed", type(exc).__name__) from None

    async def record_export(self, report_ids: Sequence[ReportId]) -> None:
        for start in range(0, len(report_ids), MAX_BATCH):
            await self._store.record(report_ids[start : start + MAX_BATCH], self._actor, EXPORT)

    async def audit(self, since: date | None) -> list[AuditEntry]:
        return await self._store.audit_log(since)

    async def close(self) -> None:
        await self._store.close()
