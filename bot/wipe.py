"""The quick exit's wipe: delete every recorded message of a conversation, both sides.

It must finish whatever Telegram says: ids that are gone or older than 48 hours are skipped by
``deleteMessages``; rate limits are waited out; other failures are swallowed, never shown to her.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import Update

from bot import incidents

BATCH = 100  # deleteMessages takes at most 100 ids per call
ATTEMPTS = 5  # per batch, for rate limits and passing server or network faults
MAX_RETRY_AFTER = 30.0  # never keep a shutdown waiting longer than this on one batch


# A message whose send timed out or whose answer was lost may have been delivered all the same,
# with an id the bot never learned. The bot notes the last id it knew when that happened; the ids
# just after it are deleted too. (Ids in a private chat are numbered per user account, so some may
# belong to her other chats: deleteMessages is scoped to this chat and skips them.)
LOST_SPAN = 3


def maybe_delivered(after: Sequence[int], span: int = LOST_SPAN) -> list[int]:
    """The ids a send that failed after id ``a`` may have used, for each ``a`` in ``after``."""
    return [a + k for a in after for k in range(1, span + 1)]


def forget_updates() -> None:
    """Drop the updates aiogram keeps in memory after handling them.

    ``Update.event_type`` is memoised in an ``lru_cache`` keyed by the update itself, so the last
    128 updates (her words, her name, her ids) stayed in the process however long ago she left.
    """
    prop = vars(Update).get("event_type")
    cache_clear = getattr(getattr(prop, "fget", None), "cache_clear", None)
    if cache_clear is not None:
        cache_clear()


def batches(ids: Sequence[int], size: int = BATCH) -> list[list[int]]:
    """``ids`` without duplicates, in order, cut into lists of at most ``size``."""
    unique = list(dict.fromkeys(ids))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


async def delete_all(bot: Bot, chat_id: int, ids: Sequence[int]) -> int:
    """Delete ``ids`` in ``chat_id``; returns how many batches could not be confirmed."""
    failed = 0
    for batch in batches(ids):
        if not await _delete_batch(bot, chat_id, batch):
            failed += 1
    if failed:
        incidents.note("wipe batch not confirmed")
    return failed


async def _delete_batch(bot: Bot, chat_id: int, batch: list[int]) -> bool:
    for attempt in range(ATTEMPTS):
        try:
            await bot.delete_messages(chat_id=chat_id, message_ids=batch)
            return True
        except TelegramRetryAfter as exc:
            await asyncio.sleep(min(float(exc.retry_after), MAX_RETRY_AFTER))
        except (TelegramServerError, TelegramNetworkError):
            await asyncio.sleep(0.2 * 2**attempt)
        except TelegramAPIError as exc:
            # Bad request or forbidden (she blocked the bot): nothing more can be deleted.
            incidents.note("wipe batch refused", exc)
            return False
    return False
