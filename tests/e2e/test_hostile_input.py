"""Odd, hostile and identifying input: a clear answer, nothing lost, nothing stored, no crash."""

from __future__ import annotations

import pytest

from telegram_emulator.client import SimUser, other_bot
from tests.e2e.conftest import Harness, bot_texts, open_menu


async def at_menu(harness: Harness, lang: str = "en") -> SimUser:
    return await open_menu(harness, lang, first_name="Dana", username="dana_kz")


def last_text(user: SimUser) -> str:
    return bot_texts(user)[-1]


@pytest.mark.both_modes
async def test_bot_leaves_a_group_it_is_added_to_and_ignores_it(harness: Harness) -> None:
    member = harness.user(first_name="Asel")
    group = harness.emu.group("Family chat", supergroup=True)
    await harness.emu.add_bot_to_group(group, member)
    await harness.settle()
    assert not group.bot_member
    assert harness.emu.calls_to("leaveChat")
    await group.send(member, "/start")
    await harness.settle()
    assert [m for m in group.visible if m.from_bot] == []
    assert len(harness.app.sessions) == 0


@pytest.mark.both_modes
async def test_bot_leaves_a_channel_and_posts_nothing(harness: Harness) -> None:
    member = harness.user(first_name="Asel")
    channel = harness.emu.channel("News")
    await harness.emu.add_bot_to_group(channel, member, admin=True)
    await harness.emu.channel_post(channel, "hello")
    await harness.settle()
    assert not channel.bot_member
    assert [m for m in channel.visible if m.from_bot] == []


@pytest.mark.both_modes
async def test_other_bots_are_ignored(harness: Harness) -> None:
    robot = other_bot(harness.emu)
    await robot.command("/start")
    await harness.settle()
    assert bot_texts(robot) == [] and len(harness.app.sessions) == 0


@pytest.mark.both_modes
@pytest.mark.parametrize("kind", ["location", "contact"])
async def test_location_and_contact_are_deleted_and_explained(harness: Harness, kind: str) -> None:
    user = await at_menu(harness)
    if kind == "location":
        shared = await user.send_location(43.238, 76.945)
    else:
        shared = await user.send_contact("+77001234567", "Dana")
    await harness.settle()
    assert all(m.message_id != shared.message_id for m in user.visible)
    assert ("location you shared" if kind == "location" else "contact you shared") in last_text(
        user
    )
    assert "🚪 Exit" in user.buttons
    session = harness.app.sessions.get(user.chat.id)
    assert session is not None and shared.message_id not in session.message_ids
    assert "77001234567" not in repr(session) and "43.238" not in repr(session)


@pytest.mark.parametrize("send", ["photo", "sticker", "voice", "document"])
async def test_media_outside_a_question_gets_a_kind_answer(harness: Harness, send: str) -> None:
    user = await at_menu(harness, "ru")
    if send == "photo":
        await user.send_photo(b"\x89PNG fake")
    elif send == "sticker":
        await user.send_sticker()
    elif send == "voice":
        await user.send_voice(b"OggS fake", duration=2)
    else:
        await user.send_document(b"%PDF fake", "notes.pdf", "application/pdf")
    await harness.settle()
    assert last_text(user).startswith("Здесь я не принимаю файлы")
    assert "🚪 Выйти" in user.buttons


@pytest.mark.parametrize(
    "data",
    ["t:AAAAAAAA:0", "t:xyz", "garbage", "t:" + "A" * 60, "x:extra", "t:AAAAAAAA:-1"],
)
async def test_forged_callback_data_says_expired_and_shows_the_current_screen(
    harness: Harness, data: str
) -> None:
    user = await at_menu(harness)
    screen = user.keyboard_message
    assert screen is not None
    await user.press_data(screen.message_id, data)
    await harness.settle()
    assert "This button has expired" in user.alerts[-1]
    assert "Hello 🌿" in last_text(user)
    assert "🚪 Exit" in user.buttons


async def test_another_users_button_is_refused(harness: Harness) -> None:
    victim = await at_menu(harness)
    attacker = await at_menu(harness)
    stolen = victim.keyboard_message
    assert stolen is not None
    data = stolen.buttons[0][0][1]
    own = attacker.keyboard_message
    assert own is not None and data is not None
    await attacker.press_data(own.message_id, data)
    await harness.settle()
    assert "expired" in attacker.alerts[-1]
    assert last_text(victim).startswith("Hello 🌿")  # untouched


