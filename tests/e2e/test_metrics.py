"""Health and metrics: counts only, nothing about who or when, on a loopback listener."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import MetricsServer
from tests.e2e.conftest import Harness
from tests.e2e.test_report import CONTACT, STORY_1, STORY_2, file_a_report

pytestmark = pytest.mark.both_modes

ALLOWED_LABELS = {"kind", "reason"}


@pytest.fixture
async def scraped(reporting: Harness) -> AsyncIterator[tuple[Harness, str]]:
    server = MetricsServer(reporting.app)
    host, port = await server.start(("127.0.0.1", 0))
    try:
        yield reporting, f"http://{host}:{port}"
    finally:
        await server.stop()


async def get(url: str, accept: str = "") -> tuple[int, str, str]:
    headers = {"Accept": accept} if accept else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


async def test_metrics_after_a_session_count_and_say_nothing_about_anyone(
    scraped: tuple[Harness, str],
) -> None:
    harness, base = scraped
    user = await file_a_report(harness)
    await user.press("🚪 Exit")
    await harness.settle()
    other = harness.user(first_name="Saule", username="saule_ast", language_code="kk")
    await other.command("/start")
    await harness.settle()
    status, kind, text = await get(f"{base}/metrics")
    assert status == 200 and kind.startswith("text/plain")
    values = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert values[("safe_report_reports_stored", ())] == 1
    assert values[("safe_report_wipes_total", (("reason", "exit"),))] == 1
    assert values[("safe_report_wipes_pending", ())] == 1  # Saule's conversation is live
    assert values[("safe_report_updates_total", (("kind", "callback_query"),))] >= 10
    assert values[("safe_report_updates_total", (("kind", "message"),))] >= 5
    assert values[("safe_report_vault_bytes", ())] > 0
    # Nothing that names or dates anyone.
    markers = [
        str(user.id),
        str(other.id),
        "Aigerim",
        "Sultanova",
        "aigerim_kz_1990",
        "Saule",
        "saule_ast",
        STORY_1[:20],
        STORY_2[:20],
        CONTACT[:20],
    ]
    for marker in markers:
        assert marker not in text
    now = time.time()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            assert set(sample.labels) <= ALLOWED_LABELS, sample
            assert sample.timestamp is None, sample
            assert not sample.name.endswith("_created"), sample
            assert abs(sample.value - now) > 10 * 365 * 86400, sample  # never a Unix time
            for value in sample.labels.values():
                assert re.fullmatch(r"[a-z_]+", value), sample
    # The OpenMetrics rendering a Prometheus server may ask for says the same.
    status, kind, open_text = await get(f"{base}/metrics", "application/openmetrics-text")
    assert status == 200 and kind.startswith("application/openmetrics-text")
    assert "_created" not in open_text and str(user.id) not in open_text


async def test_health_says_ok_while_running_and_stopping_once_a_stop_begins(
    scraped: tuple[Harness, str],
) -> None:
    harness, base = scraped
    assert await get(f"{base}/healthz") == (200, "text/plain; charset=utf-8", "ok\n")
    harness.app.stopping = True
    assert (await get(f"{base}/healthz"))[::2] == (503, "stopping\n")
    harness.app.stopping = False
    desk = harness.app.desk
    assert desk is not None
    await desk.close()  # the vault's disk goes away
    assert (await get(f"{base}/healthz"))[::2] == (503, "vault unavailable\n")
    assert (await get(f"{base}/metrics"))[0] == 503
