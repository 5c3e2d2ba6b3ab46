"""Every screen of every flow as an engine state, found with the pure engine (no network)."""

from __future__ import annotations

from collections import deque

from flows.engine import Press, State, keys, step
from flows.loader import HOME, LANGUAGE, Book
from flows.schema import LANGUAGES


def every_screen(book: Book) -> list[State]:
    """One reachable state per screen and language, the language choice included.

    Breadth first from the main menu, pressing every button (submitting and exiting only change
    effects, not screens, so they are left out of the walk but not out of the fuzzing).
    """
    found: dict[tuple[str | None, str], State] = {}
    for lang in LANGUAGES:
        start = State(locale=lang, screen=HOME)
        found[(lang, HOME)] = start
        queue = deque([start])
        while queue:
            state = queue.popleft()
            for key in keys(book, state):
                outcome = step(book, state, Press(key.index))
                if outcome.effect is not None:
                    continue
                nxt = outcome.state
                if nxt.screen is None or nxt.locale != lang:
                    continue
                if (lang, nxt.screen) not in found:
                    found[(lang, nxt.screen)] = nxt
                    queue.append(nxt)
    found[(None, LANGUAGE)] = State(screen=LANGUAGE)
    return list(found.values())
