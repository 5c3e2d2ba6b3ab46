"""The real bot process: started from any directory with only a token and an API base, stopped
with SIGTERM, it wipes every live conversation first; nothing identifying reaches its files or logs.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.sandbox import run_sandbox
from storage import VaultReader, generate_keypair
from telegram_emulator.client import Emulator, SimUser
from tests import modes
from tests.resilience.conftest import texts
from tests.resilience.flows import BEFORE_STORY, SEND, THANKS, start_in_english, until, walk

ROOT = Path(__file__).resolve().parents[2]
# The loggers allowed below WARNING (bot.logs.OUR_LOGGERS, spelled out to test it).
OURS = {"bot", "flows", "storage", "caseworker", "telegram_emulator"}


async def wait_for(predicate: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.05)


async def chat(emu: Emulator, user: SimUser) -> None:
    await user.command("/start")
    await emu.settle(timeout=15)
    await user.press("✓ English")
    await emu.settle(timeout=15)
    await user.press("🆘 I'm in danger now")
    await user.send("he is outside the door, flat 12")
    await emu.settle(timeout=15)


def free_port() -> int:
    """A port nothing listens on now (for the bot's webhook listener)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def webhook_env(port: int) -> dict[str, str]:
    """Settings that make `python -m bot run` serve its webhook on loopback."""
    return {
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram-hook",
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
    }


def started(emu: Emulator) -> bool:
    """The process polls, or its webhook is set."""
    return bool(emu.calls_to("getUpdates")) or emu.webhook.target is not None


@pytest.mark.both_modes
async def test_sigterm_wipes_everyone_and_nothing_identifying_is_written(
    tmp_path: Path, bot_mode: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    started_at = time.time()
    async with Emulator(local_mode=True) as emu:
        env = {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(ROOT),
            "HOME": str(tmp_path),
            "BOT_TOKEN": emu.token,
            "BOT_API_BASE": emu.base_url,
            "LOG_LEVEL": "DEBUG",
        }
        if bot_mode == modes.WEBHOOK:
            env.update(webhook_env(free_port()))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=elsewhere,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await wait_for(lambda: started(emu))
            users = [
                emu.user(
                    "Aigerim", last_name="Sultanova", username="aigerim_1990", language_code="en"
                )
                for _ in range(3)
            ]
            for user in users:
                await chat(emu, user)
            assert all(len(u.visible) >= 2 for u in users)
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
        assert process.returncode == 0, err.decode()[-2000:]
        assert all(u.visible == [] for u in users)
    logs = (out + err).decode()
    assert "bot starting" in logs  # the log is there, and it is scrubbed
    markers = [
        str(users[0].chat.id),
        str(users[1].id),
        "Aigerim",
        "Sultanova",
        "aigerim_1990",
        "outside the door",
        "flat 12",
    ]
    for marker in markers:
        assert marker not in logs, marker
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    written += [
        p
        for p in ROOT.rglob("*")
        if p.is_file()
        and p.stat().st_mtime >= started_at
        and not {".git", ".venv", ".mypy_cache", ".ruff_cache", ".hypothesis"} & set(p.parts)
        and "pytest-of" not in str(p)
    ]
    for path in written:
        raw = path.read_bytes()
        for marker in markers:
            assert marker.encode() not in raw, f"{marker} in {path.name}"


async def bot_at_debug(
    emu: Emulator, tmp_path: Path, recipients: str, vault: Path
) -> asyncio.subprocess.Process:
    """``python -m bot run`` against ``emu`` at LOG_LEVEL=DEBUG, its output piped for a scan."""
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "BOT_TOKEN": emu.token,
        "BOT_API_BASE": emu.base_url,
        "LOG_LEVEL": "DEBUG",
        "REPORT_RECIPIENTS": recipients,
        "VAULT_PATH": str(vault),
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_at_debug_a_report_leaves_no_trace_in_the_logs(tmp_path: Path) -> None:
    """The privacy scan at LOG_LEVEL=DEBUG, with a report and a file: only our loggers speak
    below WARNING, and nothing names her, her words, or the report's id."""
    key = generate_keypair("mlkem768x25519")
    vault = tmp_path / "vault" / "reports.sqlite3"
    async with Emulator() as emu:
        process = await bot_at_debug(emu, tmp_path, key.public.text, vault)
        try:
            await wait_for(lambda: emu.calls_to("getUpdates"))
            user = emu.user(
                "Aigerim", last_name="Sultanova", username="aigerim_1990", language_code="en"
            )

            async def quiet() -> None:
                await emu.settle(timeout=15)

            await start_in_english(user, quiet)
            # Each press waits for the screen it leads to: a separate process at DEBUG on a loaded
            # machine may answer after the emulator has looked quiet for a moment.
            await walk(user, (*BEFORE_STORY, "Next ➡️"))
            await user.send("he broke the door at flat 12")
            await until(user, lambda: "Saved:" in (texts(user) or [""])[-1])
            await user.press("Next ➡️", timeout=15)
            await until(user, lambda: "Step 8" in (texts(user) or [""])[-1])
            await user.send_photo(b"\x89PNG bruise-photo-bytes" * 100)
            await until(user, lambda: "Added: 1" in (texts(user) or [""])[-1])
            await walk(user, ("Next ➡️", "No, don't contact me", SEND))
            await user.press(SEND, timeout=15)
            await until(user, lambda: (texts(user) or [""])[-1].startswith(THANKS))
            await quiet()
            assert user.last_bot is not None and (user.last_bot.text or "").startswith(THANKS)
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
    assert process.returncode == 0, err.decode()[-2000:]
    logs = (out + err).decode()
    lines = logs.splitlines()
    assert "bot starting" in logs
    for line in lines:
        level, _, rest = line.partition(" ")
        if level in ("DEBUG", "INFO"):
            assert rest.split(".", 1)[0].split(":", 1)[0] in OURS, line[:200]
        assert len(line) < 1000, line[:200]
    with VaultReader(vault) as reader:
        (row,) = reader.list_rows()
    markers = [
        str(user.chat.id),
        "Aigerim",
        "Sultanova",
        "aigerim_1990",
        "broke the door",
        "flat 12",
        "bruise-photo",
        row.id.hex,
        repr(row.id.value)[2:-1],
        row.envelope[:16].hex(),
    ]
    for marker in markers:
        assert marker not in logs, marker


async def test_sandbox_transcript_shows_messages_appear_change_and_disappear(
    tmp_path: Path,
) -> None:
    script = io.StringIO("/start\n3\n1\nhello\n/exit\n:q\n")
    out = io.StringIO()
    code = await run_sandbox(
        Settings(vault_path=tmp_path / "var" / "reports.sqlite3"), stdin=script, stdout=out
    )
    transcript = out.getvalue()
    assert code == 0
    assert "Sandbox: the bot polls a local Bot API emulator at http://127.0.0.1:" in transcript
    assert "Choose a language" in transcript or "Выберите язык" in transcript
    assert "✎ edited" in transcript and "Right now" in transcript
    assert "✖ deleted" in transcript
    assert (
        transcript.rstrip().splitlines()[-2:][0].endswith("Have a good day!")
        or "Have a good day!" in transcript.split("/exit", 1)[1]
    )
