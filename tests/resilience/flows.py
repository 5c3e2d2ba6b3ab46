"""Walks shared by the resilience suites: the shortest report a user can file, by button label."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram_emulator.client import SimUser

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
    await user.command("/start")
    await settle()
    await user.press("✓ English")
    await settle()


async def draft_report(user: SimUser, story: str, settle: Settle) -> None:
    """From the main menu to the review screen of a report that carries ``story``."""
    for label in BEFORE_STORY:
        await user.press(label)
        await settle()
    await user.send(story)
    await settle()
    for label in AFTER_STORY:
        await user.press(label)
        await settle()
