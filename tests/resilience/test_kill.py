"""The real bot process (``python -m bot run``) killed with SIGKILL around a report's commit.

Invariant 7: a report is acknowledged only after its transaction committed, and an acknowledged
report survives the process dying at any moment. After a restart the bot serves again and the
vault passes SQLite's integrity check.

The kill points inside the vault use the test-only seam ``python -m bench.bot_under_test
--kill-vault-at`` (the real bot with a crash hook no setting can switch on); the others are plain
``SIGKILL`` from outside. Each test runs with the bot polling and serving a webhook (the same URL
across restarts, as behind a proxy).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from storage import VaultReader, open_envelope
from telegram_emulator.client import Emulator, SimUser
from tests import modes
from tests.e2e.conftest import Caseworker
from tests.e2e.test_process import free_port, webhook_env
from tests.resilience.conftest import texts
from tests.resilience.flows import SEND, THANKS, draft_report, start_in_english, until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.both_modes]


class BotProcess:
    """``python -m bot run`` against the emulator, its stderr kept for inspection."""

    def __init__(
        self,
        emu: Emulator,
        folder: Path,
        recipients: str,
        kill_at: str | None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.emu = emu
        self.folder = folder
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": emu.token,
            "BOT_API_BASE": emu.base_url,
            "REPORT_RECIPIENTS": recipients,
            "VAULT_PATH": str(folder / "vault" / "reports.sqlite3"),
            "LOG_LEVEL": "INFO",
            **(env or {}),
        }
        # The same bot as ``python -m bot run``; the kill hook only on the test seam's command line.
        self.command = ["-m", "bench.bot_under_test", "--kill-vault-at", kill_at] if kill_at else []
        self.command = self.command or ["-m", "bot", "run"]
        if modes.current() == modes.WEBHOOK:
            self.env.update(webhook_env(webhook_port(emu)))
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr = b""

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *self.command,
            cwd=self.folder,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        # Serving once it polls (the first getUpdates) or its webhook is set.
        before = serving_calls(self.emu)
        for _ in range(300):
            if serving_calls(self.emu) > before or self.proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        assert self.proc.returncode is None, "the bot did not start"

    async def wait_dead(self, timeout: float = 30) -> int:
        assert self.proc is not None
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await self._drain()
        return code

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        """SIGTERM: the graceful stop (it wipes every live conversation)."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await self._drain()

    async def _drain(self) -> None:
        if self.proc is not None and self.proc.stderr is not None:
            self.stderr += await self.proc.stderr.read()


def serving_calls(emu: Emulator) -> int:
    return len(emu.calls_to("getUpdates")) + len(emu.calls_to("setWebhook"))


def webhook_port(emu: Emulator) -> int:
    """A restart serves the webhook URL that is still set (Telegram keeps it), or a new one."""
    emu.webhook.backoff_scale = 0.05  # Telegram's retries after the kill, faster
    target = emu.webhook.target
    port = urlsplit(target.url).port if target is not None else None
    return port or free_port()


