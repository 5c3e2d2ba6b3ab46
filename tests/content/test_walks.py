"""Each content flow walked end to end with the pure engine, in every language.

The same walks, replayed through the Telegram emulator, are the end-to-end tests' job; these prove
that every screen is reached from the main menu, renders, and leads back, home and out.
"""

from __future__ import annotations

from collections import deque

import pytest

from flows.engine import Exit, Key, Press, State, answers_of, keys, step
from flows.loader import HOME
from flows.markup import visible_text
from flows.schema import Action, Nav
from tests.content.helpers import (
    CONTENT_FLOWS,
    DANGER,
    LANGS,
    book,
    content_screens,
    render,
    translator,
)


def press(state: State, key: Key) -> State:
    outcome = step(book(), state, Press(key.index))
    assert outcome.effect is None and outcome.moved, f"{state.screen}: {key}"
    return outcome.state


def key_to(state: State, target: str) -> Key:
    return next(k for k in keys(book(), state) if k.target == target)


def key_labelled(state: State, label: str) -> Key:
    return next(k for k in keys(book(), state) if k.label == label)


def walk(lang: str) -> dict[str, State]:
    """Breadth-first from the menu over every button except exit, language and submit."""
    start = State(locale=lang, screen=HOME)
    seen = {HOME: start}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for key in keys(book(), state):
            if key.action in (Action.EXIT, Action.SUBMIT, Action.SET_LANGUAGE) or (
                key.kind == "nav" and key.value in (Nav.EXIT, Nav.LANGUAGE)
            ):
                continue
            nxt = step(book(), state, Press(key.index)).state
            assert nxt.screen is not None
            if nxt.screen not in seen:
                seen[nxt.screen] = nxt
                queue.append(nxt)
    return seen


@pytest.mark.parametrize("lang", LANGS)
def test_every_content_screen_is_reached_from_the_menu_and_renders(lang: str) -> None:
    seen = walk(lang)
    assert set(content_screens()) <= set(seen)
    for ref in content_screens():
        visible_text(render(seen[ref]))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("ref", content_screens())
def test_from_every_screen_home_back_and_exit_work(ref: str, lang: str) -> None:
    state = State(locale=lang, screen=ref)
    navs = {k.value: k for k in keys(book(), state) if k.kind == "nav"}
    assert step(book(), state, Press(navs["home"].index)).state.screen == HOME
    assert step(book(), state, Press(navs["back"].index)).state.screen == book().parent(ref)
    assert isinstance(step(book(), state, Press(navs["exit"].index)).effect, Exit)


@pytest.mark.parametrize("lang", LANGS)
def test_danger_from_the_menu_in_one_tap(lang: str) -> None:
    menu = State(locale=lang, screen=HOME)
    state = press(menu, keys(book(), menu)[0])
    assert state.screen == DANGER
    assert "112" in visible_text(render(state))


@pytest.mark.parametrize("lang", LANGS)
def test_help_region_picker_shows_region_then_national_numbers(lang: str) -> None:
    state = press(
        State(locale=lang, screen=HOME), key_to(State(locale=lang, screen=HOME), "help.start")
    )
    state = press(state, key_to(state, "help.region"))
    region_keys = [k for k in keys(book(), state) if k.kind == "option"]
    assert len(region_keys) == 20
    karaganda = next(k for k in region_keys if k.value == "karaganda")
    chosen = press(state, karaganda)
    assert chosen.screen == "help.directory"
    assert answers_of(chosen, "help") == {"region": "karaganda"}
    shown = visible_text(render(chosen))
    region_name = translator().text(lang, "region.karaganda")
    assert shown.index(region_name) < shown.index("111")
    for number in ("111", "112", "102", "103", "150"):
        assert number in shown
    # Back leads to the picker; skipping it gives the national numbers alone.
    back = press(chosen, next(k for k in keys(book(), chosen) if k.value == Nav.BACK))
    assert back.screen == "help.region"
    skipped = press(back, next(k for k in keys(book(), back) if k.kind == "skip"))
    assert skipped.screen == "help.directory" and "region" not in answers_of(skipped, "help")
    shown = visible_text(render(skipped))
    assert region_name not in shown and "111" in shown


@pytest.mark.parametrize("lang", LANGS)
def test_plan_checklist_lives_in_the_session_only(lang: str) -> None:
    state = press(
        State(locale=lang, screen=HOME), key_to(State(locale=lang, screen=HOME), "plan.start")
    )
    state = press(state, key_to(state, "plan.list"))
    options = [k for k in keys(book(), state) if k.kind == "option"]
    assert len(options) == 7 and not any(k.checked for k in options)
    state = press(state, options[0])
    state = press(state, options[2])
    state = press(state, options[2])  # untick
    ticked = [k.value for k in keys(book(), state) if k.kind == "option" and k.checked]
    assert ticked == ["code_word"]
    done = next(k for k in keys(book(), state) if k.kind == "done")
    state = press(state, done)
    assert state.screen == "plan.done"
    assert answers_of(state, "plan") == {"ticks": ("code_word",)}
    assert "15" in visible_text(render(state))  # the idle wipe time is named
    # Nothing is ever submitted from the plan: no key on its screens seals anything, and exit
    # wipes the session (the bot drops the state on the Exit effect).
    for ref in (r for r in content_screens() if r.startswith("plan.")):
        assert all(k.action is not Action.SUBMIT for k in keys(book(), State(lang, ref)))
    exit_key = next(k for k in keys(book(), state) if k.value == Nav.EXIT)
    assert isinstance(step(book(), state, Press(exit_key.index)).effect, Exit)


@pytest.mark.parametrize("answer", ["selfcheck.yes", "selfcheck.sometimes", "selfcheck.no"])
@pytest.mark.parametrize("lang", LANGS)
def test_selfcheck_records_nothing_and_ends_in_validation(lang: str, answer: str) -> None:
    state = press(
        State(locale=lang, screen=HOME), key_to(State(locale=lang, screen=HOME), "selfcheck.start")
    )
    state = press(state, key_labelled(state, "selfcheck.begin"))
    path = []
    while state.screen != "selfcheck.result":
        path.append(state.screen)
        visible_text(render(state))
        state = press(state, key_labelled(state, answer))
    assert path == [
        "selfcheck.control",
        "selfcheck.isolation",
        "selfcheck.money",
        "selfcheck.threats",
        "selfcheck.violence",
    ]
    assert dict(state.answers) == {}
    targets = {k.target for k in keys(book(), state)}
    assert {"help.start", DANGER} <= targets


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("flow", [f for f in CONTENT_FLOWS if f != "selfcheck"])
def test_each_flow_walked_from_its_start(flow: str, lang: str) -> None:
    """Every button of every screen of the flow, pressed from a fresh state, lands somewhere
    that renders; the whole flow is visited from its start screen."""
    start = f"{flow}.{book().flows[flow].start}"
    seen = {start}
    queue = deque([State(locale=lang, screen=start)])
    while queue:
        state = queue.popleft()
        visible_text(render(state))
        for key in keys(book(), state):
            if key.kind == "nav" or key.action is not None:
                continue
            nxt = step(book(), state, Press(key.index)).state
            assert nxt.screen in book().screens
            if book().flow_of(nxt.screen) == flow and nxt.screen not in seen:
                seen.add(nxt.screen)
                queue.append(nxt)
    assert seen >= {r for r in content_screens() if book().flow_of(r) == flow} - {
        "safety.exit_info"
    }  # exit_info belongs to the digital walk too, reached from danger
