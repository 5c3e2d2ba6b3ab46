"""Turn the engine's current screen into a Telegram message: translated text and inline keyboard."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict

from aiogram.filters.callback_data import CallbackData

from bot.sessions import Session
from flows.catalog import Translator
from flows.engine import Key, Notice, keys
from flows.loader import LANGUAGE, Book
from flows.schema import Action, Nav


class Tap(CallbackData, prefix="t"):
    """A button of the current screen: the screen's nonce and the button's index.

    A press whose nonce is not the session's current one is stale or forged and is refused.
    """

    n: str
    i: int


class QuickExit(CallbackData, prefix="x"):
    """The exit button. Needs no session, so it works from any message, even after a restart.

    It carries the id of the conversation's first message (``a``, the anchor): after an unclean
    restart the bot knows nothing of her chat, and the tap tells it where the wipe starts. A
    message id alone says nothing about who she is, and it lives only in her own chat.
    """

    a: int = 0


EXIT_PREFIX = QuickExit.__prefix__


def exit_data(anchor: int) -> str:
    """The exit button's callback data (``QuickExit(a=anchor).pack()``, without a model)."""
    return f"{EXIT_PREFIX}{QuickExit.__separator__}{anchor}"


def exit_anchor(data: str | None) -> int | None:
    """The anchor an exit button's ``data`` carries (0 for an old button without one); ``None``
    when ``data`` is not an exit button's."""
    if data == EXIT_PREFIX:
        return 0  # buttons sent before anchors existed
    head, sep, tail = (data or "").partition(QuickExit.__separator__)
    # isdigit() alone passes "²" and other Unicode digits, which int() then refuses.
    if head != EXIT_PREFIX or not sep or not (tail.isascii() and tail.isdigit()) or len(tail) > 19:
        return None
    return int(tail)


def tap_data(nonce: str, index: int) -> str:
    """``Tap(n=nonce, i=index).pack()``, without a validated model per button of every screen.

    A nonce is URL-safe base64, so it never holds the separator (a test keeps the two equal).
    """
    return f"{Tap.__prefix__}{Tap.__separator__}{nonce}{Tap.__separator__}{index}"


class Button(TypedDict):
    """An inline keyboard button, as the Bot API's JSON has it."""

    text: str
    callback_data: str


class Keyboard(TypedDict):
    """An ``InlineKeyboardMarkup``, as the Bot API's JSON has it.

    Plain data, not aiogram's models: a screen is built on every tap and sent as JSON at once, and
    a dozen validated button objects made only to be dumped again were a twentieth of a tap's
    CPU. Telegram (and the emulator) check every button as strictly as aiogram would.
    """

    inline_keyboard: list[list[Button]]


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    markup: Keyboard


def escaped(params: Mapping[str, object]) -> dict[str, str]:
    """``params`` as text that Telegram shows literally, never as markup."""
    return {k: html.escape(str(v), quote=False) for k, v in params.items()}


def language_of(session: Session) -> str | None:
    """The language to speak: the chosen one, else the one Telegram suggested."""
    return session.state.locale or session.preselect


def render(
    book: Book,
    translator: Translator,
    session: Session,
    notice: Notice | None = None,
    params: Mapping[str, object] | None = None,
    shown: Mapping[str, str] | None = None,
) -> Rendered:
    """The current screen of ``session`` as text and keyboard, with ``notice`` above it.

    ``params`` fill the screen text's placeholders and are escaped, never read as markup;
    ``shown`` are ready HTML from the conversation's providers, which escape their own input.
    """
    lang = language_of(session)
    state = session.state
    screen_ref = state.screen or LANGUAGE
    safe = escaped(params or {})
    safe.update(shown or {})
    body = translator.text(lang, book.screen(screen_ref).text, safe)
    if notice is not None:
        note_params = escaped(notice.params)
        body = f"<i>{translator.text(lang, notice.msgid, note_params)}</i>\n\n{body}"
    rows: dict[int, list[Button]] = {}
    for key in keys(book, state):
        rows.setdefault(key.row, []).append(_button(translator, lang, session, key))
    return Rendered(text=body, markup={"inline_keyboard": list(rows.values())})


def notice_text(translator: Translator, session: Session, notice: Notice) -> str:
    """A notice on its own, for answers that need no screen (a toast, a short reply)."""
    params = escaped(notice.params)
    return translator.text(language_of(session), notice.msgid, params)


def _button(translator: Translator, lang: str | None, session: Session, key: Key) -> Button:
    label = translator.text(lang, key.label)
    if key.checked is not None:
        label = f"{'✅' if key.checked else '▫️'} {label}"
    elif key.action is Action.SET_LANGUAGE and key.value == language_of(session):
        label = f"✓ {label}"
    if key.action is Action.EXIT or (key.kind == "nav" and key.value == Nav.EXIT):
        data = exit_data(session.anchor)
    else:
        data = tap_data(session.nonce, key.index)
    return {"text": label, "callback_data": data}
