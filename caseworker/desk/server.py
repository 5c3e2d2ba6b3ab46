"""Run the desk: bind 127.0.0.1 (nothing else, ever), print the one-time link as the first line
of output, open her browser, serve until Ctrl-C; lock on the way out."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import sys
import webbrowser
from dataclasses import dataclass
from typing import TextIO

from aiohttp import web

from caseworker.desk.cache import Cache
from caseworker.desk.decrypt import Decryptor
from caseworker.desk.labels import Labels
from caseworker.desk.pages import routes
from caseworker.desk.state import Desk, DeskConfig, Phase
from caseworker.desk.web import (
    DESK,
    GATE,
    LABELS,
    TEMPLATES,
    Gate,
    gate_middleware,
    headers_on_everything,
    templates,
)
from caseworker.errors import ConsoleError

HOST = "127.0.0.1"
IDLE_CHECK_SECONDS = 15.0


def check_loopback(host: str) -> str:
    """The desk serves plaintext to one person's browser: it refuses any address but loopback."""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise ConsoleError(f"the desk listens on {HOST} only (asked for {host})")


def build_app(desk: Desk, gate: Gate, labels: Labels) -> web.Application:
    """The desk's aiohttp application."""
    app = web.Application(middlewares=[headers_on_everything, gate_middleware()])
    app[DESK] = desk
    app[GATE] = gate
    app[LABELS] = labels
    app[TEMPLATES] = templates()
    routes(app)
    return app


@dataclass
class Running:
    """A started desk: its URL (with the one-time token) and how to stop it."""

    url: str
    desk: Desk
    runner: web.AppRunner
    watcher: asyncio.Task[None]

    async def stop(self) -> None:
        self.watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.watcher
        await self.runner.cleanup()
        await self.desk.close()


async def _watch_idle(desk: Desk) -> None:
    """Lock an idle desk even when no page is asked for (the key must not wait in memory)."""
    while True:
        await asyncio.sleep(IDLE_CHECK_SECONDS)
        if desk.phase is not Phase.LOCKED and desk.idle():
            desk.lock()


async def start(config: DeskConfig, cache: Cache, *, port: int = 0, host: str = HOST) -> Running:
    """Start serving; returns once the port is bound."""
    check_loopback(host)
    decryptor = Decryptor()
    decryptor.start()
    desk = Desk(config=config, cache=cache, decryptor=decryptor)
    labels = await asyncio.to_thread(Labels.load)
    gate = Gate(port=port)
    runner = web.AppRunner(
        build_app(desk, gate, labels), access_log=None, handle_signals=False, shutdown_timeout=1
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        decryptor.stop()
        raise ConsoleError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    gate.port = runner.addresses[0][1]
    url = f"http://{HOST}:{gate.port}/open?token={gate.token}"
    return Running(url, desk, runner, asyncio.ensure_future(_watch_idle(desk)))


async def serve(config: DeskConfig, cache: Cache, *, port: int, browser: bool, out: TextIO) -> None:
    """Start, print the link, open the browser, serve until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(number, stop.set)
    running = await start(config, cache, port=port)
    out.write(f"{running.url}\n")
    out.write(
        "The desk is open at this link (once). Keep this window open; Ctrl-C closes the desk.\n"
    )
    out.flush()
    if browser:
        await asyncio.to_thread(webbrowser.open, running.url)
    try:
        await stop.wait()
    finally:
        await running.stop()
        print("desk closed", file=sys.stderr)
