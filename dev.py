#!/usr/bin/env python3
"""The project's two commands, on a fresh machine with nothing but Python 3.11+.

    python3 dev.py run     set everything up, then run the bot (Telegram with BOT_TOKEN set,
                           otherwise the offline sandbox)
    python3 dev.py test    set everything up, then lint, type-check, check the content, run tests

"Set up" means: a virtual environment in .venv with this project installed from its own
pyproject.toml, refreshed whenever that file changes. Anything after the command is passed on
(``python3 dev.py run sandbox``, ``python3 dev.py test -k exit``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".installed"
CHECKED_PACKAGES = [
    "bot",
    "flows",
    "storage",
    "caseworker",
    "bench",
    "telegram_emulator",
    "tests",
]


def _say(text: str) -> None:
    print(f"» {text}", flush=True)


def setup() -> None:
    """Create .venv and install the project into it when pyproject.toml changed."""
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        _say("creating the virtual environment in .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    _say("installing the project and its test tools into .venv")
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True, cwd=ROOT
    )
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "-e", ".[test]"], check=True, cwd=ROOT
    )
    STAMP.write_text(wanted)


def run(args: list[str]) -> int:
    """Run the bot: ``python -m bot run`` unless other bot arguments are given."""
    command = [str(PYTHON), "-m", "bot", *(args or ["run"])]
    return subprocess.call(command, cwd=ROOT)


def test(args: list[str]) -> int:
    """Lint, type-check, check the content, then the whole test suite (pytest last)."""
    steps = [
        ("lint (ruff)", [str(PYTHON), "-m", "ruff", "check", "."]),
        ("format (ruff)", [str(PYTHON), "-m", "ruff", "format", "--check", "."]),
        ("type check (mypy)", [str(PYTHON), "-m", "mypy", *_existing(CHECKED_PACKAGES)]),
        ("content check", [str(PYTHON), "-m", "flows", "check"]),
    ]
    failed = []
    for name, command in steps:
        _say(name)
        if subprocess.call(command, cwd=ROOT) != 0:
            failed.append(name)
    _say("tests (pytest)")
    code = subprocess.call(
        [str(PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=ROOT
    )
    if failed:
        print(f"failed before the tests: {', '.join(failed)}", file=sys.stderr)
        return 1
    return code


def _existing(packages: list[str]) -> list[str]:
    return [p for p in packages if (ROOT / p / "__init__.py").exists()]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test") or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    setup()
    return run(argv[1:]) if argv[0] == "run" else test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
