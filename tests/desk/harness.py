"""What the desk's tests share: caseworker keys, a staff API on loopback (in this event loop),
a desk started as `python -m caseworker desk` starts it, and a real small photo."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from caseworker.desk.cache import Cache
from caseworker.desk.server import Running, start
from caseworker.desk.state import DeskConfig
from staff_api.app import build_app
from staff_api.config import Settings as StaffSettings
from storage.keys import (
    KeyKind,
    Passphrase,
    PrivateKey,
    PublicKey,
    generate_keypair,
    insecure_argon2_params,
    read_key_file_info,
    write_private_key_file,
)
from storage.staff_store import StaffStore

PASSPHRASE = "correct horse battery staple"


@dataclass
class Caseworker:
    name: str
    key: PrivateKey
    path: Path

    @property
    def public(self) -> PublicKey:
        return self.key.public


def caseworker(folder: Path, name: str, kind: KeyKind = "mlkem768x25519") -> Caseworker:
    """A caseworker's key file (fast Argon2: tests only)."""
    key = generate_keypair(kind)
    path = folder / f"{name.lower()}.key"
    write_private_key_file(
        path, key, Passphrase(PASSPHRASE), params=insecure_argon2_params(), name=name
    )
    return Caseworker(name, key, path)


@asynccontextmanager
async def staff_api(db: Path, team: list[PublicKey]) -> AsyncIterator[str]:
    """The staff API over `db` on a free loopback port; yields its base URL."""
    store = await StaffStore.open(db)
    settings = StaffSettings(
        enabled=True, host="127.0.0.1", port=0, vault_path=db, team=tuple(team)
    )
    runner = web.AppRunner(build_app(settings, store), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
        await store.close()


@asynccontextmanager
async def desk(
    who: Caseworker, cache: Path, *, server: str | None = None, db: Path | None = None
) -> AsyncIterator[Running]:
    """A desk for `who`, as the command line starts it (127.0.0.1, a one-time link)."""
    config = DeskConfig(
        key_path=who.path, key_info=read_key_file_info(who.path), server=server, db=db
    )
    running = await start(config, Cache(cache))
    try:
        yield running
    finally:
        await running.stop()


def png(width: int = 48, height: int = 32, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A real PNG (the browser decodes it), made here: no image files in the repository."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )
