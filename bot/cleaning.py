"""Evidence cleaned off the event loop, a few files at a time.

Cleaning (bot/evidence.py) is plain CPU on a file's bytes: tens of milliseconds for a large photo.
On the event loop, a burst of large pictures held up every other conversation, exits included.
Here it runs on :data:`WORKERS` threads of its own; files beyond that wait their turn, still
counted against the evidence memory cap by the caller until they are held in a draft.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from bot.evidence import clean_attachment
from storage import Attachment

# Files cleaned at once. Threads, not processes: the bytes need not be copied to another
# process, and the loop still gets its turn (the interpreter switches threads every few ms).
WORKERS = 2


class Cleaning:
    """Runs :func:`bot.evidence.clean_attachment` on a small pool of threads."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="evidence")

    async def clean(self, attachment: Attachment) -> Attachment:
        """``attachment`` cleaned (see :func:`bot.evidence.clean_attachment`), off the loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, clean_attachment, attachment)

    def close(self) -> None:
        """Stop the threads; files still waiting are dropped (their drafts are going too)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
