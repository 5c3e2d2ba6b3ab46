"""Shared helpers for the content tests: the shipped book, catalogs and directory, and a renderer
that fills a screen's placeholders the way the bot does (without Telegram)."""

from __future__ import annotations

import html
from functools import cache

from flows.catalog import Translator
from flows.directory import EXAMPLE_FILE, Directory, directory_text, load_directory
from flows.engine import State, answers_of
from flows.loader import Book, load_book

# The flows this content owns; "main" holds the menu entries that lead to them.
CONTENT_FLOWS = (
    "safety",
    "help",
    "rights",
    "plan",
    "life",
    "situations",
    "friend",
    "digital",
    "selfcheck",
    "about",
)
LANGS = ("kk", "ru", "en")
DANGER = "safety.danger"
# Telegram's limit is 4096; the checker keeps room for a one-line notice. A phone screen is far
# less: aim well under 1,000 characters, and keep the danger screen to one phone screen.
PHONE_CHARS = 1000
DANGER_CHARS = 700
PARAMS = {"idle": "15", "organisation": "Example NGO"}


@cache
def book() -> Book:
    return load_book()


@cache
def translator() -> Translator:
    return Translator.load()


@cache
def example() -> Directory:
    return load_directory(EXAMPLE_FILE)


def content_screens() -> list[str]:
    return sorted(ref for ref in book().screens if book().flow_of(ref) in CONTENT_FLOWS)


def render(state: State, directory: Directory | None = None) -> str:
    """The HTML the bot would send for ``state``'s screen (placeholders escaped like the bot)."""
    assert state.screen is not None and state.locale is not None
    screen = book().screen(state.screen)
    params: dict[str, object] = {k: html.escape(v, quote=False) for k, v in PARAMS.items()}
    if "directory" in screen.shows:
        region = answers_of(state, "help").get("region")
        assert region is None or isinstance(region, str)
        params["directory"] = directory_text(
            directory or example(), region, state.locale, translator()
        )
    return translator().text(state.locale, screen.text, params)