@contextlib.asynccontextmanager
async def bot_process(
    emu: Emulator,
    folder: Path,
    recipients: str,
    kill_at: str | None = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[BotProcess]:
    process = BotProcess(emu, folder, recipients, kill_at, env)
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


async def settle(emu: Emulator) -> None:
    await emu.settle(timeout=20, quiet=0.1)


async def submit(emu: Emulator, story: str, *, wait: bool = True) -> SimUser:
    """A new user files a report with ``story``; returns once Send was delivered to the bot."""
    user = emu.user(language_code="en")

    async def quiet() -> None:
        await settle(emu)

    await start_in_english(user, quiet)
    await draft_report(user, story, quiet)
    await user.press(SEND)
    if wait:
        # Sealing runs after the webhook was answered, out of the emulator's sight: wait for
        # her "thank you" itself (bounded), then for quiet.
        await until(user, partial(acknowledged, user))
        await settle(emu)
    return user


def acknowledged(user: SimUser) -> bool:
    return any(t.startswith(THANKS) for t in texts(user))


def stories(vault: Path, caseworkers: list[Caseworker]) -> list[str]:
    """Check the file like a restarted bot would, then read every report with both keys."""
    conn = sqlite3.connect(vault)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    out: list[str] = []
    with VaultReader(vault) as reader:
        for row in reader.list_rows():
            opened = [open_envelope(row.envelope, row.id, c.key) for c in caseworkers]
            assert opened[0] == opened[1]
            story = opened[0].answers["story"]
            assert isinstance(story, str)
            out.append(story)
    return out


async def serves_again(emu: Emulator) -> None:
    user = emu.user(language_code="en")
    await user.command("/start")
    await settle(emu)
    assert user.last_bot is not None and "✓ English" in user.buttons


async def test_killed_inside_the_vault_at_each_point_loses_no_acknowledged_report(
    tmp_path: Path, caseworkers: list[Caseworker]
) -> None:
    """Killed while sealing, after the INSERT but before COMMIT, and after COMMIT but before she
    is told: each time the next process starts on the same vault (one start per point, to keep
    the suite fast) and must serve at once."""
    recipients = ",".join(c.public for c in caseworkers)
    vault = tmp_path / "vault" / "reports.sqlite3"
    expected: set[str] = set()
    logs = b""
    async with Emulator(local_mode=True) as emu:
        for point in ("sealed", "inserted", "committed"):
            async with bot_process(emu, tmp_path, recipients, kill_at=f"{point}:2") as process:
                await serves_again(emu)
                first = await submit(emu, f"{point}: acknowledged")
                assert acknowledged(first), point
                expected.add(f"{point}: acknowledged")
                second = await submit(emu, f"{point}: interrupted", wait=False)
                assert await process.wait_dead() == -signal.SIGKILL, point
                assert not acknowledged(second), point  # never told before the commit
                if point == "committed":
                    expected.add(f"{point}: interrupted")  # committed, just never told
            logs += process.stderr
            found = stories(vault, caseworkers)
            # Every acknowledged report is there; the interrupted one exactly when its COMMIT
            # completed; never a partial or doubled row.
            assert sorted(found) == sorted(expected), point
        async with bot_process(emu, tmp_path, recipients) as restarted:
            await serves_again(emu)
            await settle(emu)  # her Send, handed out again after the crash, files nothing twice
            assert sorted(stories(vault, caseworkers)) == sorted(expected)
            await restarted.stop()
        logs += restarted.stderr
    assert b"update failed" not in logs
    for marker in (b"acknowledged", b"interrupted", str(first.id).encode()):
        assert marker not in logs


async def test_killed_from_outside_at_staggered_moments_keeps_every_acknowledged_report(
    tmp_path: Path, caseworkers: list[Caseworker]
) -> None:
    """Right after she was told, then while three users' Send presses are in progress: SIGKILL
    from outside. Whoever was told "received" has her report; nothing is doubled."""
    recipients = ",".join(c.public for c in caseworkers)
    vault = tmp_path / "vault" / "reports.sqlite3"
    told: list[str] = []
    async with Emulator(local_mode=True) as emu:
        async with bot_process(emu, tmp_path, recipients) as process:
            user = await submit(emu, "told and then killed")
            assert acknowledged(user)
            told.append("told and then killed")
            process.kill()
            assert await process.wait_dead() == -signal.SIGKILL
        assert stories(vault, caseworkers) == told
        for round_, delay in enumerate((0.01, 0.15)):
            async with bot_process(emu, tmp_path, recipients) as process:
                await serves_again(emu)
                users: list[tuple[SimUser, str]] = []
                for i in range(3):
                    story = f"round {round_} story {i}"
                    user = emu.user(language_code="en")

                    async def quiet() -> None:
                        await settle(emu)

                    await start_in_english(user, quiet)
                    await draft_report(user, story, quiet)
                    users.append((user, story))
                for user, _ in users:
                    await user.press(SEND)
                await asyncio.sleep(delay)
                process.kill()
                assert await process.wait_dead() == -signal.SIGKILL
                told += [story for user, story in users if acknowledged(user)]
            found = stories(vault, caseworkers)
            assert set(told) <= set(found)
            assert len(found) == len(set(found))
        async with bot_process(emu, tmp_path, recipients):
            await serves_again(emu)
