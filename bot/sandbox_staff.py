"""The sandbox's caseworker side: a clearly labelled sandbox key, and the staff API on loopback,
so a report can be sent and read in the desk at once (``python -m caseworker desk --sandbox``).

The key's passphrase is printed and is no secret: the sandbox key is for trying the product on
this machine, never for real reports. The staff API runs as its own process, as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from storage.keys import (
    Passphrase,
    generate_keypair,
    read_public_key_of_key_file,
    write_private_key_file,
)

SANDBOX_PASSPHRASE = "sandbox passphrase"  # noqa: S105 - printed on purpose: a sandbox key
SANDBOX_NAME = "Sandbox caseworker"
PREFERRED_PORT = 8787
ROOT = Path(__file__).resolve().parent.parent


def sandbox_folder(vault_path: Path) -> Path:
    """The sandbox's own folder, beside its vault (``var/sandbox`` by default)."""
    return vault_path.parent / "sandbox"


def sandbox_key(folder: Path) -> tuple[Path, str]:
    """The sandbox caseworker key (made once) and its public line."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / "caseworker.key"
    if not path.exists():
        write_private_key_file(
            path, generate_keypair(), Passphrase(SANDBOX_PASSPHRASE), name=SANDBOX_NAME
        )
    return path, read_public_key_of_key_file(path).text


def _free_port() -> int:
    for port in (PREFERRED_PORT, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError("no free port on 127.0.0.1")


@dataclass
class StaffApi:
    """The staff API process the sandbox started."""

    process: asyncio.subprocess.Process
    url: str

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def start_staff_api(vault_path: Path, recipients: str) -> StaffApi:
    """Start ``python -m staff_api serve`` on loopback over the sandbox's vault; wait for it."""
    port = _free_port()
    env = {
        **os.environ,
        "STAFF_API_ENABLED": "true",
        "STAFF_API_LISTEN": f"127.0.0.1:{port}",
        "VAULT_PATH": str(vault_path),
        "REPORT_RECIPIENTS": recipients,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "staff_api",
        "serve",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    api = StaffApi(process, f"http://127.0.0.1:{port}")
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            if process.returncode is not None:
                break
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{api.url}/v1/health") as answer:
                    if answer.status == 200:
                        return api
            await asyncio.sleep(0.1)
    await api.stop()
    raise OSError("the sandbox's staff API did not start")


def write_desk_note(folder: Path, key: Path, url: str) -> None:
    """Where ``caseworker desk --sandbox`` finds the sandbox's key and staff API."""
    note = folder / "desk.json"
    note.write_text(json.dumps({"key": str(key), "server": url}) + "\n", encoding="utf-8")
