"""The pure conversation engine: (state, event) -> outcome.

Deterministic and free of I/O: no clock, no randomness, no Telegram. The bot turns updates into
events, calls :func:`step`, carries out the outcome's effect and renders the new screen.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from flows.catalog import N_
from flows.loader import HOME, LANGUAGE, Book, qualify
from flows.schema import Action, Nav, Question, QuestionKind, Screen

Answer = str | tuple[str, ...]
Answers = Mapping[str, Mapping[str, Answer]]

# Typed words that trigger the quick exit, compared after case folding and trimming. Short and
# ordinary, so that typing one under stress works; listed in the README.
EXIT_WORDS = frozenset(
    {"exit", "quit", "stop", "выход", "выйти", "стоп", "шығу", "шыгу", "шық", "шык"}
)

# Commands that do the same, in any letter case.
EXIT_COMMANDS = frozenset({"exit", "quit", "stop"})

_EMPTY: Answers = MappingProxyType({})
_NO_ANSWERS: Mapping[str, Answer] = MappingProxyType({})

NAV_LABELS = {
    Nav.BACK: N_("nav.back"),
    Nav.HOME: N_("nav.home"),
    Nav.LANGUAGE: N_("nav.language"),
    Nav.EXIT: N_("nav.exit"),
}


@dataclass(frozen=True, slots=True)
class State:
    """Everything the engine needs to know about one conversation. Lives in memory only."""

    locale: str | None = None
    screen: str | None = None
    answers: Answers = field(default_factory=lambda: _EMPTY)
    # Where to go after the current detour (language switch, editing one answer from a review).
    return_to: str | None = None


# Events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    """/start: the main menu, or the language choice at first contact."""


@dataclass(frozen=True, slots=True)
class Command:
    """A slash command other than /start and /exit: ``menu``, ``language`` or ``back``."""

    name: str


@dataclass(frozen=True, slots=True)
class Press:
    """A button of the current screen, by its position in :func:`keys`."""

    index: int


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Media:
    """An attachment; ``token`` is the bot's opaque handle for it."""

    token: str


Event = Start | Command | Press | Text | Media


# Effects the bot carries out ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Exit:
    """Wipe the conversation and forget the session."""


@dataclass(frozen=True, slots=True)
class Submit:
    """Seal ``answers`` of ``flow`` as a report; then show ``then`` (see :func:`submitted`)."""

    flow: str
    answers: Mapping[str, Answer]
    then: str


@dataclass(frozen=True, slots=True)
class Service:
    """Run the bot's service ``name`` (a receipt taken or checked, a case deleted): on success
    the bot shows ``then`` (or the screen the service names). ``text``: what she typed on a
    screen that ``takes`` it; never kept in the state."""

    name: str
    then: str | None = None
    text: str | None = field(default=None, repr=False)


Effect = Exit | Submit | Service


