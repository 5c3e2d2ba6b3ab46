"""The command lines: --help starts nothing; a wrong setting is one line, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **(env or {})},
        cwd=cwd,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("-m", "bot", "--help"),
        ("-m", "bot", "run", "--help"),
        ("-m", "bot", "sandbox", "--help"),
        ("-m", "flows", "--help"),
        ("-m", "flows", "check", "--help"),
        ("-m", "caseworker", "--help"),
        ("dev.py", "--help"),
    ],
)
def test_help_prints_usage_and_starts_nothing(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout.lower() or "dev.py" in result.stdout
    assert "Sandbox:" not in result.stdout and "polling" not in result.stderr.lower()


def test_a_wrong_setting_is_one_clear_line(tmp_path: Path) -> None:
    result = run("-m", "bot", "run", env={"IDLE_MINUTES": "soon"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: IDLE_MINUTES must be a number, got 'soon'"
    assert "Traceback" not in result.stderr


def test_a_bad_recipient_key_is_one_clear_line(tmp_path: Path) -> None:
    env = {
        "BOT_TOKEN": "123456:TEST",
        "BOT_API_BASE": "http://127.0.0.1:9",
        "REPORT_RECIPIENTS": "srk1-x25519:not-a-key",
        "VAULT_PATH": str(tmp_path / "v.db"),
    }
    result = run("-m", "bot", "run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("configuration error")]
    assert len(lines) == 1 and "REPORT_RECIPIENTS" in lines[0]
    assert "Traceback" not in result.stderr


def test_the_collector_is_on_again_once_the_start_up_heap_is_frozen() -> None:
    # `python -m bot run` starts with the collector off; left off, cyclic garbage would pile up.
    import gc

    from bot.startup import freeze_startup_heap

    gc.disable()
    try:
        freeze_startup_heap()
        assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()
