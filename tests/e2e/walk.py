"""Paths to every screen, computed with the pure engine, replayed in the emulator as a user would."""

from __future__ import annotations

from collections import deque

from flows.engine import Press, State, keys, step
from flows.loader import HOME, Book
from flows.schema import Action, Nav


def paths_to_every_screen(book: Book, locale: str) -> dict[str, list[int]]:
    """For each screen reachable from the main menu: the button indexes that lead there."""
    start = State(locale=locale, screen=HOME)
    paths: dict[str, list[int]] = {HOME: []}
    states = {HOME: start}
    queue = deque([HOME])
    while queue:
        ref = queue.popleft()
        state = states[ref]
        for key in keys(book, state):
            if key.action in (Action.EXIT, Action.SUBMIT, Action.SET_LANGUAGE) or (
                key.kind == "nav" and key.value in (Nav.EXIT, Nav.LANGUAGE)
            ):
                continue
            nxt = step(book, state, Press(key.index)).state
            if nxt.screen and nxt.screen not in paths:
                paths[nxt.screen] = [*paths[ref], key.index]
                states[nxt.screen] = nxt
                queue.append(nxt.screen)
    return paths
