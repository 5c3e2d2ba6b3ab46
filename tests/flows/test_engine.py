"""The pure engine: every transition, on a small flow book written for the test."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.engine import (
    Command,
    Exit,
    Media,
    Press,
    Start,
    State,
    Submit,
    Text,
    is_exit_word,
    keys,
    step,
    submitted,
)
from flows.loader import HOME, LANGUAGE, Book, load_book

MAIN = """
flow: main
start: menu
screens:
  menu:
    text: main.menu.text
    buttons:
      - {label: main.menu.form, go: form.kind}
    nav: [language, exit]
"""
LANG = """
flow: language
start: choose
screens:
  choose:
    text: language.choose.text
    buttons:
      - {label: language.kk, action: set_language, value: kk}
      - {label: language.en, action: set_language, value: en}
    nav: [exit]
"""
FORM = """
flow: form
start: kind
screens:
  kind:
    text: form.kind.text
    question:
      field: kind
      kind: single
      options: [{value: a, label: form.a}, {value: b, label: form.b}]
      next: many
  many:
    text: form.many.text
    question:
      field: many
      kind: multi
      options: [{value: x, label: form.x}, {value: y, label: form.y}]
      done_label: form.done
      next: story
  story:
    text: form.story.text
    question: {field: story, kind: text, max_length: 10, done_label: form.done, next: files}
  files:
    text: form.files.text
    question: {field: files, kind: media, max_items: 2, done_label: form.done, next: review}
  review:
    text: form.review.text
    buttons:
      - {label: form.edit_kind, go: kind, come_back: true}
      - {label: form.send, action: submit, go: thanks}
      - {label: form.cancel, action: discard}
  thanks:
    text: form.thanks.text
