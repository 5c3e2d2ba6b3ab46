"""The real bot, exactly as ``python -m bot run`` starts it, with test-only overrides.

    python -m bench.bot_under_test [--idle-seconds N] [--kill-vault-at POINT[:N]]

The overrides come from this command line only, never from the environment or ``.env``: an
operator's configuration cannot switch them on, and ``python -m bot`` knows nothing of them.

- ``--idle-seconds``: conversations expire after N seconds instead of ``IDLE_MINUTES`` (whose
  minimum is a minute), so the benchmark can watch sessions expire (docs/performance.md).
- ``--kill-vault-at``: SIGKILL this process at ``POINT`` ("sealed", "inserted" before COMMIT,
  "committed" before she is told) of the N-th report stored (default the first), so the
  resilience tests can prove invariant 7 against the real process.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import replace

from bot.__main__ import serve
from bot.config import ConfigError, load_settings
from bot.logs import configure_logging

VAULT_POINTS = ("sealed", "inserted", "committed")


def kill_hook(value: str) -> Callable[[str], None]:
    """The vault crash hook for ``POINT[:N]``: SIGKILL at ``POINT`` of the N-th report."""
    point, _, nth = value.partition(":")
    if point not in VAULT_POINTS or not (nth or "1").isdigit():
        raise argparse.ArgumentTypeError(f"expected one of {VAULT_POINTS}[:N], got {value!r}")
    left = int(nth or 1)

    def hook(reached: str) -> None:
        nonlocal left
        if reached == "sealed":
            left -= 1
        if reached == point and left == 0:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.bot_under_test", description=__doc__)
    parser.add_argument("--idle-seconds", type=float, help="expire conversations after N s")
    parser.add_argument(
        "--kill-vault-at", type=kill_hook, metavar="POINT[:N]", help="SIGKILL inside the vault"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.idle_seconds:
        settings = replace(settings, idle_minutes=args.idle_seconds / 60)
    configure_logging(settings.log_level)
    if not settings.bot_token:
        print("configuration error: BOT_TOKEN is not set", file=sys.stderr)
        return 2
    return serve(settings, crash_hook=args.kill_vault_at)


if __name__ == "__main__":
    sys.exit(main())
