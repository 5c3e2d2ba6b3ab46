"""Things that went wrong during conversations, logged as periodic totals, never one by one.

A log line written the moment a wipe or a report failed would carry, through the timestamp every
log collector adds, the time someone was using the bot (DESIGN.md, invariant 1). So failures tied
to a conversation are counted here and the sweeper logs the totals about once an hour; the detail
of each (type and stack, never a message) goes to DEBUG, which an operator turns on to debug.
"""

from __future__ import annotations

import logging
from collections import Counter

log = logging.getLogger(__name__)

_counts: Counter[str] = Counter()
# Never reset: the totals since the process started, for /metrics (bot/metrics.py).
_totals: Counter[str] = Counter()


def note(kind: str, exc: BaseException | None = None) -> None:
    """Count one ``kind`` of failure; its detail (type and stack only) goes to DEBUG."""
    _counts[kind] += 1
    _totals[kind] += 1
    if exc is not None and log.isEnabledFor(logging.DEBUG):
        log.debug("%s: %s", kind, type(exc).__name__, exc_info=exc)


def report() -> dict[str, int]:
    """Log the totals since the last report (if any) and start counting afresh."""
    totals = dict(sorted(_counts.items()))
    _counts.clear()
    if totals:
        log.warning("since the last report: %s", ", ".join(f"{k} ×{n}" for k, n in totals.items()))
    return totals


def totals() -> dict[str, int]:
    """Every kind of failure counted since the process started (never reset)."""
    return dict(_totals)
