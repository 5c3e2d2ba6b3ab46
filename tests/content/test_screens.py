"""Every content screen renders in kk, ru and en within Telegram's and a phone's limits; the
danger screen is one tap from the menu and linked from every screen that mentions danger."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows.catalog import read_catalog
from flows.check import (
    MAX_LABEL_CHARS,
    MAX_SCREEN_WORDS,
    MESSAGE_CHARS,
    NOTICE_ROOM,
    check,
    word_count,
)
from flows.discretion import revealing_words
from flows.engine import State, keys
from flows.loader import HOME
from flows.markup import visible_text
from flows.messages import used_msgids
from tests.content.helpers import (
    CONTENT_FLOWS,
    DANGER,
    DANGER_CHARS,
    LANGS,
    PHONE_CHARS,
    book,
    content_screens,
    render,
    translator,
)

SOURCES = Path(__file__).resolve().parents[2] / "flows" / "SOURCES.md"


def content_msgids() -> set[str]:
    """Every msgid the content flows show: texts, labels, option labels."""
    found: set[str] = set()
    for ref in content_screens():
        found.add(book().screen(ref).text)
        found.update(k.label for k in keys(book(), State(locale="en", screen=ref)))
    found.update(k.label for k in keys(book(), State(locale="en", screen=HOME)))
    found.update(m for m in used_msgids() if m.startswith("help.directory."))
    return found


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("ref", content_screens())
def test_screen_renders_within_limits(ref: str, lang: str) -> None:
    text = render(State(locale=lang, screen=ref))
    shown = visible_text(text)  # raises if Telegram would refuse the HTML
    assert len(shown) + NOTICE_ROOM <= MESSAGE_CHARS
    assert len(shown) <= PHONE_CHARS, f"{ref} [{lang}] is {len(shown)} characters"
    assert "{" not in shown, f"{ref} [{lang}] has an unfilled placeholder"
    if not book().screen(ref).shows:  # a directory is data she looks up, not prose to read
        words = word_count(shown)
        assert words <= MAX_SCREEN_WORDS, f"{ref} [{lang}] is {words} words as she sees it"
    assert not revealing_words(lang, shown), f"{ref} [{lang}] title or second line gives it away"
    for key in keys(book(), State(locale=lang, screen=ref)):
        assert translator().has(lang, key.label), f"{ref}: label {key.label} [{lang}]"
        assert len(visible_text(translator().text(lang, key.label))) <= MAX_LABEL_CHARS


@pytest.mark.parametrize("lang", LANGS)
def test_danger_screen_is_one_phone_screen_with_numbers_first(lang: str) -> None:
    shown = visible_text(render(State(locale=lang, screen=DANGER)))
    assert len(shown) <= DANGER_CHARS
    assert len(shown.splitlines()) <= 20
    body = shown.split("\n", 2)[2]
    assert body.index("112") < 80 and body.index("102") < 120  # the numbers come first


def test_danger_is_one_tap_from_the_menu_and_first() -> None:
    menu = keys(book(), State(locale="en", screen=HOME))
    assert menu[0].kind == "go" and menu[0].target == DANGER


def test_every_content_flow_is_on_the_menu() -> None:
    targets = {k.target for k in keys(book(), State(locale="en", screen=HOME))}
    for flow in CONTENT_FLOWS:
        start = f"{flow}.{book().flows[flow].start}"
        assert start in targets or flow == "safety", f"{flow} is not on the main menu"


DANGER_WORDS = re.compile(r"\b(112|102|103)\b|danger", re.IGNORECASE)


@pytest.mark.parametrize("ref", [r for r in content_screens() if r != DANGER])
def test_screens_that_mention_danger_link_to_the_danger_screen(ref: str) -> None:
    shown = visible_text(render(State(locale="en", screen=ref)))
    if DANGER_WORDS.search(shown):
        targets = {k.target for k in keys(book(), State(locale="en", screen=ref))}
        assert DANGER in targets, f"{ref} mentions danger but has no button to {DANGER}"


@pytest.mark.parametrize("ref", content_screens())
def test_every_screen_has_back_home_and_exit(ref: str) -> None:
    navs = {k.value for k in keys(book(), State(locale="en", screen=ref)) if k.kind == "nav"}
    assert {"back", "home", "exit"} <= navs


@pytest.mark.parametrize("lang", LANGS)
def test_no_content_msgid_missing_empty_or_fuzzy(lang: str) -> None:
    catalog = read_catalog(lang)
    for msgid in sorted(content_msgids()):
        message = catalog.get(msgid)
        assert message is not None, f"{msgid} missing in {lang}"
        assert not message.fuzzy, f"{msgid} fuzzy in {lang}"
        assert isinstance(message.string, str) and message.string.strip(), f"{msgid} empty"


def test_checker_finds_nothing_in_this_content() -> None:
    prefixes = (*(f"'{f}." for f in CONTENT_FLOWS), "'main.menu.", "directory:")
    files = tuple(f"{f}.yaml" for f in CONTENT_FLOWS)
    mine = [p for p in check() if any(x in p for x in prefixes) or p.startswith(files)]
    assert mine == []


def test_sources_cover_every_content_text() -> None:
    sources = SOURCES.read_text(encoding="utf-8")
    texts = {book().screen(ref).text for ref in content_screens()}
    texts.add("help.directory.national")
    missing = sorted(m for m in texts if f"`{m}`" not in sources)
    assert missing == [], f"flows/SOURCES.md does not map: {missing}"


# Numbers in the texts: full numbers in the strict "+7 ..." form; short codes only these.
SHORT_CODES = {"101", "102", "103", "111", "112", "150"}


@pytest.mark.parametrize("lang", LANGS)
def test_phone_numbers_in_texts_are_well_formed(lang: str) -> None:
    from flows.directory import PHONE_RE

    catalog = read_catalog(lang)
    for msgid in sorted(content_msgids()):
        message = catalog.get(msgid)
        assert message is not None, msgid
        string = str(message.string)
        for full in re.findall(r"\+\s*7[\d\s()-]{6,}\d", string):
            assert PHONE_RE.match(full), f"{msgid} [{lang}]: {full!r}"
        for short in re.findall(r"<b>(\d{3,4})</b>|📞 (\d{3,4})\b", string):
            number = short[0] or short[1]
            assert number in SHORT_CODES, f"{msgid} [{lang}]: unexpected number {number}"
        for bare in re.findall(r"(?<![\d.,:+/-])\b(1\d{2})\b(?![\d.,:/])", string):
            assert bare in SHORT_CODES | {"131", "150"}, f"{msgid} [{lang}]: {bare}"
