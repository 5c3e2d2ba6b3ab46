"""``GET /healthz`` and ``GET /metrics`` on a listener of their own, on loopback by default.

Counts only, in Prometheus' text format (the official ``prometheus-client`` renders it):

| metric | what |
|---|---|
| ``safe_report_updates_total{kind}`` | updates Telegram sent: message, callback_query, other |
| ``safe_report_wipes_total{reason}`` | conversations wiped: exit, idle, shutdown, evicted, late |
| ``safe_report_wipes_pending`` | live conversations: each is a wipe still to come |
| ``safe_report_reports_stored`` | sealed reports in the vault |
| ``safe_report_vault_bytes`` | the vault's files on disk (database and its WAL) |
| ``safe_report_errors_total{kind}`` | failures by kind (bot/incidents.py names them) |

What is left out, on purpose:

- No label names a person, a chat or a message; the only labels are the fixed kinds above.
- No time of anything: the samples carry no timestamps, and there are no ``*_created`` series
  (the client adds one per labelled counter, the moment it first counted: the time of the first
  exit, say). The figures are read when scraped, so what they tell is "between two scrapes".
- Not the client's default process, platform and garbage-collector collectors: the process
  collector exports ``process_start_time_seconds``, an exact time, and the rest (memory, CPU,
  file descriptors) says nothing an operator's system monitor does not, while rising and falling
  with each conversation between scrapes. This registry holds our collector only.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry

from bot import incidents
from bot.app import App
from bot.config import Address, ConfigError

log = logging.getLogger(__name__)

PREFIX = "safe_report"
# Seconds /healthz waits for the vault before it calls it unhealthy.
VAULT_TIMEOUT = 2.0


@dataclass(frozen=True)
class Snapshot:
    """Every figure, read at one scrape."""

    updates: dict[str, int] = field(default_factory=dict)
    wipes: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    live: int = 0
    reports: int = 0
    vault_bytes: int = 0


def label(kind: str) -> str:
    """A kind as a label value: lower-case words joined by ``_`` (they are fixed strings)."""
    return re.sub(r"[^a-z0-9]+", "_", kind.lower()).strip("_") or "other"


class BotCollector(Collector):
    """Yields the figures of the latest :class:`Snapshot` (set before each render)."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        yield _counter("updates", "Updates Telegram sent, by kind.", "kind", s.updates)
        yield _counter("wipes", "Conversations wiped, by reason.", "reason", s.wipes)
        yield _counter("errors", "Failures, by kind.", "kind", s.errors)
        yield GaugeMetricFamily(
            f"{PREFIX}_wipes_pending",
            "Live conversations: each is a wipe still to come.",
            value=s.live,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_reports_stored", "Sealed reports in the vault.", value=s.reports
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_vault_bytes", "The vault's files on disk, in bytes.", value=s.vault_bytes
        )


def _counter(name: str, doc: str, key: str, counts: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=[key])
    merged: dict[str, int] = {}
    for kind, n in counts.items():
        merged[label(kind)] = merged.get(label(kind), 0) + n
    for kind, n in sorted(merged.items()):
        family.add_metric([kind], n)  # no timestamp, no created
    return family


def vault_bytes(path: Path) -> int:
    """Bytes of the database and its WAL and shared-memory files, as far as they exist."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        try:
            total += path.with_name(path.name + suffix).stat().st_size
        except OSError:
            pass
    return total


class MetricsServer:
    """The health and metrics listener of one running :class:`App`."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.collector = BotCollector()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)
        self._runner: web.AppRunner | None = None
        self.address: Address | None = None

    async def snapshot(self) -> Snapshot:
        """Read every figure now."""
        app = self.app
        reports, size = 0, 0
        if app.desk is not None:
            reports = await app.desk.vault.count()
            size = vault_bytes(app.settings.vault_path)
        return Snapshot(
            updates=dict(app.tally.updates),
            wipes=dict(app.tally.wipes),
            errors=incidents.totals(),
            live=len(app.sessions),
            reports=reports,
            vault_bytes=size,
        )

    async def metrics(self, request: web.Request) -> web.StreamResponse:
        """``GET /metrics``: the figures, in the format the scraper asks for."""
        try:
            self.collector.snapshot = await self.snapshot()
        except Exception as exc:  # the vault unreadable: say so, with no figures at all
            incidents.note("metrics not read", exc)
            return web.Response(status=503, text="unavailable\n")
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encoder(self.registry), headers={"Content-Type": content_type})

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        """``GET /healthz``: 200 "ok" while the bot takes updates and its vault answers."""
        if self.app.stopping:
            return web.Response(status=503, text="stopping\n")
        if self.app.desk is not None:
            try:
                async with asyncio.timeout(VAULT_TIMEOUT):
                    await self.app.desk.vault.count()
            except Exception as exc:
                incidents.note("health check: vault unreadable", exc)
                return web.Response(status=503, text="vault unavailable\n")
        return web.Response(text="ok\n")

    async def start(self, listen: Address) -> Address:
        """Listen on ``listen`` (port 0: any free port); returns the address bound."""
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, listen[0], listen[1]).start()
        except OSError as exc:
            await self.stop()
            raise ConfigError(f"METRICS_LISTEN {listen[0]}:{listen[1]}: {exc.strerror}") from None
        host, port = self._runner.addresses[0][:2]
        self.address = (str(host), int(port))
        return self.address

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
