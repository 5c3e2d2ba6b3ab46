"""Evidence downloads, on a small connection pool of their own.

A file comes from the Bot API's file endpoint as fast as Telegram serves it, and holds its
connection for as long as that takes. On aiogram's pool, shared with every Bot API call, a hundred
slow downloads held every connection: another woman's exit waited 11 s, and so did ``getUpdates``
(issue 10). Here downloads take turns on :data:`CONNECTIONS` connections of their own; the calls
that delete, edit and fetch updates never queue behind them.

A download's time limit starts when its turn comes, not while it waits for one, and it stops
reading as soon as the file is larger than the bot would keep.
"""

from __future__ import annotations

import asyncio
import ssl

import certifi
from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector

# Downloads at once, for the whole bot. Few: each is one file of at most 20 MB, and they are
# many times rarer than the calls they must not crowd out.
CONNECTIONS = 4
# Seconds one download may take once its turn has come (20 MB at about 3 Mbit/s).
TIMEOUT = 60.0
_CHUNK = 64 * 1024


class TooLarge(Exception):
    """The file is larger than it may be; reading stopped there."""


class DownloadFailed(Exception):
    """The file could not be had; the message names the HTTP status or the error's type only.

    aiohttp's own errors carry the URL, and a file URL holds the bot token: a traceback logged
    at DEBUG (bot.incidents) would put the token in the log.
    """


class Downloads:
    """Files from the Bot API, :data:`CONNECTIONS` at a time, on connections of their own."""

    def __init__(self, connections: int = CONNECTIONS, timeout: float = TIMEOUT) -> None:
        self.connections = connections
        self.timeout = timeout
        self._turns = asyncio.Semaphore(connections)
        self._session: ClientSession | None = None
        self.waiting = 0  # downloads waiting for their turn

    def _pool(self, url: str) -> ClientSession:
        if self._session is None or self._session.closed:
            # Telegram's certificates checked against certifi's roots, as aiogram does; a local
            # Bot API server over plain http needs no context (building one reads the roots).
            context: ssl.SSLContext | bool = False
            if url.startswith("https:"):
                context = ssl.create_default_context(cafile=certifi.where())
            connector = TCPConnector(limit=self.connections, ssl=context)
            self._session = ClientSession(connector=connector)
        return self._session

    async def fetch(self, url: str, limit: int) -> bytes:
        """The file at ``url``; raises :class:`TooLarge` past ``limit`` bytes,
        :class:`DownloadFailed` or ``TimeoutError`` when the download fails."""
        self.waiting += 1
        try:
            await self._turns.acquire()
        finally:
            self.waiting -= 1
        try:
            async with asyncio.timeout(self.timeout):
                return await self._read(url, limit)
        finally:
            self._turns.release()

    async def _read(self, url: str, limit: int) -> bytes:
        try:
            return await self._body(url, limit)
        except ClientError as exc:
            # "from None": the traceback shows neither aiohttp's error nor its URL.
            raise DownloadFailed(type(exc).__name__) from None

    async def _body(self, url: str, limit: int) -> bytes:
        timeout = ClientTimeout(total=None, sock_connect=self.timeout)
        async with self._pool(url).get(url, timeout=timeout) as response:
            if response.status >= 400:
                raise DownloadFailed(f"HTTP {response.status}")
            if response.content_length is not None and response.content_length > limit:
                raise TooLarge
            data = bytearray()
            async for chunk in response.content.iter_chunked(_CHUNK):
                data += chunk
                if len(data) > limit:
                    raise TooLarge
            return bytes(data)

    async def close(self) -> None:
        """Close the pool (a download started later opens it again)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
