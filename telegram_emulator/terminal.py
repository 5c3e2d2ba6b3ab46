"""A plain-text chat window onto the emulator, for the offline sandbox.

A person types as the simulated user and watches the bot's messages appear, change and disappear,
which is the point of a quick exit. Plain lines only (no curses), so it also works in a pipe and in
tests. Input: a number ``N`` presses button N of the newest keyboard (when it has one), ``/x`` is a
command, ``:location`` and ``:contact`` share sample identifying data, ``:q`` or end of input quits,
anything else is sent as text.
"""

from __future__ import annotations

import asyncio
import mimetypes
import sys
import threading
from pathlib import Path
from typing import TextIO

from telegram_emulator.client import Emulator, SettleTimeout, SimUser
from telegram_emulator.state import ChangeKind, StoredMessage

HELP = (
    "Type to chat. N presses button N, /command sends a command, "
    ":location / :contact share sample data, :photo PATH / :file PATH / :voice PATH send a file "
    "from this computer, :q quits."
)
_INDENT = "      "


class TerminalChat:
    """Reads lines as one user, prints that user's chat as it changes."""

    def __init__(
        self,
        emu: Emulator,
        user: SimUser,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        settle_timeout: float = 10.0,
    ) -> None:
        self.emu = emu
        self.user = user
        self.stdin = stdin if stdin is not None else sys.stdin
        self.out = stdout if stdout is not None else sys.stdout
        self.settle_timeout = settle_timeout
        self._alerts_shown = 0

    async def run(self) -> None:
        """Chat until ``:q`` or end of input."""
        unsubscribe = self.emu.subscribe(self._on_change)
        lines = self._start_reader()
        self._write(HELP)
        try:
            while True:
                line = await lines.get()
                if line is None or line.strip() == ":q":
                    break
                await self.handle(line.rstrip("\r\n"))
        finally:
            unsubscribe()
        self._write("— end of chat —")

    async def handle(self, line: str) -> None:
        """Act on one input line, then wait for the bot to finish answering."""
        text = line.strip()
        if not text:
            return
        try:
            if text.isdigit() and 1 <= int(text) <= len(self.user.buttons):
                await self.user.press_index(int(text) - 1, timeout=self.settle_timeout)
            elif text == ":location":
                await self.user.send_location(43.238949, 76.889709)
            elif text == ":contact":
                await self.user.send_contact("+77001234567", self.user.user["first_name"])
            elif text.startswith((":photo ", ":file ", ":voice ")):
                await self._send_file(text)
            elif text == ":help":
                self._write(HELP)
                return
            elif text.startswith("/"):
                await self.user.command(text)
            else:
                await self.user.send(text)
            await self.emu.settle(timeout=self.settle_timeout)
        except OSError as exc:
            self._write(f"! cannot read that file: {exc.strerror}")
        except (LookupError, ValueError) as exc:
            self._write(f"! {exc}")
        except (SettleTimeout, TimeoutError):
            self._write("! the bot did not answer in time")
        self._show_alerts()

    async def _send_file(self, text: str) -> None:
        command, _, raw = text.partition(" ")
        path = Path(raw.strip())
        data = await asyncio.to_thread(lambda: path.expanduser().read_bytes())
        if command == ":photo":
            await self.user.send_photo(data)
        elif command == ":voice":
            await self.user.send_voice(data)
        else:
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            await self.user.send_document(data, path.name, mime)

    # --- output -------------------------------------------------------------------------------

    def _on_change(self, kind: ChangeKind, chat_id: int, message: StoredMessage) -> None:
        if chat_id != self.user.id:
            return
        if kind == "new":
            self._write(self._render(message))
        elif kind == "edit":
            self._write("✎ edited")
            self._write(self._render(message))
        else:
            self._write(f"✖ deleted: {self._preview(message)}")

    def _show_alerts(self) -> None:
        for alert in self.user.alert_details[self._alerts_shown :]:
            self._write(f"{'⚠' if alert.show_alert else 'ℹ'} {alert.text}")
        self._alerts_shown = len(self.user.alert_details)

    def _render(self, message: StoredMessage) -> str:
        who = "bot ›" if message.from_bot else "you ›"
        body = message.text if message.text is not None else f"[{message.kind}]"
        lines = body.splitlines() or [""]
        out = [f"{who} {lines[0]}", *(_INDENT + line for line in lines[1:])]
        number = 0
        for row in message.buttons:
            cells = []
            for label, data in row:
                number += 1
                cells.append(f"[{number}] {label}" + ("" if data is not None else " ↗"))
            out.append(_INDENT + "  ".join(cells))
        return "\n".join(out)

    @staticmethod
    def _preview(message: StoredMessage) -> str:
        who = "bot ›" if message.from_bot else "you ›"
        body = (message.text or f"[{message.kind}]").replace("\n", " ")
        return f"{who} {body[:40]}{'…' if len(body) > 40 else ''}"

    def _write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    # --- input --------------------------------------------------------------------------------

    def _start_reader(self) -> asyncio.Queue[str | None]:
        """Read lines on a daemon thread: a blocked stdin read must never keep the process alive."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()

        def read() -> None:
            try:
                for line in iter(self.stdin.readline, ""):
                    loop.call_soon_threadsafe(queue.put_nowait, line)
            finally:
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, None)
                except RuntimeError:
                    pass  # the loop already closed; nobody is waiting

        threading.Thread(target=read, name="terminal-chat-input", daemon=True).start()
        return queue
