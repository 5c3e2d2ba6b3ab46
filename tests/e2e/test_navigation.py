"""Language choice, switching, and walking to every screen and back, in every language."""

from __future__ import annotations

import pytest

from bot.render import exit_anchor
from flows.catalog import Translator
from flows.engine import State, keys
from flows.loader import HOME, LANGUAGE, load_book
from flows.markup import visible_text
from flows.schema import LANGUAGES, Action
from tests.e2e.conftest import Harness, bot_texts, said
from tests.e2e.walk import paths_to_every_screen

BOOK = load_book()
TR = Translator.load()


def menu_text(lang: str) -> str:
    return TR.text(lang, "main.menu.text")


async def choose(harness: Harness, user: object, label: str) -> None:
    await user.press(label)  # type: ignore[attr-defined]
    await harness.settle()


async def test_first_contact_offers_three_languages_named_natively(harness: Harness) -> None:
    user = harness.user(first_name="Aigerim", language_code="kk")
    await user.send("сәлем")
    await harness.settle()
    assert user.buttons == ["✓ Қазақша", "Русский", "English", "🚪 Шығу"]
    assert bot_texts(user) == [TR.text("kk", "language.choose.text")]


@pytest.mark.parametrize("code", [None, "de", "en-GB"])
async def test_unknown_or_missing_language_code_preselects_nothing_odd(
    harness: Harness, code: str | None
) -> None:
    user = harness.user(language_code=code)
    await user.command("/start")
    await harness.settle()
    labels = user.buttons
    assert {"Қазақша", "Русский", "English"} <= {b.removeprefix("✓ ") for b in labels}
    assert sum(b.startswith("✓") for b in labels) == (1 if code == "en-GB" else 0)


async def test_choice_lands_on_menu_and_start_always_returns_there(harness: Harness) -> None:
    user = harness.user(language_code="ru")
    await user.command("/start")
    await harness.settle()
    await choose(harness, user, "English")
    assert bot_texts(user)[-1] == menu_text("en")
    await choose(harness, user, "🆘 I'm in danger now")
    await user.command("/start")
    await harness.settle()
    assert bot_texts(user)[-1] == menu_text("en")
    # One live screen: the previous one is replaced, not piled up.
    assert len(bot_texts(user)) == 1


async def test_language_switch_from_the_menu(harness: Harness) -> None:
    user = harness.user(language_code="en")
    await user.command("/start")
    await harness.settle()
    await choose(harness, user, "✓ English")
    await choose(harness, user, "🌐 Language")
    assert "✓ English" in user.buttons
    await choose(harness, user, "Русский")
    assert bot_texts(user)[-1] == menu_text("ru")
    assert "🌐 Язык" in user.buttons and "🚪 Выйти" in user.buttons


async def test_buttons_edit_the_live_screen_in_place(harness: Harness) -> None:
    user = harness.user(language_code="en")
    await user.command("/start")
    await harness.settle()
    await choose(harness, user, "✓ English")
    before = user.last_bot
    await choose(harness, user, "🆘 I'm in danger now")
    after = user.last_bot
    assert before is not None and after is not None
    assert before.message_id == after.message_id and after.edits >= 1


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("with_reports", [False, True])
async def test_walk_to_every_screen_and_back_in_each_language(
    harness: Harness, reporting: Harness, lang: str, with_reports: bool
) -> None:
    harness = reporting if with_reports else harness
    book = harness.app.conversation.book
    paths = paths_to_every_screen(book, lang)
    after_submit = {
        k.target
        for ref in book.screens
        for k in keys(book, State(locale=lang, screen=ref))
        if k.action is Action.SUBMIT
    }
    gated = {ref for ref in book.screens if ref.startswith("report.")} | {"followup.enter"}
    # Past a receipt taken or typed (a service, not a button): tests/e2e/test_followup.py.
    past_receipt = {
        ref for ref in book.screens if ref.startswith("followup.") and ref != "followup.enter"
    } | {"report.receipt"}
    not_walked = set(book.screens) - set(paths) - after_submit - {LANGUAGE} - past_receipt
    if with_reports:
        assert not_walked == {"report.unavailable"}
    else:
        assert not_walked == gated - {"report.unavailable"} - after_submit - past_receipt
    user = harness.user(language_code=lang)
    await user.command("/start")
    await harness.settle()
    await choose(harness, user, f"✓ {TR.text(lang, f'language.{lang}')}")
    exit_label = TR.text(lang, "nav.exit")
    for ref, path in sorted(paths.items()):
        await user.command("/menu")
        await harness.settle()
        for index in path:
            await user.press_index(index)
            await harness.settle()
        shown = user.last_bot
        assert shown is not None and shown.protect_content
        first_line = visible_text(TR.text(lang, book.screen(ref).text)).split("\n", 1)[0]
        assert (shown.text or "").split("\n", 1)[0] == first_line, ref
        assert exit_label in user.buttons, ref
        assert exit_anchor(shown.buttons[-1][-1][1]), ref  # carries where her chat starts
        if ref != HOME:
            back = TR.text(lang, "nav.back")
            home = TR.text(lang, "nav.home")
            assert back in user.buttons or home in user.buttons, ref
            await user.press(home if home in user.buttons else back)
            await harness.settle()
            assert user.last_bot is not None and user.last_bot.text
    # Commands and old screens are cleared as she goes: one live screen remains (below the
    # wordless pinned header).
    assert len(said(user)) == 1
