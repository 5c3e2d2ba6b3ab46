"""The operator's ``.env`` file: read the same way by the bot, the staff API and the content
checker.

It lives here, below both (the bot imports flows, never the other way), so that
``python -m flows check`` checks the same ``DIRECTORY_FILE`` the bot will show.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_FILE = Path(".env")


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a ``.env`` file; ``#`` comments and blank lines are skipped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def setting(name: str, env_file: Path = ENV_FILE) -> str:
    """One setting as the bot reads it: the environment first, then ``.env`` in the working
    directory; empty when neither sets it."""
    value = os.environ.get(name)
    if value is None:
        value = read_env_file(env_file).get(name, "")
    return value.strip()


YES = frozenset({"yes", "true", "1"})
NO = frozenset({"", "no", "false", "0"})


def yes_or_no(raw: str) -> bool | None:
    """A yes/no setting as every process reads it (``yes``/``true``/``1``, ``no``/``false``/``0``
    or empty); ``None`` for anything else, which the caller refuses in its own words."""
    value = raw.strip().lower()
    return True if value in YES else False if value in NO else None
