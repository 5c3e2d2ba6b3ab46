"""A bot under test as its own process, and what /proc says about it.

CPU time comes from ``/proc/<pid>/stat`` (utime + stime), memory from ``/proc/<pid>/status``
(VmRSS now, VmHWM the peak). No third-party dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from telegram_emulator.client import Emulator

ROOT = Path(__file__).resolve().parent.parent
_TICK = os.sysconf("SC_CLK_TCK")

REAL = "real"
BARE = "bare"
POLLING = "polling"
WEBHOOK = "webhook"
# Both bots' webhook secret in the benchmark (the real bot would draw a random one per start).
WEBHOOK_SECRET = "benchmark-webhook-secret"  # noqa: S105 - not a secret
COMMANDS: dict[str, list[str]] = {
    REAL: [sys.executable, "-m", "bot", "run"],
    BARE: [sys.executable, "-m", "bench.bare_bot"],
}
# The real bot with test-only overrides on its command line (bench/bot_under_test.py).
REAL_UNDER_TEST = [sys.executable, "-m", "bench.bot_under_test"]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process has used so far."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    # After the command name: state is field 3, utime field 14, stime field 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / _TICK


def memory_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (peak RSS) in KiB."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (``clear_refs`` 5); False where the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class StartError(RuntimeError):
    """The bot process did not reach its first getUpdates (or its setWebhook)."""


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class BotProcess:
    """One bot process polling one emulator."""

    kind: str
    emu: Emulator
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    # Test-only overrides: the real bot then runs as bench.bot_under_test with these arguments.
    args: list[str] = field(default_factory=list)
    mode: str = POLLING
    proc: asyncio.subprocess.Process | None = None
    startup_seconds: float = 0.0
    _log: Path | None = None

    @property
    def pid(self) -> int:
        """The process id (the bot must be started)."""
        assert self.proc is not None
        return self.proc.pid

    async def start(self, timeout: float = 30.0) -> float:  # noqa: ASYNC109
        """Start the process; return seconds from spawn to its first getUpdates (polling) or its
        setWebhook (webhook mode) at the emulator: from then on it takes updates."""
        first = "getUpdates" if self.mode == POLLING else "setWebhook"
        webhook: dict[str, str] = {}
        if self.mode == WEBHOOK:
            port = free_port()
            webhook = {
                "WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
                "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
                "WEBHOOK_SECRET": WEBHOOK_SECRET,
            }
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(ROOT),
            "LANG": "C.UTF-8",
            "BOT_TOKEN": self.emu.token,
            "BOT_API_BASE": self.emu.base_url,
            "LOG_LEVEL": "WARNING",
            **webhook,
            **self.env,
        }
        self._log = self.workdir / f"{self.kind}-{self.mode}-{int(time.monotonic() * 1000)}.log"
        seen = len(self.emu.calls)
        with self._log.open("wb") as log:
            started = time.monotonic()
            # The command is fixed (this interpreter, a module of this repository).
            self.proc = await asyncio.create_subprocess_exec(
                *self.command(),
                cwd=self.workdir,
                env=env,
                stdout=log,
                stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
            )
        deadline = started + timeout
        for _ in range(int(timeout / 0.002) + 1):
            for call in self.emu.calls[seen:]:
                if call.method == first:
                    self.startup_seconds = call.at - started
                    return self.startup_seconds
            seen = len(self.emu.calls)
            if self.proc.returncode is not None or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.002)
        await self.stop()
        raise StartError(f"{self.kind} bot did not poll: {self.log_tail()}")

    def command(self) -> list[str]:
        """The command line this bot starts with."""
        if self.args:
            assert self.kind == REAL, "only the real bot takes test-only overrides"
            return [*REAL_UNDER_TEST, *self.args]
        return COMMANDS[self.kind]

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the process's stdout and stderr."""
        if self._log is None or not self._log.exists():
            return ""
        return self._log.read_text(errors="replace")[-chars:]

    def cpu(self) -> float:
        """CPU seconds used so far."""
        return cpu_seconds(self.pid)

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM in KiB."""
        return memory_kib(self.pid)

    async def stop(self, timeout: float = 20.0) -> int | None:  # noqa: ASYNC109
        """SIGINT (graceful: the real bot wipes every live conversation), then SIGKILL."""
        proc = self.proc
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
        return await proc.wait()
