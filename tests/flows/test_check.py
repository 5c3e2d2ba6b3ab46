"""The content checker finds each fault it promises to, precisely; the shipped content is clean."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from flows.__main__ import main as flows_main
from flows.check import check, word_count

LANG = """
flow: language
start: choose
screens:
  choose:
    text: language.choose.text
    buttons:
      - {label: language.en, action: set_language, value: en}
    nav: [exit]
"""


def write(
    root: Path,
    main_yaml: str,
    texts: dict[str, str],
    *,
    fuzzy: Collection[str] = (),
    only: str | None = None,
) -> None:
    content = root / "flows" / "content"
    content.mkdir(parents=True, exist_ok=True)
    (content / "main.yaml").write_text(main_yaml)
    (content / "language.yaml").write_text(LANG)
    base = {"language.choose.text": "Hello", "language.en": "English"}
    for lang in ("kk", "ru", "en"):
        catalog = Catalog(locale=lang, domain="messages")
        for msgid, string in {**base, **texts}.items():
            if only is not None and lang != only and msgid in texts:
                string = "Fine"
            catalog.add(msgid, string, flags=("fuzzy",) if msgid in fuzzy else ())
        path = root / "locales" / lang / "LC_MESSAGES" / "messages.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write_po(f, catalog)


def run(root: Path) -> list[str]:
    return check(root / "flows" / "content", root / "locales", root)


MENU = """
flow: main
start: menu
screens:
  menu:
    text: main.menu.text
    buttons: [{label: main.menu.go, go: page}]
    nav: [exit]
  page:
    text: main.page.text
{extra}
"""
OK_TEXTS = {"main.menu.text": "Hello", "main.menu.go": "Go", "main.page.text": "A page"}


def test_a_sound_book_passes(tmp_path: Path) -> None:
    write(tmp_path, MENU.replace("{extra}", ""), OK_TEXTS)
    assert run(tmp_path) == []


def test_unreachable_screen(tmp_path: Path) -> None:
    write(tmp_path, MENU.replace("{extra}", "  lost: {text: main.page.text}"), OK_TEXTS)
    assert (
        "main.yaml: screen 'lost': unreachable from the language choice and the main menu"
        in run(tmp_path)
    )


def test_screen_without_quick_exit_and_without_way_back(tmp_path: Path) -> None:
    write(
        tmp_path,
        MENU.replace("{extra}", "    nav: [back]").replace(
            "text: main.page.text\n    nav: [back]", "text: main.page.text\n    nav: [back]"
        ),
        OK_TEXTS,
    )
    assert "main.yaml: screen 'page': no quick exit button" in run(tmp_path)
    write(tmp_path, MENU.replace("{extra}", "    nav: [exit]"), OK_TEXTS)
    assert "main.yaml: screen 'page': no way back or home" in run(tmp_path)


@pytest.mark.parametrize(
    ("texts", "fuzzy", "expected"),
    [
        ({**OK_TEXTS, "main.page.text": ""}, set(), "msgid 'main.page.text' is empty"),
        (
            {k: v for k, v in OK_TEXTS.items() if k != "main.page.text"},
            set(),
            "msgid 'main.page.text' is missing",
        ),
        (OK_TEXTS, {"main.menu.go"}, "msgid 'main.menu.go' is fuzzy"),
        ({**OK_TEXTS, "main.page.text": "x" * 4000}, set(), "exceeds Telegram's 4096"),
        ({**OK_TEXTS, "main.page.text": "<b>bold"}, set(), "can't parse entities"),
        (
            {**OK_TEXTS, "main.page.text": "Domestic violence help\nmore"},
            set(),
            "reveal the topic",
        ),
        ({**OK_TEXTS, "main.menu.go": "y" * 70}, set(), "keep labels within 64"),
    ],
)
def test_translation_faults(
    tmp_path: Path, texts: dict[str, str], fuzzy: set[str], expected: str
) -> None:
    write(tmp_path, MENU.replace("{extra}", ""), texts, fuzzy=fuzzy)
    problems = run(tmp_path)
    assert any(expected in p and "locales/en/LC_MESSAGES/messages.po" in p for p in problems), (
        problems
    )


def test_placeholders_must_agree_across_languages(tmp_path: Path) -> None:
    write(
        tmp_path,
        MENU.replace("{extra}", ""),
        {**OK_TEXTS, "main.page.text": "{count} left"},
        only="en",
    )
    assert any("different placeholders" in p for p in run(tmp_path))


def test_shipped_content_is_clean_and_cli_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert check() == []
    assert flows_main(["check"]) == 0
    assert "content is sound" in capsys.readouterr().out


def test_cli_exits_non_zero_with_a_precise_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, MENU.replace("{extra}", "  lost: {text: main.page.text}"), OK_TEXTS)
    monkeypatch.setattr("flows.__main__.check", lambda: run(tmp_path))
    assert flows_main(["check"]) == 1
    assert "screen 'lost'" in capsys.readouterr().out


def test_unbalanced_braces_are_found_even_when_every_language_has_them(tmp_path: Path) -> None:
    write(tmp_path, MENU.replace("{extra}", ""), {**OK_TEXTS, "main.page.text": "left {count"})
    assert any("unbalanced braces" in p for p in run(tmp_path))


def test_a_msgid_nothing_uses_is_reported(tmp_path: Path) -> None:
    write(tmp_path, MENU.replace("{extra}", ""), {**OK_TEXTS, "main.old.text": "Old words"})
    assert any("'main.old.text' is used by no flow and no code" in p for p in run(tmp_path))


@pytest.mark.parametrize(
    ("lang", "text", "stems"),
    [
        ("en", "If you decide to leave\n\nPlan where you will go.", "leav"),
        ("en", "If the phone is watched\n\nThink first.", "watched"),
        ("en", "Protective order\n\nIssued by the police.", "police, protect"),
        ("en", "Right now\n\nCall 112 or 102 (police).", "police, 112, 102"),
        ("ru", "Защитное предписание\n\nВот как это работает.", "предписан"),
        ("ru", "Если решите уйти\n\nПродумайте дорогу.", "уйти"),
        ("kk", "Кетуді шешсеңіз\n\nЖолды ойластырыңыз.", "кету"),
        ("kk", "Дәлелдерді сақтау\n\nКейін көмектеседі.", "дәлел"),
    ],
)
def test_an_indiscreet_title_or_second_line_is_found(
    tmp_path: Path, lang: str, text: str, stems: str
) -> None:
    write(tmp_path, MENU.replace("{extra}", ""), {**OK_TEXTS, "main.page.text": text}, only=lang)
    problems = [p for p in run(tmp_path) if f"locales/{lang}/" in p and "reveal the topic" in p]
    assert len(problems) == 1 and f"({stems})" in problems[0], problems


def test_neutral_titles_and_harmless_lookalikes_pass(tmp_path: Path) -> None:
    texts = {
        **OK_TEXTS,
        # "Safety" is not "danger", an ID card is not a witness, a fate is not a court; and the
        # third line may name what the screen is about.
        "main.page.text": "Қауіпсіздік жоспары\n\nЖеке куәлік пен ақша.\n\nПолицияға 102.",
    }
    write(tmp_path, MENU.replace("{extra}", ""), texts, only="kk")
    assert run(tmp_path) == []


def test_a_notice_the_code_sends_is_checked_on_its_first_line_only(tmp_path: Path) -> None:
    from flows.check import _discretion_problems

    notice = "Added: 2 of 5.\nCall 111 if you need to talk."
    assert _discretion_problems("po", "en", "common.x", notice, lines=1) == []
    assert _discretion_problems("po", "en", "common.x", notice, lines=2) != []


def test_a_sentence_over_25_words_is_found(tmp_path: Path) -> None:
    long = " ".join(["word"] * 26) + ". Short one."
    write(tmp_path, MENU.replace("{extra}", ""), {**OK_TEXTS, "main.page.text": f"Title\n\n{long}"})
    problems = [p for p in run(tmp_path) if "a sentence of 26 words" in p]
    assert len(problems) == 3  # kk, ru and en
    ok = " ".join(["word"] * 25) + ".\n• a list line is its own sentence"
    write(tmp_path, MENU.replace("{extra}", ""), {**OK_TEXTS, "main.page.text": f"Title\n\n{ok}"})
    assert run(tmp_path) == []


def test_word_count_counts_what_she_reads() -> None:
    # An emoji, a dash or a bullet alone is not a word; "24/7" and "egov.kz" are one each.
    assert word_count("📞 111 — free, 24/7 · egov.kz") == 4
    assert word_count("• don't wait {idle} minutes →") == 4


def test_a_screen_over_80_words_is_found_in_each_language(tmp_path: Path) -> None:
    # Short sentences, a list and emoji: only the length of the whole screen is at fault.
    body = "\n".join(["📞 One two three four five six seven eight nine ten."] * 8)  # 1 + 80 words
    write(tmp_path, MENU.replace("{extra}", ""), {**OK_TEXTS, "main.page.text": f"Title\n\n{body}"})
    problems = [p for p in run(tmp_path) if "a screen of" in p]
    assert len(problems) == 3, problems  # kk, ru and en
    assert all("'main.page.text': a screen of 81 words, keep it within 80" in p for p in problems)


def test_a_screen_of_80_words_passes_and_a_placeholder_is_one_word(tmp_path: Path) -> None:
    body = "\n".join(["• One two three four five six seven eight nine."] * 8)  # 1 + 72 words
    text = f"Title\n\n{body}\nWait {{idle}} more quiet minutes, then exit."  # + 7 = 80
    write(tmp_path, MENU.replace("{extra}", ""), {**OK_TEXTS, "main.page.text": text})
    assert run(tmp_path) == []


def _desk(root: Path, template: str, module: str) -> None:
    desk = root / "caseworker" / "desk"
    (desk / "templates").mkdir(parents=True)
    (desk / "templates" / "page.html").write_text(template)
    (desk / "pages.py").write_text(module)


def test_the_desks_msgids_count_as_used_and_must_be_translated(tmp_path: Path) -> None:
    _desk(
        tmp_path,
        '<h1>{{ _("desk.page.title") }}</h1><p>{{ _("desk.page.count", count=n) }}</p>',
        'from flows.catalog import N_\nSAVED = N_("desk.saved")\n',
    )
    texts = {**OK_TEXTS, "desk.page.title": "Inbox", "desk.page.count": "{count} reports"}
    write(tmp_path, MENU.replace("{extra}", ""), texts)
    problems = run(tmp_path)
    # Used by a template and by Python code: neither is "used by no flow and no code"; the one
    # only Python names is missing from every catalog.
    assert not any("desk.page" in p for p in problems), problems
    assert any(
        "msgid 'desk.saved' is missing (used at caseworker/desk/pages.py" in p for p in problems
    )


def test_desk_texts_are_web_pages_not_telegram_messages(tmp_path: Path) -> None:
    # A chart title may name violence: it is on her screen, not in a phone's notification.
    _desk(tmp_path, "", 'from flows.catalog import N_\nTITLE = N_("desk.stats.forms")\n')
    texts = {**OK_TEXTS, "desk.stats.forms": "By form of violence " + "x" * 4000}
    write(tmp_path, MENU.replace("{extra}", ""), texts)
    assert run(tmp_path) == []


def test_an_unused_desk_msgid_is_reported(tmp_path: Path) -> None:
    _desk(tmp_path, "<p>nothing</p>", "")
    write(tmp_path, MENU.replace("{extra}", ""), {**OK_TEXTS, "desk.gone": "Old"})
    assert any("'desk.gone' is used by no flow and no code" in p for p in run(tmp_path))


@pytest.mark.parametrize(
    ("lang", "label"),
    [
        ("en", "🚪 What the exit erases"),  # the door of issue 10, beside the real one
        ("en", "If you decide to leave"),
        ("en", "A room with a way out"),
        ("ru", "🚪 Что стирает выход"),
        ("ru", "Если решите уйти"),
        ("ru", "Комната с выходом"),
        ("kk", "Шығу нені өшіреді"),
        ("kk", "Кетуді шешсеңіз"),
        ("kk", "🚪 Басқа бет"),
    ],
)
def test_a_second_door_on_a_screen_is_found_in_each_language(
    tmp_path: Path, lang: str, label: str
) -> None:
    """A flow whose menu has a button that looks like the quick exit (its glyph or its word)
    beside the exit itself: the checker fails, naming the screen, the language and the label."""
    write(tmp_path, MENU.replace("{extra}", ""), {**OK_TEXTS, "main.menu.go": label}, only=lang)
    problems = [p for p in run(tmp_path) if "second door" in p]
    assert len(problems) == 1, problems
    assert f"screen 'menu': [{lang}] button 'main.menu.go' ({label!r})" in problems[0]


@pytest.mark.parametrize(
    ("lang", "label"),
    [
        ("en", "ℹ️ What gets deleted, and what stays"),
        ("en", "🚶‍♀️ If you decide to live apart"),
        ("ru", "Выходные и праздники"),  # a day off is not a way out
        ("ru", "ℹ️ Что удаляется, а что остаётся"),
        ("kk", "Шығыс Қазақстан облысы"),  # the east is not an exit
        ("kk", "ℹ️ Не өшіріледі, не қалады"),
    ],
)
def test_neutral_labels_and_lookalikes_are_not_doors(tmp_path: Path, lang: str, label: str) -> None:
    write(tmp_path, MENU.replace("{extra}", ""), {**OK_TEXTS, "main.menu.go": label}, only=lang)
    assert [p for p in run(tmp_path) if "door" in p] == []


def test_the_quick_exit_itself_must_carry_the_door_or_the_word(tmp_path: Path) -> None:
    write(tmp_path, MENU.replace("{extra}", ""), {**OK_TEXTS, "nav.exit": "🚪 Exit"})
    assert [p for p in run(tmp_path) if "carries neither" in p] == []
    write(tmp_path, MENU.replace("{extra}", ""), {**OK_TEXTS, "nav.exit": "🏠 Away"}, only="en")
    problems = [p for p in run(tmp_path) if "carries neither" in p and "locales/en" in p]
    assert problems == [
        "locales/en: the quick exit's label 'nav.exit' ('🏠 Away') carries neither 🚪 nor an "
        "exit word"
    ]


def test_two_quick_exits_on_one_screen_are_found(tmp_path: Path) -> None:
    book = MENU.replace("{extra}", "").replace(
        "buttons: [{label: main.menu.go, go: page}]",
        "buttons: [{label: main.menu.go, go: page}, {label: main.menu.out, action: exit}]",
    )
    write(tmp_path, book, {**OK_TEXTS, "main.menu.out": "🚪 Out"})
    assert any("screen 'menu': 2 quick exits, keep one" in p for p in run(tmp_path))
