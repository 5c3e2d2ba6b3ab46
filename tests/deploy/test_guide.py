"""docs/operating.md, section 1, done the way a person would do it: its commands, in order, in a
clean home folder, from a fresh clone of this working tree, to the bot running in webhook mode
against the emulator beside the staff API, answering in the chat window, and both stopping
cleanly. On the way: the runtime is installed from the lock and holds nothing else, and the
fingerprint the bot logs is the one the caseworker's keygen printed, logged once.

The guide marks its steps with HTML comments the reader never sees: ``<!-- guide: run -->``
before a block to run (it must succeed), ``<!-- guide: background NAME -->`` before a block that
keeps running (a terminal of its own), ``<!-- guide: chat TEXT -->`` where she types into the
emulator's chat window, ``<!-- guide: stop NAME -->`` where she presses Ctrl-C. The only changes
made to the commands: the clone URL points at a copy of this working tree, and the four ports
are free ones (the machine is shared).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operating.md"
CLONE_URL = "https://github.com/ORGANISATION/safe-report-bot.git"
# The emulator, the webhook, the bot's health and metrics, the staff API.
PORTS = ("8081", "8080", "9101", "8787")
# What each background step prints once it is ready for the next step.
READY = {
    "emulator": "Bot API emulator at",
    "bot": "Telegram reports no delivery error",
    "staff-api": "staff API listening on",
}
# Installed into every new environment by Python's own venv (ensurepip), not from the lock.
BUNDLED = {"pip", "setuptools"}
STEP = re.compile(
    r"<!-- guide: (\w+)(?: ([^\s-][^\n]*?))? -->\n(?:\n?```\w*\n(.*?)```)?", re.DOTALL
)


@dataclass
class Step:
    kind: str  # run, background, chat, stop
    arg: str
    code: str


def steps(section: str) -> list[Step]:
    return [Step(m[1], m[2] or "", m[3] or "") for m in STEP.finditer(section)]


def first_section() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index("## 1. ")
    return text[start : text.index("\n## 2. ", start)]


@dataclass
class Background:
    """A command left running, as in a terminal of its own; its output collected."""

    name: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        for stream in (self.process.stdout, self.process.stderr):
            reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
            reader.start()
            self.readers.append(reader)

    def close(self) -> None:
        """End it (SIGTERM, then SIGKILL) if it still runs; close its pipes."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        for reader in self.readers:
            reader.join(timeout=5)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    def _read(self, stream: object) -> None:
        for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
            self.output.append(line)

    def text(self) -> str:
        return "".join(self.output)

    def wait_for(self, needle: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} ended: {self.text()[-3000:]}")
            assert time.monotonic() < deadline, f"{self.name}: no {needle!r}: {self.text()[-3000:]}"
            time.sleep(0.05)


def free_ports(count: int) -> list[str]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [str(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def export_working_tree(into: Path) -> Path:
    """A git repository holding this working tree as it is now (committed or not)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git = ["git", "-c", "user.name=guide", "-c", "user.email=guide@localhost"]
    subprocess.run([*git, "init", "-q"], cwd=into, check=True)
    subprocess.run([*git, "add", "-A"], cwd=into, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "export"], cwd=into, check=True)
    return into


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "home"
    folder.mkdir()
    yield folder


def test_the_guide_gets_the_bot_running_in_webhook_mode(home: Path, tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    origin = export_working_tree(tmp_path / "origin")
    ports = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))

    def adapt(code: str) -> str:
        code = code.replace(CLONE_URL, str(origin))
        for guide_port, port in ports.items():
            code = re.sub(rf"\b{guide_port}\b", port, code)
        return code

    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    running: dict[str, Background] = {}
    outputs: list[str] = []
    found = steps(first_section())
    assert [(s.kind, s.arg) for s in found] == [
        ("run", ""),
        ("background", "emulator"),
        ("run", ""),
        ("background", "bot"),
        ("background", "staff-api"),
        ("run", ""),
        ("chat", "/start"),
        ("stop", "bot"),
        ("stop", "staff-api"),
    ], "the guide's first section changed: update this test with it"
    try:
        for step in found:
            if step.kind == "run":
                done = subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", adapt(step.code)],
                    cwd=home,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
                assert done.returncode == 0, (
                    f"{step.code}\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
                )
                outputs.append(done.stdout)
            elif step.kind == "background":
                process = subprocess.Popen(
                    ["bash", "-c", adapt(step.code)],
                    cwd=home,
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    start_new_session=True,  # its own terminal: Ctrl-C reaches it alone
                )
                running[step.arg] = Background(step.arg, process)
                running[step.arg].wait_for(READY[step.arg])
            elif step.kind == "chat":
                chat = running["emulator"]
                assert chat.process.stdin is not None
                chat.process.stdin.write(step.arg + "\n")
                chat.process.stdin.flush()
                chat.wait_for("Қазақша")  # the language screen, each language named natively
                chat.process.stdin.write("exit\n")
                chat.process.stdin.flush()
                chat.wait_for("✖ deleted")
            elif step.kind == "stop":
                stopping = running[step.arg]
                os.killpg(stopping.process.pid, signal.SIGINT)  # Ctrl-C in its terminal
                assert stopping.process.wait(timeout=60) == 0, stopping.text()[-3000:]
        bot_health, staff_health, *info = outputs[-1].splitlines()
        assert (bot_health, staff_health) == ("ok", "ok")
        assert f"url: http://127.0.0.1:{ports['8080']}/telegram-hook" in info
        assert "last error: none" in info
        log = running["bot"].text()
        assert "check FAILED" not in log and "Traceback" not in log
        assert "bot starting: webhook on 127.0.0.1" in log
        # The key ceremony, in small: the bot logs, once, the fingerprint keygen printed.
        fingerprint = re.search(r"^fingerprint: ([\d ]+)$", outputs[1], re.MULTILINE)
        assert fingerprint is not None, outputs[1]
        assert len(fingerprint[1].replace(" ", "")) == 40
        assert log.count(fingerprint[1]) == 1, log
        assert f"recipient 1 of 1: mlkem768x25519 key, fingerprint {fingerprint[1]}" in log
        assert "Traceback" not in running["staff-api"].text()
        assert installed(home / "safe-report-bot" / "venv", env) == runtime_pins()
    finally:
        for background in running.values():
            background.close()


def runtime_pins() -> dict[str, str]:
    """Name -> version of every package locks/runtime.txt pins."""
    found = re.findall(
        r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "locks" / "runtime.txt").read_text(), re.M
    )
    return {canonical(name): version for name, version in found}


def installed(venv: Path, env: dict[str, str]) -> dict[str, str]:
    """Name -> version of every package in ``venv``, but what Python's venv puts in all of them."""
    listing = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m\n"
            "for d in m.distributions(): print(d.metadata['Name'], d.version)",
        ],
        env=env,
        # Not the checkout: `-c` puts the working directory on the path, and a checkout with an
        # editable install's metadata in it would count as installed.
        cwd=venv,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pairs = (line.split(" ", 1) for line in listing.splitlines())
    return {canonical(name): version for name, version in pairs if canonical(name) not in BUNDLED}


def canonical(name: str) -> str:
    """A package name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_russian_guide_runs_the_same_commands() -> None:
    """operating.ru.md says its first section's commands are the ones tested here: they are."""

    def blocks(path: Path) -> list[str]:
        text = path.read_text(encoding="utf-8")
        start = text.index("## 1. ")
        section = text[start : text.index("\n## 2. ", start)]
        return re.findall(r"```sh\n(.*?)```", section, re.DOTALL)

    english = blocks(GUIDE)
    assert len(english) == 7
    assert blocks(GUIDE.with_name("operating.ru.md")) == english
