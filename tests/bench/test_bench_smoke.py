"""The benchmark's smoke mode runs every phase against both bots and reports every figure.

Not a timed test: it checks that each figure exists and is sane, never that a target was met
(figures from a handful of users on a shared CI machine mean nothing).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

POSITIVE = {
    "bare": ["startup_seconds"],
    "real": ["startup_seconds"],
    "bare.saturated": [
        "updates_per_second",
        "cpu_seconds_per_1000_updates",
        "latency_ms_p50",
        "latency_ms_p95",
        "latency_ms_p99",
    ],
    "real.saturated": [
        "updates_per_second",
        "cpu_seconds_per_1000_updates",
        "latency_ms_p50",
        "latency_ms_p95",
        "latency_ms_p99",
    ],
    "bare.paced": [
        "updates_per_second",
        "cpu_seconds_per_1000_updates",
        "latency_ms_p50",
        "latency_ms_p95",
        "latency_ms_p99",
        "peak_rss_mib",
    ],
    "real.paced": [
        "updates_per_second",
        "cpu_seconds_per_1000_updates",
        "latency_ms_p50",
        "latency_ms_p95",
        "latency_ms_p99",
        "peak_rss_mib",
    ],
    "real.quick_exit": ["messages", "api_calls", "delete_calls", "ms_to_last_delete"],
    "webhook.bare": ["startup_seconds"],
    "webhook.real": ["startup_seconds"],
    "webhook.bare.saturated": ["updates_per_second", "cpu_seconds_per_1000_updates"],
    "webhook.real.saturated": ["updates_per_second", "cpu_seconds_per_1000_updates"],
    "webhook.bare.paced": ["updates_per_second", "latency_ms_p99", "peak_rss_mib"],
    "webhook.real.paced": ["updates_per_second", "latency_ms_p99", "peak_rss_mib"],
    "webhook.real.quick_exit": ["messages", "delete_calls", "ms_to_last_delete"],
    "real.idle_sessions": [
        "sessions",
        "rss_before_mib",
        "rss_live_mib",
        "rss_after_expiry_mib",
        "rss_after_expiry_vs_before",
        "wiped_by_idle_sweep",
    ],
    "real.receipts": [
        "alone_ms_to_replies",
        "burst_checks",
        "crowd_p99_ms_without",
        "crowd_p99_ms_with",
        "p99_ratio",
    ],
    "vault": [
        "stored_per_second_1_recipient",
        "stored_per_second_3_recipients",
        "decrypt_export_seconds",
    ],
}


def _at(document: dict[str, Any], dotted: str) -> dict[str, Any]:
    node = document
    for part in dotted.split("."):
        node = node[part]
    return node


def test_smoke_mode_completes_and_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--quiet", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(out.read_text(encoding="utf-8"))
    for section, names in POSITIVE.items():
        figures = _at(document, section)
        for name in names:
            value = figures[name]
            assert isinstance(value, int | float) and math.isfinite(value), (section, name)
            assert value > 0, (section, name, value)
    # RSS growth over a few hundred sessions can round to nothing: present and finite suffices.
    assert math.isfinite(document["real"]["idle_sessions"]["kib_per_idle_session"])
    assert document["real"]["quick_exit"]["left_visible_after_exit"] <= 1
    # Exit after a SIGKILL and restart: her chat clean, calls and time recorded.
    for figures in document["real"]["exit_after_restart"]["0"].values():
        assert figures["left_visible"] == 0 and figures["delete_calls"] >= 1
        assert figures["ms_to_clean_chat"] > 0
    assert len(document["targets"]) == 13
    assert all(isinstance(t["met"], bool) for t in document["targets"])
    # The table names every target with its status.
    for target in document["targets"]:
        assert target["target"] in done.stdout
    assert document["machine"]["cores"] >= 1 and document["machine"]["aiogram"]
