"""The two ways the bot takes updates, and which one the running test uses.

Every end-to-end safety test (exit, wipe, report, privacy) is marked ``both_modes`` and runs once
polling and once serving its webhook to the emulator's deliveries; other tests poll. The harness
(``tests/e2e/conftest.py:running_bot``) reads :func:`current` when it starts the bot.

``TESTS_BOT_MODE=webhook`` runs every other end-to-end test with a webhook too (a check worth a
run after a change to either mode; the suite itself keeps those tests to polling, for time).
"""

from __future__ import annotations

import os

POLLING = "polling"
WEBHOOK = "webhook"
MODES = (POLLING, WEBHOOK)
WEBHOOK_SECRET = "harness-secret_0123456789"  # the tests' own

_current = POLLING


def default() -> str:
    """The mode of tests not marked ``both_modes``: polling, unless ``TESTS_BOT_MODE`` says."""
    mode = os.environ.get("TESTS_BOT_MODE", POLLING)
    if mode not in MODES:
        raise ValueError(f"TESTS_BOT_MODE must be one of {MODES}, got {mode!r}")
    return mode


def current() -> str:
    """The mode of the test running now."""
    return _current


def use(mode: str) -> str:
    """Make ``mode`` the current one; returns the one it replaces."""
    global _current
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    previous, _current = _current, mode
    return previous
