"""What a message must be for a handler to take it, as coroutines.

aiogram runs a plain function filter, and each magic ``F`` filter, in a worker thread
(``asyncio.to_thread``) on every message it is tried on; a text passed four of them before reaching
its handler, each a hand-off to a thread and back. A coroutine filter runs in the event loop.
"""

from __future__ import annotations

from aiogram.types import Message

from flows.engine import is_exit_word


async def exit_word(message: Message) -> bool:
    """A typed exit word or exit command (see :func:`flows.engine.is_exit_word`)."""
    return message.text is not None and is_exit_word(message.text)


async def identifying(message: Message) -> bool:
    """A shared location, venue or contact."""
    return bool(message.location or message.venue or message.contact)


async def command_like(message: Message) -> bool:
    """Text that starts like a command."""
    return message.text is not None and message.text.startswith("/")


async def has_text(message: Message) -> bool:
    """Any text."""
    return bool(message.text)
