"""Walks shared by the resilience suites: the shortest report a user can file, by button label."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable

from telegram_emulator.client import SimUser
from tests.resilience.conftest import texts

Settle = Callable[[], Awaitable[None]]

# From the main menu (English) to the review screen, with her story typed at step 7.
BEFORE_STORY = (
    "📝 Tell us what happened",
    "I understand, continue",
    "Yes, I'm safe now",
    "Next ➡️",
    "Prefer not to say",
    "Prefer not to say",
    "Prefer not to say",
    "Prefer not to say",
)
AFTER_STORY = ("Next ➡️", "Next ➡️", "No, don't contact me")
SEND = "✅ Send"
THANKS = "Thank you"


async def start_in_english(user: SimUser, settle: Settle) -> None:
    await answered(user, user.command("/start"), settle)
    await answered(user, user.press("✓ English"), settle)


async def draft_report(user: SimUser, story: str, settle: Settle) -> None:
    """From the main menu to the review screen of a report that carries ``story``."""
    for label in BEFORE_STORY:
        await answered(user, user.press(label), settle)
    await answered(user, user.send(story), settle)
    for label in AFTER_STORY:
        await answered(user, user.press(label), settle)


async def answered(user: SimUser, act: Awaitable[object], settle: Settle) -> None:
    """Do ``act``, wait until the bot changed her chat, then until it is quiet.

    A bot in another process answers its webhook before it handles the update, out of the
    emulator's sight: quiet alone can come before the answer on a loaded machine.
    """
    before = user.bot_changes
    await act
    await until(user, lambda: True, before)
    await settle()


async def until(
    user: SimUser, ready: Callable[[], bool], since: int = -1, timeout: float = 90
) -> None:
    """Wait until the bot changed her chat (after change number ``since``) and ``ready()``."""
    deadline = time.monotonic() + timeout
    while user.bot_changes <= since or not ready():
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"chat not ready; last: {texts(user)[-1:]}, {user.buttons}")
        with contextlib.suppress(TimeoutError):
            await user.wait_bot(user.bot_changes, timeout=min(left, 5))


def screen(user: SimUser) -> tuple[int, str]:
    message = user.keyboard_message
    return (message.message_id, message.text or "") if message else (0, "")


async def walk(user: SimUser, labels: tuple[str, ...]) -> None:
    """Press each label once the previous press brought a new screen that has it."""
    for label, following in itertools.pairwise(labels):
        shown = screen(user)
        await user.press(label, timeout=90)

        def ready(shown: tuple[int, str] = shown, following: str = following) -> bool:
            return screen(user) != shown and following in user.buttons

        await until(user, ready)
