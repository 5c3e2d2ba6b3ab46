"""The systemd units: how much they expose (systemd's own score), what they promise, and that
the bot still works under the hardening that can be tried without systemd."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
from configparser import ConfigParser
from pathlib import Path

import pytest

from bot.app import SHUTDOWN_GRACE
from storage import generate_keypair
from storage.vault import VaultReader
from telegram_emulator.client import Emulator
from tests.e2e.test_process import free_port, started, wait_for, webhook_env
from tests.resilience.flows import SEND, THANKS, draft_report, start_in_english

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
MAX_EXPOSURE = 2.0


def unit(path: Path) -> dict[str, list[str]]:
    """The [Service] section: every value of every key (keys may repeat)."""
    values: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_there_is_a_unit_for_the_bot_and_one_for_the_staff_api() -> None:
    assert [u.name for u in UNITS] == ["safe-report-bot.service", "safe-report-staff-api.service"]


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_exposure_is_at_most_two(path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed here (Debian: the systemd package)")
    done = subprocess.run(
        [tool, "security", "--offline=true", "--no-pager", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    if found is None and "offline" in done.stderr:
        pytest.skip(f"this systemd-analyze has no --offline: {done.stderr.strip()[:200]}")
    assert found is not None, done.stdout[-2000:] + done.stderr[-2000:]
    assert float(found.group(1)) <= MAX_EXPOSURE, done.stdout


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_the_unit_keeps_its_promises(path: Path) -> None:
    service = unit(path)

    def one(key: str) -> str:
        assert len(service.get(key, [])) == 1, key
        return service[key][0]

    assert one("User") not in ("", "root", "0")
    assert one("ExecStart").startswith("/opt/safe-report-bot/venv/bin/python -m ")
    assert one("NoNewPrivileges") == "yes" and one("ProtectSystem") == "strict"
    assert one("PrivateTmp") == "yes" and one("ProtectHome") == "yes"
    assert one("LimitCORE") == "0"  # no core dumps: a live process holds conversations in clear
    assert one("MemorySwapMax") == "0"  # and none of it in swap
    assert re.fullmatch(r"\d+[KMG]", one("MemoryMax"))
    assert one("Restart") == "on-failure"
    assert one("CapabilityBoundingSet") == "" and one("UMask") == "0077"
    assert one("StateDirectoryMode") == "0700"


def test_the_bot_unit_waits_long_enough_for_the_shutdown_wipe() -> None:
    service = unit(ROOT / "deploy" / "systemd" / "safe-report-bot.service")
    assert service["KillSignal"] == ["SIGTERM"]
    assert int(service["TimeoutStopSec"][0]) >= SHUTDOWN_GRACE + 120
    env = ConfigParser()
    env.read_string("[env]\n" + (ROOT / "deploy" / "bot.env.example").read_text())
    assert env["env"]["vault_path"].startswith("/var/lib/safe-report-bot/")
    assert env["env"]["metrics_listen"].startswith("127.0.0.1:")


# Run the bot as `python -m bot run`, after refusing itself writable-and-executable memory
# (PR_SET_MDWE, what MemoryDenyWriteExecute=yes asks of the kernel).
MDWE_LAUNCHER = """
import ctypes, runpy, sys
if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0:
    sys.exit(77)
sys.argv = ["bot", "run"]
runpy.run_module("bot", run_name="__main__", alter_sys=True)
"""


async def test_the_bot_files_a_report_under_memory_deny_write_execute(tmp_path: Path) -> None:
    """MemoryDenyWriteExecute=yes must not break the bot (sealing, the vault, aiohttp)."""
    key = generate_keypair("mlkem768x25519")
    vault = tmp_path / "vault" / "reports.sqlite3"
    async with Emulator(local_mode=True) as emu:
        env = {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": emu.token,
            "BOT_API_BASE": emu.base_url,
            "REPORT_RECIPIENTS": key.public.text,
            "VAULT_PATH": str(vault),
            **webhook_env(free_port()),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            MDWE_LAUNCHER,
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await wait_for(lambda: started(emu) or process.returncode is not None)
            if process.returncode == 77:
                pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3 or newer)")
            user = emu.user(language_code="en")

            async def settle() -> None:
                await emu.settle(timeout=15, quiet=0.1)

            await start_in_english(user, settle)
            await draft_report(user, "sealed under MDWE", settle)
            await user.press(SEND)
            await settle()
            assert any((m.text or "").startswith(THANKS) for m in user.visible if m.from_bot)
            process.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
    assert process.returncode == 0, err.decode()[-2000:]
    with VaultReader(vault) as reader:
        assert reader.count() == 1
