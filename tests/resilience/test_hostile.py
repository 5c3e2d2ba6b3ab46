"""Hostile input, generated: thousands of odd, forged and foreign updates at every screen.

One bot serves a whole hypothesis run (not one per example). Each example puts a new user at a
screen of some flow, throws a burst of generated updates at the bot, then checks: no update
failed, the emulator saw no bug, Telegram (the emulator) refused nothing the bot did not expect,
none of her words came back as markup, and she can still open the menu and leave in one tap.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.engine import (
    Command,
    Event,
    Exit,
    Media,
    Press,
    Start,
    State,
    Submit,
    Text,
    keys,
    step,
    submitted,
)
from flows.loader import Book
from flows.schema import LANGUAGES
from telegram_emulator.client import SimGroup, SimUser, other_bot
from tests.e2e.conftest import Caseworker
from tests.resilience.conftest import Rig, reporting, rig
from tests.resilience.screens import every_screen

# Refusals the bot meets by design and handles: an edit that changes nothing, an edit of a
# message that is gone or is hers (a forged press names any message), so the screen is sent anew.
# A group message reaching a bot that already left: it tries to leave again and is told no.
# A location the wipe already took (she typed "exit" just before sharing it) cannot be deleted again.
HANDLED = (
    "message to edit not found",
    "message can't be edited",
    "bot is not a member",
    "message to delete not found",
)
MENU = {"en": "Hello 🌿", "ru": "Здравствуйте", "kk": "Сәлеметсіз"}
GOODBYE = {"en": "Have a good day!", "ru": "Хорошего дня!", "kk": "Күніңіз сәтті өтсін!"}
EXAMPLES = 150

INJECTIONS = (
    "<b>{m}</b>",
    "[x](tg://user?id=1) {m}",
    '<a href="tg://user?id=1">{m}</a>',
    "&amp;{m}&lt;",
    "<script>{m}</script>",
    "*{m}* _{m}_ `{m}`",
    "<tg-spoiler>{m}</tg-spoiler>",
    "{m}</i></b>",
    "\u202e{m}\u200f",
    "{m}\x00\x07\x1b[31m",
    "👩‍👩‍👧‍👦{m}🏳️‍🌈",
    "{m}&#x1F600;&nbsp;",
)
COMMANDS = (
    "/start",
    "/start deep-link-payload",
    "/start@emulated_bot",
    "/menu now",
    "/language x",
    "/back 1 2 3",
    "/help",
    "/report",
    "/unknown_command arg",
    "/" + "a" * 64,
    "/",
    "/ menu",
    "/menu@other_bot",
    "/MENU",
    "/bаck",  # the last with a Cyrillic а
)
CONTENT = ("photo", "document", "voice", "sticker", "location", "contact")
FOREIGN = ("group", "channel", "other_bot")

texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=60),
    st.sampled_from(["", " ", "\n", "\u200f", "\u202e", "\ufeff", "exit", "ВЫХОД", "шығу!"]),
    st.integers(4000, 100_000).map(lambda n: "ж" * n),
)
callback_data = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "t:",
            "t:x",
            "t:AAAAAAAA:0",
            "t:AAAAAAAA:-1",
            "t:AAAAAAAA:99999",
            "x",
            "x:1",
            "t:" + "A" * 200,
            "t::",
            "t:n:i",
            ":::",
        ]
    ),
)
actions = st.one_of(
    st.tuples(st.just("text"), texts),
    st.tuples(st.just("inject"), st.sampled_from(INJECTIONS)),
    st.tuples(st.just("command"), st.sampled_from(COMMANDS)),
    st.tuples(st.just("press"), st.integers(0, 40)),
    st.tuples(st.just("forge"), callback_data),
    st.tuples(st.just("stolen"), st.integers(0, 40)),
    st.tuples(st.just("stale"), st.just("")),
    st.tuples(st.just("content"), st.sampled_from(CONTENT)),
    st.tuples(st.just("edit"), texts),
    st.tuples(st.just("foreign"), st.sampled_from(FOREIGN)),
)


@dataclass
class Arena:
    """The bot and the cast that one hypothesis run reuses."""

    r: Rig
    book: Book
    states: list[State]
    victim: SimUser
    group: SimGroup
    channel: SimGroup
    robot: SimUser
    markers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def run_in_one_loop(
    build: Callable[[], Any], body: Callable[[Arena, asyncio.AbstractEventLoop], None]
) -> None:
    """Start one bot in a private event loop, run ``body`` (hypothesis) against it, stop it."""
    loop = asyncio.new_event_loop()
    try:
        manager = build()
        r: Rig = loop.run_until_complete(manager.__aenter__())
        try:
            arena = loop.run_until_complete(_cast(r))
            body(arena, loop)
        finally:
            loop.run_until_complete(manager.__aexit__(None, None, None))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _cast(r: Rig) -> Arena:
    victim = r.user(first_name="Victim", language_code="en")
    await victim.command("/start")
    await r.settle()
    await victim.press_index(2)
    await r.settle()
    member = r.user(first_name="Member")
    group, channel = r.emu.group("Family", supergroup=True), r.emu.channel("News")
    await r.emu.add_bot_to_group(group, member)
    await r.emu.add_bot_to_group(channel, member, admin=True)
    await r.settle()
    book = r.app.conversation.book
    return Arena(r, book, every_screen(book), victim, group, channel, other_bot(r.emu))


async def place(arena: Arena, state: State) -> SimUser:
    """A new user whose conversation is at ``state``, its screen shown as the bot would."""
    r = arena.r
    user = r.user(first_name="Fuzz", language_code=state.locale or "en")
    user.chat.user_wrote = True  # as if she had written before
    session, _ = r.app.sessions.touch(user.id)
    session.state = state
    async with session.turn():
        await r.app.conversation.show(r.app.bot, session)
    return user


async def act(arena: Arena, user: SimUser, action: tuple[str, Any], markers: list[str]) -> None:
    r = arena.r
    kind, value = action
    r.clock.advance(0.3)  # a quick hand, below the flood limit
    if kind == "text":
        await user.send(value)
    elif kind == "inject":
        marker = f"zq{next(arena.markers)}x"
        markers.append(marker)
        await user.send(value.format(m=marker))
    elif kind == "command":
        await user.command(value)
    elif kind in ("press", "stolen"):
        owner = user if kind == "press" else arena.victim
        message = owner.keyboard_message
        mine = user.keyboard_message
        if message is None or mine is None:
            return
        buttons = [b for b in message.flat_buttons if b[1] is not None]
        if buttons:
            data = buttons[value % len(buttons)][1]
            assert data is not None
            await user.press_data(mine.message_id, data)
    elif kind == "forge":
        target = user.keyboard_message or user.last_bot
        await user.press_data(target.message_id if target else 1, value)
    elif kind == "stale":
        old = [m for m in user.chat.messages.values() if m.from_bot and m.deleted and m.buttons]
        if old and old[0].buttons[0][0][1] is not None:
            await user.press_data(old[0].message_id, old[0].buttons[0][0][1] or "")
    elif kind == "content":
        await _content(user, value)
    elif kind == "edit":
        own = [m for m in user.visible if not m.from_bot and m.kind == "text"]
        if own:
            await user.edit(own[-1].message_id, value or ".")
    else:
        await _foreign(arena, value)


async def _content(user: SimUser, kind: str) -> None:
    if kind == "photo":
        await user.send_photo(b"\x89PNG fuzz", caption="<b>caption</b>")
    elif kind == "document":
        await user.send_document(b"%PDF fuzz", "<i>x</i>.pdf", "application/pdf")
    elif kind == "voice":
        await user.send_voice(b"OggS fuzz")
    elif kind == "sticker":
        await user.send_sticker()
    elif kind == "location":
        await user.send_location(43.25, 76.95)
    else:
        await user.send_contact("+77001234567", "Someone")


async def _foreign(arena: Arena, kind: str) -> None:
    if kind == "group":
        await arena.group.send(arena.victim, "/start")
    elif kind == "channel":
        await arena.r.emu.channel_post(arena.channel, "/start <b>post</b>")
    else:
        await arena.robot.command("/start")


async def still_serves(arena: Arena, user: SimUser) -> None:
    """The menu in her language opens, then the quick exit leaves only the neutral line."""
    r = arena.r
    r.clock.advance(60)  # past any flood window she may have tripped
    await user.command("/menu")
    await r.settle()
    session = r.app.sessions.get(user.id)
    assert session is not None
    lang = session.state.locale or session.preselect or "en"
    assert user.last_bot is not None
    if session.state.locale is None:
        # Before a language is chosen, every command keeps the language choice on screen.
        assert session.state.screen == "language.choose"
    else:
        assert MENU[lang] in (user.last_bot.text or "")
    await user.command("/exit")
    await r.settle()
    # Only neutral lines stay: one per exit (a burst may have typed "exit" already).
    left = user.visible
    assert left and all(m.from_bot and m.reply_markup is None for m in left)
    assert {m.text for m in left} <= set(GOODBYE.values())
    assert left[-1].text == GOODBYE[lang]
    assert r.app.sessions.get(user.id) is None


def check_clean(arena: Arena, markers: list[str]) -> None:
    r = arena.r
    r.assert_clean(also=HANDLED)
    for chat in r.emu.world.state.chats.values():
        for message in chat.messages.values():
            if message.from_bot:
                for marker in markers:
                    assert marker not in (message.text or ""), "her words came back"
    assert not arena.group.bot_member and not arena.channel.bot_member
    assert all(not m.from_bot for m in arena.group.visible + arena.channel.visible)


@pytest.mark.slow
def test_hostile_updates_at_every_screen_never_break_the_bot(
    tmp_path: Path, caseworkers: list[Caseworker]
) -> None:
    counted = {"updates": 0, "examples": 0}

    def body(arena: Arena, loop: asyncio.AbstractEventLoop) -> None:
        def run(coro: Coroutine[Any, Any, None]) -> None:
            loop.run_until_complete(coro)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(
            screen=st.integers(0, len(arena.states) - 1),
            burst=st.lists(actions, min_size=1, max_size=16),
        )
        def example(screen: int, burst: list[tuple[str, Any]]) -> None:
            async def go() -> None:
                arena.r.api.failures.clear()
                user = await place(arena, arena.states[screen])
                markers: list[str] = []
                for action in burst:
                    await act(arena, user, action, markers)
                await arena.r.settle(timeout=20)
                check_clean(arena, markers)
                await still_serves(arena, user)
                check_clean(arena, markers)

            run(go())
            counted["updates"] += len(burst) + 2
            counted["examples"] += 1

        example()

    run_in_one_loop(lambda: rig(reporting(tmp_path, caseworkers)), body)
    assert counted["updates"] >= EXAMPLES  # hypothesis really ran


@settings(max_examples=500, deadline=None, database=None)
@given(data=st.data())
def test_the_engine_never_raises_and_state_stays_valid(
    engine_book: Book, engine_states: list[State], data: st.DataObject
) -> None:
    state = data.draw(st.sampled_from(engine_states))
    events = data.draw(
        st.lists(
            st.one_of(
                st.just(Start()),
                st.builds(
                    Command,
                    st.one_of(
                        st.sampled_from(["menu", "language", "back", "unknown"]),
                        st.text(max_size=20),
                    ),
                ),
                st.builds(Press, st.integers(-5, 60)),
                st.builds(Text, texts),
                st.builds(Media, st.text(max_size=12)),
            ),
            max_size=40,
        )
    )
    for event in events:
        outcome = step(engine_book, state, event)
        state = outcome.state
        if isinstance(outcome.effect, Submit):
            state = submitted(state, outcome.effect)
        elif isinstance(outcome.effect, Exit):
            state = State()
        assert_valid(engine_book, state, event)


def assert_valid(book: Book, state: State, event: Event) -> None:
    assert state.locale is None or state.locale in LANGUAGES, event
    assert state.screen is None or state.screen in book.screens, event
    assert state.return_to is None or state.return_to in book.screens, event
    keys(book, state)  # the screen can always be drawn
    for flow, answers in state.answers.items():
        assert flow in book.flows
        for value in answers.values():
            assert isinstance(value, str) or all(isinstance(v, str) for v in value)


@pytest.fixture(scope="module")
def engine_book() -> Book:
    from flows.loader import load_book

    return load_book()


@pytest.fixture(scope="module")
def engine_states(engine_book: Book) -> list[State]:
    return every_screen(engine_book)