@dataclass(frozen=True, slots=True)
class Notice:
    """A short line shown above the screen: a msgid and its placeholders."""

    msgid: str
    params: Mapping[str, int | str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    state: State
    notice: Notice | None = None
    effect: Effect | None = None
    # False when nothing on screen changed (a rejected input): the bot answers with the notice.
    moved: bool = True


# Keys: every button of a screen, in keyboard order --------------------------------------------


@dataclass(frozen=True, slots=True)
class Key:
    """One button as the renderer shows it and as :class:`Press` refers to it."""

    index: int
    row: int
    label: str
    kind: str  # go | action | option | done | skip | nav
    target: str | None = None
    action: Action | None = None
    value: str | None = None
    checked: bool | None = None  # options of a multi question: ticked or not
    come_back: bool = False


def keys(book: Book, state: State) -> tuple[Key, ...]:
    """All buttons of the current screen, numbered in order, grouped by ``row``."""
    ref = _current(state)
    screen = book.screen(ref)
    flow_id = book.flow_of(ref)
    out: list[Key] = []
    row = 0

    def add(**kwargs: object) -> None:
        out.append(Key(index=len(out), row=row, **kwargs))  # type: ignore[arg-type]

    question = screen.question
    if question is not None:
        chosen = _answer(state, flow_id, question.field)
        for option in question.options:
            checked = option.value in chosen if question.kind is QuestionKind.MULTI else None
            add(label=option.label, kind="option", value=option.value, checked=checked)
            row += 1
        if question.kind is not QuestionKind.SINGLE and question.done_label:
            add(label=question.done_label, kind="done")
            row += 1
        if question.skip_label:
            add(label=question.skip_label, kind="skip")
            row += 1
    for buttons in screen.rows():
        for b in buttons:
            target = qualify(flow_id, b.go) if b.go else None
            kind = "action" if b.action else "go"
            add(
                label=b.label,
                kind=kind,
                target=target,
                action=b.action,
                value=b.value,
                come_back=b.come_back,
            )
        row += 1
    for nav in _nav(ref, screen):
        add(label=NAV_LABELS[nav], kind="nav", value=nav.value)
    return tuple(out)


def _nav(ref: str, screen: Screen) -> tuple[Nav, ...]:
    # The home screen has nowhere further back to go.
    if ref == HOME:
        return tuple(n for n in screen.nav if n not in (Nav.BACK, Nav.HOME))
    return screen.nav


# The step function --------------------------------------------------------------------------


def step(book: Book, state: State, event: Event) -> Outcome:
    """Apply ``event`` to ``state``; pure and deterministic."""
    outcome = _step(book, state, event)
    screen = outcome.state.screen
    if screen is not None and book.arrive(screen) != screen:
        return replace(outcome, state=replace(outcome.state, screen=book.arrive(screen)))
    return outcome


def _step(book: Book, state: State, event: Event) -> Outcome:
    if isinstance(event, Start):
        if state.locale is None:
            return _go(state, LANGUAGE)
        return _go(state, HOME)
    if state.screen is None or (state.locale is None and state.screen != LANGUAGE):
        # Nothing chosen yet: whatever arrives, begin at the beginning.
        return _go(state, LANGUAGE if state.locale is None else HOME)
    if isinstance(event, Command):
        return _command(book, state, event.name)
    if isinstance(event, Press):
        return _press(book, state, event.index)
    if isinstance(event, Text):
        return _text(book, state, event.text)
    return _media(book, state, event.token)


def submitted(state: State, effect: Submit) -> State:
    """The state after the bot stored ``effect``'s report: the draft is gone, ``then`` is shown."""
    return replace(_without_flow(state, effect.flow), screen=effect.then, return_to=None)


def is_exit_word(text: str) -> bool:
    """Whether typed ``text`` asks for the quick exit: an exit word, or an exit command in any
    case (``/exit``, ``/Exit@bot now``). The one test every exit path uses."""
    folded = unicodedata.normalize("NFKC", text).strip().casefold()
    if folded.startswith("/"):
        command = folded[1:].split(maxsplit=1)[0] if len(folded) > 1 else ""
        return command.split("@", 1)[0] in EXIT_COMMANDS
    return folded.strip("!.") in EXIT_WORDS


def answers_of(state: State, flow_id: str) -> Mapping[str, Answer]:
    """The answers given so far in ``flow_id``."""
    return state.answers.get(flow_id, _NO_ANSWERS)


# Internals ----------------------------------------------------------------------------------


def _current(state: State) -> str:
    if state.screen is None:
        return LANGUAGE if state.locale is None else HOME
    return state.screen


def _go(state: State, target: str, notice: Notice | None = None) -> Outcome:
    return Outcome(state=replace(state, screen=target), notice=notice)


def _stay(state: State, notice: Notice) -> Outcome:
    return Outcome(state=state, notice=notice, moved=False)


def _command(book: Book, state: State, name: str) -> Outcome:
    if state.locale is None:
        return _go(state, LANGUAGE)  # no menu can be shown before she has a language
    if name == "menu":
        return _go(replace(state, return_to=None), HOME)
    if name == "language":
        return _go(replace(state, return_to=state.screen), LANGUAGE)
    if name == "back":
        return _go(replace(state, return_to=None), book.parent(_current(state)))
    return _stay(state, Notice("common.unknown_command"))


def _press(book: Book, state: State, index: int) -> Outcome:
    all_keys = keys(book, state)
    if not 0 <= index < len(all_keys):
        return _stay(state, Notice("common.expired"))
    key = all_keys[index]
    ref = _current(state)
    flow_id = book.flow_of(ref)
    question = book.screen(ref).question
    if key.kind == "go":
        assert key.target is not None
        back = ref if key.come_back else None
        return _go(replace(state, return_to=back), key.target)
    if key.kind == "nav":
        return _press_nav(book, state, Nav(key.value or Nav.EXIT))
    if key.kind == "action":
        return _press_action(state, flow_id, key)
    assert question is not None
    if key.kind == "option":
        assert key.value is not None
        if question.kind is QuestionKind.SINGLE:
            return _answered(state, flow_id, question, key.value)
        return Outcome(state=_toggle(state, flow_id, question.field, key.value))
    if key.kind == "skip":
        return _after_question(_drop(state, flow_id, question.field), flow_id, question)
    return _after_question(state, flow_id, question)  # done


def _press_nav(book: Book, state: State, nav: Nav) -> Outcome:
    ref = _current(state)
    if nav is Nav.EXIT:
        return Outcome(state=state, effect=Exit())
    if nav is Nav.LANGUAGE:
        return _go(replace(state, return_to=ref), LANGUAGE)
    if nav is Nav.HOME:
        return _go(replace(state, return_to=None), HOME)
    return _go(replace(state, return_to=None), book.parent(ref))


def _press_action(state: State, flow_id: str, key: Key) -> Outcome:
    if key.action is Action.EXIT:
        return Outcome(state=state, effect=Exit())
    if key.action is Action.SET_LANGUAGE:
        target = key.target or state.return_to or HOME
        return _go(replace(state, locale=key.value, return_to=None), target)
    if key.action is Action.SUBMIT:
        assert key.target is not None
        effect = Submit(flow=flow_id, answers=answers_of(state, flow_id), then=key.target)
        return Outcome(state=state, effect=effect, moved=False)
    if key.action is Action.SERVICE:
        assert key.value is not None and key.target is not None
        return Outcome(state=state, effect=Service(key.value, key.target), moved=False)
    # DISCARD
    return _go(replace(_without_flow(state, flow_id), return_to=None), key.target or HOME)


def _text(book: Book, state: State, text: str) -> Outcome:
    ref = _current(state)
    screen = book.screen(ref)
    if screen.takes is not None and screen.then is not None:
        then = qualify(book.flow_of(ref), screen.then)
        return Outcome(state=state, effect=Service(screen.takes, then, text), moved=False)
    question = screen.question
    if question is None or question.kind is not QuestionKind.TEXT:
        return _stay(state, Notice("common.use_buttons"))
    flow_id = book.flow_of(ref)
    so_far = _answer(state, flow_id, question.field)
    previous = so_far[0] if so_far else ""
    combined = f"{previous}\n\n{text}" if previous else text
    limit = question.max_length or 0
    if len(combined) > limit:
        left = max(0, limit - len(previous) - (2 if previous else 0))
        notice = Notice(
            question.limit_notice or N_("common.text_too_long"),
            {"limit": limit, "left": left, "length": len(text)},
        )
        return _stay(state, notice)
    state = _set(state, flow_id, question.field, combined)
    return Outcome(
        state=state, notice=Notice("common.text_saved", {"count": len(combined), "limit": limit})
    )


def _media(book: Book, state: State, token: str) -> Outcome:
    ref = _current(state)
    question = book.screen(ref).question
    if question is None or question.kind is not QuestionKind.MEDIA:
        return _stay(state, Notice("common.media_not_needed"))
    flow_id = book.flow_of(ref)
    items = _answer(state, flow_id, question.field)
    limit = question.max_items or 0
    if len(items) >= limit:
        return _stay(
            state, Notice(question.limit_notice or N_("common.media_limit"), {"limit": limit})
        )
    state = _set(state, flow_id, question.field, (*items, token))
    return Outcome(
        state=state, notice=Notice("common.media_saved", {"count": len(items) + 1, "limit": limit})
    )


def _answered(state: State, flow_id: str, question: Question, value: str) -> Outcome:
    state = _set(state, flow_id, question.field, value)
    option = next(o for o in question.options if o.value == value)
    if option.go is not None:
        return _go(state, qualify(flow_id, option.go))
    return _after_question(state, flow_id, question)


def _after_question(state: State, flow_id: str, question: Question) -> Outcome:
    if state.return_to is not None:
        return _go(replace(state, return_to=None), state.return_to)
    return _go(state, qualify(flow_id, question.next))


def _answer(state: State, flow_id: str, name: str) -> tuple[str, ...]:
    value = answers_of(state, flow_id).get(name)
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else value


def _set(state: State, flow_id: str, name: str, value: Answer) -> State:
    flow_answers = {**answers_of(state, flow_id), name: value}
    return replace(state, answers=MappingProxyType({**state.answers, flow_id: flow_answers}))


def _drop(state: State, flow_id: str, name: str) -> State:
    flow_answers = {k: v for k, v in answers_of(state, flow_id).items() if k != name}
    return replace(state, answers=MappingProxyType({**state.answers, flow_id: flow_answers}))


def _toggle(state: State, flow_id: str, name: str, value: str) -> State:
    chosen = _answer(state, flow_id, name)
    updated = tuple(v for v in chosen if v != value) if value in chosen else (*chosen, value)
    return _set(state, flow_id, name, updated)


def _without_flow(state: State, flow_id: str) -> State:
    rest = {k: v for k, v in state.answers.items() if k != flow_id}
    return replace(state, answers=MappingProxyType(rest))
