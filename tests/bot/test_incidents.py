"""Failures during conversations are logged as totals, never one by one at the moment they happen."""

from __future__ import annotations

import logging

import pytest

from bot import incidents


def test_failures_are_counted_and_reported_as_totals(caplog: pytest.LogCaptureFixture) -> None:
    incidents.report()  # start from nothing
    with caplog.at_level(logging.WARNING):
        incidents.note("wipe batch refused", ValueError("her words"))
        incidents.note("wipe batch refused")
        incidents.note("report not stored")
        assert caplog.records == []  # nothing at the moment it happened
        totals = incidents.report()
    assert totals == {"report not stored": 1, "wipe batch refused": 2}
    assert "wipe batch refused ×2" in caplog.text and "her words" not in caplog.text
    assert incidents.report() == {}
