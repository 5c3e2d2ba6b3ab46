"""The content checker behind ``python -m flows check``.

Finds what would hurt a user: a button leading nowhere, a screen nobody can reach or leave, a
screen without the quick exit or with a second door beside it (a button carrying the exit's
glyph or word), a text Telegram would refuse, a title or second line that gives the topic away
in a notification or the chat list (both word lists: ``flows/discretion.py``), a sentence too
long to follow, a screen too long to read in a hurry, or a translation that is missing, empty or
fuzzy.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from flows.catalog import LOCALES_DIR, MALFORMED, placeholders, read_catalog
from flows.directory import directory_problems
from flows.discretion import DOOR, looks_like_exit, revealing_words
from flows.discretion import REVEALING as REVEALING  # re-exported: the word lists live there
from flows.engine import NAV_LABELS, Key, State, keys
from flows.loader import CONTENT_DIR, HOME, LANGUAGE, Book, FlowErrors, load_book, screen_targets
from flows.markup import MarkupError, visible_text
from flows.messages import ROOT, desk_only, used_msgids
from flows.schema import LANGUAGES, Action, Nav

# Telegram's limits (Bot API): characters per message after entity parsing; buttons per keyboard
# and per row. Callback data (64 bytes) is a short nonce and a button index below 100, so the
# button count bounds it.
MESSAGE_CHARS = 4096
MAX_KEYS = 100
MAX_ROW = 8
MAX_LABEL_CHARS = 64
# Room kept for the one-line notice the bot may put above a screen ("Please use the buttons").
NOTICE_ROOM = 300

# The longest sentence a screen may have, in words, in any language: a frightened reader on a
# small screen loses the thread of a long one.
MAX_SENTENCE_WORDS = 25

# The most words a screen may have, in any language: she may be reading in a hurry, with someone
# nearby. A topic that needs more is split across screens ("More" one tap deeper). Words are
# counted by :func:`word_count` on the catalog text, so a placeholder counts as one word: the
# checker cannot know what the operator's directory or her own answers will add, and those are
# data she looks up, not prose she has to read through.
MAX_SCREEN_WORDS = 80


def check(content: Path = CONTENT_DIR, locales: Path = LOCALES_DIR, root: Path = ROOT) -> list[str]:
    """Every problem found, one precise line each; an empty list means the content is sound."""
    try:
        book = load_book(content)
    except FlowErrors as exc:
        return [str(e) for e in exc.errors]
    problems = list(_structure(book))
    problems += _translations(book, locales, root)
    problems += _doors(book, locales)
    problems += directory_problems()  # the operator's DIRECTORY_FILE, else the shipped example
    return problems


def _where(book: Book, ref: str) -> str:
    flow_id, name = ref.split(".", 1)
    return f"{book.files[flow_id]}: screen '{name}'"


def _edges(book: Book, ref: str) -> Iterator[str]:
    flow_id = book.flow_of(ref)
    screen = book.screen(ref)
    yield from screen_targets(flow_id, screen)
    for key in keys(book, State(locale="en", screen=ref)):
        if key.kind == "nav" and key.value == Nav.BACK:
            yield book.parent(ref)
        elif key.kind == "nav" and key.value == Nav.HOME:
            yield HOME
        elif key.kind == "nav" and key.value == Nav.LANGUAGE:
            yield LANGUAGE
        elif key.kind == "action" and key.action is Action.SET_LANGUAGE:
            yield key.target or HOME
        elif key.kind == "action" and key.action is Action.DISCARD:
            yield key.target or HOME


def _reachable(book: Book, starts: tuple[str, ...]) -> set[str]:
    seen = set(starts)
    queue = deque(starts)
    while queue:
        for nxt in _edges(book, queue.popleft()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _structure(book: Book) -> Iterator[str]:
    reachable = _reachable(book, (LANGUAGE, HOME))
    for ref in book.screens:
        where = _where(book, ref)
        if ref not in reachable:
            yield f"{where}: unreachable from the language choice and the main menu"
        screen_keys = keys(book, State(locale="en", screen=ref))
        exits = [
            k
            for k in screen_keys
            if (k.kind == "nav" and k.value == Nav.EXIT) or k.action is Action.EXIT
        ]
        if not exits:
            yield f"{where}: no quick exit button"
        if ref not in (HOME, LANGUAGE):
            ways = [
                k
                for k in screen_keys
                if (k.kind == "nav" and k.value in (Nav.BACK, Nav.HOME)) or k.target == HOME
            ]
            if not ways:
                yield f"{where}: no way back or home"
        if HOME not in _reachable(book, (ref,)):
            yield f"{where}: the main menu cannot be reached from here"
        if len(screen_keys) > MAX_KEYS:
            yield f"{where}: {len(screen_keys)} buttons, Telegram allows {MAX_KEYS}"
        rows: dict[int, int] = {}
        for k in screen_keys:
            rows[k.row] = rows.get(k.row, 0) + 1
        for row, count in rows.items():
            if count > MAX_ROW:
                yield f"{where}: row {row + 1} has {count} buttons, Telegram allows {MAX_ROW}"


def _is_exit(key: Key) -> bool:
    return (key.kind == "nav" and key.value == Nav.EXIT) or key.action is Action.EXIT


def _doors(book: Book, locales: Path) -> list[str]:
    """One door per screen, in every language: the quick exit carries the door or an exit word,
    and no other button does (a hurried hand taps the first door it sees)."""
    problems: dict[str, None] = {}  # ordered, and one line for a label shared by many screens
    for lang in LANGUAGES:
        try:
            catalog = read_catalog(lang, locales)
        except OSError:
            continue  # reported by _translations
        shown: dict[str, str] = {}
        for entry in catalog:
            if entry.id and isinstance(entry.string, str) and entry.string.strip():
                shown[str(entry.id)] = entry.string
        for ref in book.screens:
            screen_keys = keys(book, State(locale=lang, screen=ref))
            exits = [k for k in screen_keys if _is_exit(k)]
            if len(exits) > 1:
                problems[f"{_where(book, ref)}: {len(exits)} quick exits, keep one"] = None
            for key in screen_keys:
                label = shown.get(key.label)
                if label is None:
                    continue  # missing or empty: reported by _translations
                if _is_exit(key) and not looks_like_exit(lang, label):
                    problems[
                        f"locales/{lang}: the quick exit's label '{key.label}' ({label!r}) "
                        f"carries neither {DOOR} nor an exit word"
                    ] = None
                elif not _is_exit(key) and looks_like_exit(lang, label):
                    problems[
                        f"{_where(book, ref)}: [{lang}] button '{key.label}' ({label!r}) looks "
                        f"like the quick exit ({DOOR} or an exit word): a second door"
                    ] = None
    return list(problems)


def _screen_msgids(book: Book) -> tuple[set[str], set[str]]:
    """(message texts, button labels) named by the flows."""
    texts: set[str] = set()
    labels: set[str] = set(NAV_LABELS.values())
    for ref, screen in book.screens.items():
        texts.add(screen.text)
        for key in keys(book, State(locale="en", screen=ref)):
            labels.add(key.label)
        if screen.question is not None:
            if screen.question.limit_notice:
                texts.add(screen.question.limit_notice)
    return texts, labels


def _translations(book: Book, locales: Path, root: Path) -> list[str]:
    problems: list[str] = []
    used = used_msgids(root)
    texts, labels = _screen_msgids(book)
    # Python code sends these as messages of their own (notices): their first line shows too.
    code_texts = {
        m
        for m, places in used.items()
        if any(p.split(":", 1)[0].endswith(".py") for p in places)
        and m not in labels
        and not m.startswith(("nav.", "language."))
        and not desk_only(places)
    }
    templates: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        try:
            catalog = read_catalog(lang, locales)
        except OSError as exc:
            problems.append(f"locales/{lang}: cannot read the catalog ({exc.strerror})")
            continue
        po = f"locales/{lang}/LC_MESSAGES/messages.po"
        for entry in catalog:
            if entry.id and entry.id not in used:
                problems.append(f"{po}: msgid '{entry.id}' is used by no flow and no code")
        for msgid, places in sorted(used.items()):
            message = catalog.get(msgid)
            if message is None:
                problems.append(f"{po}: msgid '{msgid}' is missing (used at {places[0]})")
                continue
            if message.fuzzy:
                problems.append(f"{po}: msgid '{msgid}' is fuzzy")
            string = message.string if isinstance(message.string, str) else ""
            if not string.strip():
                problems.append(f"{po}: msgid '{msgid}' is empty")
                continue
            templates.setdefault(msgid, {})[lang] = string
            problems += _text_limits(
                po,
                lang,
                msgid,
                string,
                is_label=msgid in labels,
                is_message=msgid in texts or msgid in code_texts,
                is_screen=msgid in texts,
            )
    for msgid, by_lang in sorted(templates.items()):
        names = {lang: placeholders(t) for lang, t in by_lang.items()}
        for lang, found in names.items():
            if MALFORMED in found:
                problems.append(f"locales/{lang}: msgid '{msgid}' has unbalanced braces {{ }}")
        if len(set(names.values())) > 1:
            listed = ", ".join(f"{lang}: {sorted(n)}" for lang, n in names.items())
            problems.append(f"locales: msgid '{msgid}' has different placeholders ({listed})")
    return problems


def _text_limits(
    po: str,
    lang: str,
    msgid: str,
    string: str,
    *,
    is_label: bool,
    is_message: bool,
    is_screen: bool = False,
) -> list[str]:
    problems: list[str] = []
    try:
        shown = visible_text(string)
    except MarkupError as exc:
        return [f"{po}: msgid '{msgid}': {exc}"]
    if is_label and len(shown) > MAX_LABEL_CHARS:
        problems.append(
            f"{po}: button '{msgid}' is {len(shown)} characters, "
            f"keep labels within {MAX_LABEL_CHARS}"
        )
    if is_message:
        if len(shown) + NOTICE_ROOM > MESSAGE_CHARS:
            problems.append(
                f"{po}: msgid '{msgid}' is {len(shown)} characters; with room for a "
                f"notice it exceeds Telegram's {MESSAGE_CHARS}"
            )
        problems += _discretion_problems(po, lang, msgid, shown, lines=2 if is_screen else 1)
        problems += _sentence_problems(po, msgid, shown)
    if is_screen:
        problems += _screen_length_problems(po, msgid, shown)
    return problems


def _discretion_problems(po: str, lang: str, msgid: str, shown: str, *, lines: int) -> list[str]:
    """A screen's title and the line after it show in the chat list: neither may reveal the topic.
    A notice the code sends stands above a screen, or inside one: its first line is checked."""
    revealing = revealing_words(lang, shown, lines)
    if not revealing:
        return []
    first = shown.strip().split("\n", 1)[0].casefold()
    return [
        f"{po}: msgid '{msgid}': the first lines reveal the topic in a notification or the "
        f"chat list ({', '.join(revealing)}): {first[:60]!r}"
    ]


def _sentence_problems(po: str, msgid: str, shown: str) -> list[str]:
    """Every sentence (or line of a list) short enough to follow."""
    return [
        f"{po}: msgid '{msgid}': a sentence of {count} words, keep them within "
        f"{MAX_SENTENCE_WORDS}: {sentence[:60]!r}"
        for sentence, count in sentences(shown)
        if count > MAX_SENTENCE_WORDS
    ]


def _screen_length_problems(po: str, msgid: str, shown: str) -> list[str]:
    """A screen short enough to read in a hurry: at most :data:`MAX_SCREEN_WORDS` words."""
    count = word_count(shown)
    if count <= MAX_SCREEN_WORDS:
        return []
    return [
        f"{po}: msgid '{msgid}': a screen of {count} words, keep it within {MAX_SCREEN_WORDS} "
        "(cut repetition, or move detail to a screen one tap deeper)"
    ]


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_HAS_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


def sentences(shown: str) -> list[tuple[str, int]]:
    """Each sentence of ``shown`` with its number of words; a line of a list counts as one."""
    found = []
    for line in shown.splitlines():
        for sentence in _SENTENCE_END.split(line.strip()):
            if sentence:
                found.append((sentence, word_count(sentence)))
    return found


def word_count(shown: str) -> int:
    """Words in ``shown`` (text as she sees it, markup already gone): the whitespace-separated
    tokens that hold a letter or a digit. "24/7", "egov.kz" and "{idle}" are one word each; an
    emoji, a bullet, an arrow or a dash alone is none."""
    return sum(1 for token in shown.split() if _HAS_LETTER_OR_DIGIT.search(token))
