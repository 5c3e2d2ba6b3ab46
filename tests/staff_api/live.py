"""A real staff API on loopback for tests: its own event loop in a thread, so sync tests (and
hypothesis) can send it raw HTTP; and a signed-request helper."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from staff_api.app import build_app
from staff_api.auth import REFUSED
from staff_api.config import Settings
from storage.keys import PrivateKey
from storage.report import Report, ReportId
from storage.signing import sign_request
from storage.staff_store import StaffStore
from storage.vault import Vault


@dataclass
class Answer:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


class LiveApi:
    """`with LiveApi(db, team) as api:` serves the staff API until the block ends."""

    def __init__(self, db: Path, team: list[PrivateKey], reports: list[Report]) -> None:
        self.db = db
        self.team = team
        self.reports = reports
        self.report_ids: list[ReportId] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.store: StaffStore | None = None

    def __enter__(self) -> LiveApi:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the server's loop (to look at the store)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    async def _start(self) -> None:
        async with await Vault.open(self.db, recipients=[k.public for k in self.team]) as vault:
            self.report_ids = [await vault.store(r) for r in self.reports]
        self.store = await StaffStore.open(self.db)
        settings = Settings(
            enabled=True,
            host="127.0.0.1",
            port=0,
            vault_path=self.db,
            team=tuple(k.public for k in self.team),
        )
        self._runner = web.AppRunner(build_app(settings, self.store), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self.store is not None:
            await self.store.close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def refusals(self) -> dict[str, int]:
        """The refusal counts the API holds for its hourly log line (a copy)."""
        assert self._runner is not None
        counts: Counter[str] = self._runner.app[REFUSED]
        return dict(counts)

    def raw(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> Answer:
        """Send exactly these bytes (no signing, nothing added but Host and Content-Length)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, target, body=body, headers=dict(headers))
            response = conn.getresponse()
            return Answer(response.status, response.read(), dict(response.getheaders()))
        finally:
            conn.close()

    def signed_headers(
        self,
        key: PrivateKey,
        method: str,
        target: str,
        body: bytes | None = None,
        *,
        now: datetime | None = None,
    ) -> dict[str, str]:
        headers = sign_request(key, method, self.base + target, body, now=now)
        if body is not None:
            headers["Content-Type"] = "application/json"
        return headers

    def call(self, key: PrivateKey, method: str, target: str, document: object = None) -> Answer:
        """A properly signed request."""
        body = None if document is None else json.dumps(document).encode()
        return self.raw(method, target, self.signed_headers(key, method, target, body), body)
