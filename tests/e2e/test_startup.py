"""The real bot process at start: a wrong setting or a refused token is one clear line (never
the token), an unreachable Bot API is waited for, and the process can never dump core."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from telegram_emulator.client import Emulator

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
SECRET = TOKEN.split(":", 1)[1]


def env_for(base: str, tmp_path: Path, token: str = TOKEN) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "BOT_TOKEN": token,
        "BOT_API_BASE": base,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_a_malformed_api_base_is_one_line_without_the_token(tmp_path: Path) -> None:
    for base in ("http://127.0.0.1:99999", "http://[::1", "https://api.telegram.org/x y"):
        done = subprocess.run(
            [sys.executable, "-m", "bot", "run"],
            cwd=tmp_path,
            env=env_for(base, tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 2, output
        assert output.startswith("configuration error: BOT_API_BASE"), output
        assert output.count("\n") == 1 and SECRET not in output


async def test_a_refused_token_stops_the_bot_in_one_line(tmp_path: Path) -> None:
    async with Emulator("654321:OtherTokenOtherTokenOther") as emu:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env_for(emu.base_url, tmp_path),
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(), 60)
    text = err.decode()
    assert process.returncode == 1, text
    assert "CRITICAL bot: the bot stopped: the Bot API at http://127.0.0.1:" in text
    assert "refused BOT_TOKEN (check it against what BotFather gave)" in text
    assert SECRET not in text and "Traceback" not in text


async def test_an_unreachable_api_at_start_is_waited_for_and_core_dumps_are_off(
    tmp_path: Path,
) -> None:
    """The network is not up yet when the bot starts: it says so (without the token), tries
    again with growing pauses, and serves once the Bot API answers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env_for(base, tmp_path),
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    try:
        seen = b""
        while b"cannot reach the Bot API" not in seen:
            line = await asyncio.wait_for(process.stderr.readline(), 30)
            assert line, seen.decode()
            seen += line
        limits = Path(f"/proc/{process.pid}/limits").read_text()
        core = next(line for line in limits.splitlines() if line.startswith("Max core file size"))
        assert core.split()[4:6] == ["0", "0"], core
        async with Emulator(TOKEN, port=port) as emu:
            await emu.settle(timeout=30)
            while not emu.calls_to("getUpdates"):
                await asyncio.sleep(0.05)
            user = emu.user(language_code="en")
            await user.command("/start")
            await emu.settle(timeout=15)
            assert "✓ English" in user.buttons
            process.send_signal(signal.SIGTERM)
            rest = await asyncio.wait_for(process.stderr.read(), 30)
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    logs = (seen + rest).decode()
    # (A port of five digits is scrubbed like any long number.)
    assert "cannot reach the Bot API at http://127.0.0.1:" in logs
    assert "(ClientConnectorError); next try in 1 s" in logs
    assert SECRET not in logs and "Traceback" not in logs


def test_core_dumps_are_switched_off_by_the_hardening_call(tmp_path: Path) -> None:
    script = (
        "from storage.nodump import forbid_core_dumps, is_dumpable\n"
        "import resource\n"
        "before = is_dumpable()\n"
        "assert forbid_core_dumps() == []\n"
        "print(before, is_dumpable(), resource.getrlimit(resource.RLIMIT_CORE))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "True False (0, 0)"