async def test_old_button_after_moving_on_is_expired_not_acted_on(harness: Harness) -> None:
    user = await at_menu(harness)
    old = user.keyboard_message
    assert old is not None
    old_data = old.buttons[0][0][1]
    await user.press_index(0)  # the danger screen
    await harness.settle()
    await user.press_index(0)  # and on from there
    await harness.settle()
    moved_on = last_text(user)
    assert old_data is not None
    await user.press_data(old.message_id, old_data)
    await harness.settle()
    assert "expired" in user.alerts[-1]
    assert last_text(user).endswith(moved_on)  # shown again, not acted on


async def test_a_double_tap_is_taken_once_and_quietly(harness: Harness) -> None:
    user = await at_menu(harness)
    screen = user.keyboard_message
    assert screen is not None
    data = screen.buttons[0][0][1]
    assert data is not None
    await user.press_data(screen.message_id, data)
    await user.press_data(screen.message_id, data)
    await harness.settle()
    assert last_text(user).startswith("Right now")
    assert not any("expired" in a for a in user.alerts)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "x" * 4096,
        "<b>bold</b> [x](tg://user?id=1) &amp; <script>",
        "\u202e\u200f\x00\x07",
        "👩‍👩‍👧‍👦" * 200,
        "/start@emulated_bot extra args",
        "/unknown_command arg",
    ],
)
async def test_odd_text_gets_a_clear_answer(harness: Harness, text: str) -> None:
    user = await at_menu(harness)
    await user.send(text)
    await harness.settle()
    assert "🚪 Exit" in user.buttons
    shown = last_text(user)
    assert "<b>" not in shown or "bold" not in shown  # never interpreted, never echoed as markup
    assert "went wrong" not in shown


async def test_edited_messages_are_ignored_quietly(harness: Harness) -> None:
    user = await at_menu(harness)
    mine = await user.send("first words")
    await harness.settle()
    before = len(harness.emu.calls)
    await user.edit(mine.message_id, "changed words")
    await harness.settle()
    sends = [c for c in harness.emu.calls[before:] if c.method.lower().startswith("send")]
    assert sends == []


async def test_thirty_updates_in_ten_seconds_all_pass(harness: Harness) -> None:
    user = await at_menu(harness)
    for i in range(30):
        await user.send(f"quick {i}")
        harness.clock.advance(0.3)
    await harness.settle()
    assert not any("Just a moment" in t for t in bot_texts(user) + user.alerts)


@pytest.mark.both_modes
async def test_a_flood_gets_one_polite_answer_and_exit_still_works(harness: Harness) -> None:
    user = await at_menu(harness)
    other = await at_menu(harness)
    for i in range(80):
        await user.send(f"spam {i}")
    await harness.settle()
    assert sum("Just a moment" in t for t in bot_texts(user)) == 1
    # Other people are served as usual.
    await other.press_index(0)
    await harness.settle()
    assert "Right now" in last_text(other)
    # And the flooded chat can still leave at once.
    await user.command("/exit")
    await harness.settle()
    assert [m.text for m in user.visible] == ["Have a good day!"]


@pytest.mark.both_modes
async def test_the_bot_never_messages_first(harness: Harness) -> None:
    harness.user(first_name="Silent")
    await harness.settle()
    assert harness.emu.calls_to("sendMessage") == []


@pytest.mark.both_modes
async def test_a_chat_that_floods_without_pause_keeps_a_bounded_record(harness: Harness) -> None:
    from bot.middlewares import MAX_RECORDED

    user = await at_menu(harness)
    for i in range(MAX_RECORDED + 150):
        await user.send(f"x{i}")
    # Two thousand updates, delivered one at a time to her chat's webhook queue: more than the
    # default 5 s on a loaded two-core machine.
    await harness.emu.settle(timeout=60)
    session = harness.app.sessions.get(user.chat.id)
    assert session is not None and len(session.message_ids) <= MAX_RECORDED
    await user.command("/exit")
    await harness.settle()
    assert [m.text for m in user.visible] == ["Have a good day!"]