"""


@pytest.fixture
def book(tmp_path: Path) -> Book:
    for name, text in (("main", MAIN), ("language", LANG), ("form", FORM)):
        (tmp_path / f"{name}.yaml").write_text(text)
    return load_book(tmp_path)


def press(book: Book, state: State, label: str) -> State:
    index = next(k.index for k in keys(book, state) if k.label == label)
    return step(book, state, Press(index)).state


def at(screen: str, **answers: str | tuple[str, ...]) -> State:
    return State(locale="en", screen=screen, answers={"form": answers} if answers else {})


def test_first_contact_asks_for_language_and_start_then_lands_on_menu(book: Book) -> None:
    state = step(book, State(), Start()).state
    assert state.screen == LANGUAGE
    state = press(book, state, "language.kk")
    assert (state.locale, state.screen) == ("kk", HOME)
    assert step(book, at("form.story"), Start()).state.screen == HOME


def test_anything_before_a_language_is_chosen_shows_the_choice(book: Book) -> None:
    for event in (Text("hello"), Command("menu"), Media("t1")):
        assert step(book, State(), event).state.screen == LANGUAGE


@pytest.mark.parametrize("name", ["menu", "back", "language", "nonsense"])
def test_commands_on_the_language_screen_keep_it_until_a_language_is_chosen(
    book: Book, name: str
) -> None:
    state = step(book, State(), Start()).state
    after = step(book, state, Command(name)).state
    assert (after.screen, after.locale) == (LANGUAGE, None)


def test_language_switch_returns_to_where_she_was(book: Book) -> None:
    state = step(book, State(locale="en", screen=HOME), Command("language")).state
    assert state.screen == LANGUAGE
    state = press(book, state, "language.kk")
    assert (state.locale, state.screen, state.return_to) == ("kk", HOME, None)


def test_single_choice_records_and_moves_on(book: Book) -> None:
    state = press(book, at("form.kind"), "form.b")
    assert state.screen == "form.many"
    assert state.answers["form"]["kind"] == "b"


def test_multi_choice_toggles_and_done_moves_on(book: Book) -> None:
    state = press(book, at("form.many"), "form.x")
    state = press(book, state, "form.y")
    state = press(book, state, "form.x")
    assert state.answers["form"]["many"] == ("y",)
    assert [k.checked for k in keys(book, state) if k.kind == "option"] == [False, True]
    assert press(book, state, "form.done").screen == "form.story"


def test_text_accumulates_until_the_limit_and_a_longer_one_is_refused(book: Book) -> None:
    outcome = step(book, at("form.story"), Text("abcd"))
    assert outcome.notice is not None and outcome.notice.msgid == "common.text_saved"
    state = outcome.state
    refused = step(book, state, Text("12345"))  # 4 + 2 separator + 5 > 10
    assert not refused.moved and refused.state == state
    assert refused.notice is not None and refused.notice.msgid == "common.text_too_long"
    assert refused.notice.params["left"] == 4
    state = step(book, state, Text("1234")).state
    assert state.answers["form"]["story"] == "abcd\n\n1234"


def test_media_counts_up_to_the_limit(book: Book) -> None:
    state = at("form.files")
    for token in ("t1", "t2"):
        state = step(book, state, Media(token)).state
    outcome = step(book, state, Media("t3"))
    assert not outcome.moved and outcome.notice is not None
    assert outcome.notice.msgid == "common.media_limit"
    assert state.answers["form"]["files"] == ("t1", "t2")


def test_media_and_text_where_no_question_asks_get_a_notice(book: Book) -> None:
    media = step(book, at(HOME), Media("t"))
    text = step(book, at(HOME), Text("hi"))
    assert media.notice is not None and media.notice.msgid == "common.media_not_needed"
    assert text.notice is not None and text.notice.msgid == "common.use_buttons"
    assert media.state == text.state == at(HOME)


def test_edit_from_review_comes_back_to_review(book: Book) -> None:
    state = press(book, at("form.review", kind="a"), "form.edit_kind")
    assert state.screen == "form.kind" and state.return_to == "form.review"
    state = press(book, state, "form.b")
    assert state.screen == "form.review" and state.answers["form"]["kind"] == "b"


def test_submit_hands_over_answers_and_submitted_forgets_the_draft(book: Book) -> None:
    state = at("form.review", kind="a", story="hi")
    outcome = step(
        book, state, Press(next(k.index for k in keys(book, state) if k.label == "form.send"))
    )
    assert isinstance(outcome.effect, Submit)
    assert dict(outcome.effect.answers) == {"kind": "a", "story": "hi"}
    after = submitted(outcome.state, outcome.effect)
    assert after.screen == "form.thanks" and "form" not in after.answers


def test_discard_forgets_the_draft_and_goes_home(book: Book) -> None:
    state = press(book, at("form.review", kind="a"), "form.cancel")
    assert state.screen == HOME and "form" not in state.answers


def test_nav_back_home_and_exit(book: Book) -> None:
    assert press(book, at("form.many"), "nav.back").screen == "form.kind"
    assert press(book, at("form.kind"), "nav.back").screen == HOME
    assert press(book, at("form.many"), "nav.home").screen == HOME
    state = at("form.many")
    exit_key = next(k for k in keys(book, state) if k.label == "nav.exit")
    assert isinstance(step(book, state, Press(exit_key.index)).effect, Exit)


def test_home_screen_has_no_back_or_home(book: Book) -> None:
    labels = [k.label for k in keys(book, at(HOME))]
    assert "nav.back" not in labels and "nav.home" not in labels
    assert labels[-2:] == ["nav.language", "nav.exit"]


@pytest.mark.parametrize("index", [-1, 99, 10**9])
def test_out_of_range_press_is_expired_and_changes_nothing(book: Book, index: int) -> None:
    outcome = step(book, at("form.kind"), Press(index))
    assert not outcome.moved and outcome.state == at("form.kind")
    assert outcome.notice is not None and outcome.notice.msgid == "common.expired"


def test_unknown_command_keeps_the_screen(book: Book) -> None:
    outcome = step(book, at("form.kind"), Command("nonsense"))
    assert outcome.state == at("form.kind") and outcome.notice is not None


def test_step_is_deterministic(book: Book) -> None:
    state = at("form.many", kind="a")
    assert step(book, state, Press(0)) == step(book, state, Press(0))


@pytest.mark.parametrize(
    "word",
    [
        "exit",
        "EXIT",
        " Exit! ",
        "выход",
        "Выйти",
        "ШЫҒУ",
        "шыгу",
        "stop",
        "/exit",
        "/Exit",
        "/EXIT@safe_bot",
        "/stop now",
        "/QUIT",
    ],
)
def test_exit_words(word: str) -> None:
    assert is_exit_word(word)


@pytest.mark.parametrize(
    "word", ["exit now", "выходной", "", "шығу жолы", "/", "/exits", "/menu", "/start exit"]
)
def test_not_exit_words(word: str) -> None:
    assert not is_exit_word(word)


GATED = """
flow: gate
start: door
screens:
  door:
    text: gate.door.text
    requires: reporting
    otherwise: closed
    question:
      field: safe
      kind: single
      options:
        - {value: yes_, label: gate.yes}
        - {value: no_, label: gate.no, go: help}
      next: after
  closed: {text: gate.closed.text}
  help: {text: gate.help.text}
  after: {text: gate.after.text}
"""


@pytest.fixture
def gated(tmp_path: Path) -> Book:
    main = MAIN.replace("go: form.kind", "go: gate.door")
    for name, text in (("main", main), ("language", LANG), ("gate", GATED)):
        (tmp_path / f"{name}.yaml").write_text(text)
    return load_book(tmp_path)


def test_an_option_can_lead_elsewhere_than_next(gated: Book) -> None:
    door = State(locale="en", screen="gate.door")
    assert press(gated, door, "gate.no").screen == "gate.help"
    assert press(gated, door, "gate.yes").screen == "gate.after"
    assert press(gated, door, "gate.no").answers["gate"]["safe"] == "no_"


def test_a_screen_needing_a_disabled_feature_shows_its_stand_in(gated: Book) -> None:
    home = State(locale="en", screen=HOME)
    assert press(gated, home, "main.menu.form").screen == "gate.door"
    assert press(gated.without("reporting"), home, "main.menu.form").screen == "gate.closed"
