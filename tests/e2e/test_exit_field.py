"""The quick exit in the conditions a real deployment meets (issue 10), in process.

Message ids of private chats are numbered per bot account (the emulator's default, as on
Telegram): while fifty other people chat, the ids in her chat jump, and a message whose answer
was lost can have any higher id. Telegram failing to delete for a while must not cut the wipe
short, and the goodbye only comes once everything is gone. Restarts are in
``tests/resilience/test_exit_restart.py`` (a real process, killed).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest

from bot.config import Settings
from telegram_emulator.client import Emulator, SimUser
from tests.e2e.conftest import Harness
from tests.e2e.test_quick_exit import GOODBYE, converse, exit_by

Factory = Callable[..., AbstractAsyncContextManager[Harness]]
NOTE = {
    "en": "Not everything here could be removed.",
    "ru": "Не всё здесь удалось удалить.",
    "kk": "Мұндағы хабарлардың бәрін өшіру мүмкін болмады.",
}
# Short windows keep the suite fast; the figures for real windows are in the benchmark.
FAST = Settings(wipe_note_seconds=30, shutdown_wipe_seconds=30)


@contextlib.asynccontextmanager
async def crowd(emu: Emulator, size: int, pause: float = 0.2) -> AsyncIterator[list[SimUser]]:
    """``size`` other people chatting with the bot (each a message every ``pause`` seconds) for
    as long as the block runs."""
    people = [emu.user(f"Other{i}", language_code="ru") for i in range(size)]
    stop = asyncio.Event()

    async def chat(person: SimUser) -> None:
        await person.command("/start")
        n = 0
        while not stop.is_set():
            n += 1
            await person.send(f"just chatting {n}")
            await asyncio.sleep(pause)

    tasks = [asyncio.create_task(chat(p)) for p in people]
    try:
        yield people
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def until(done: Callable[[], bool], seconds: float = 20.0) -> bool:
    """Whether ``done()`` came true within ``seconds`` (a generous safety bound, not a timing)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not done():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def wiped(user: SimUser, lang: str = "en") -> bool:
    """Her chat holds the goodbye line and nothing else."""
    return [m.text for m in user.visible] == [GOODBYE[lang]]


async def say(user: SimUser, text: str) -> None:
    """She writes, and the bot answers (however busy it is)."""
    since = user.bot_changes
    await user.send(text)
    await user.wait_bot(since, 20)


async def converse_busy(harness: Harness | Emulator, lang: str = "en") -> SimUser:
    """``converse`` on a busy bot: each step waits for the bot's answer, not for quiet."""
    emu = harness.emu if isinstance(harness, Harness) else harness
    user = emu.user("Aigerim", language_code=lang)
    await user.command("/start", wait=True)
    assert await until(lambda: user.keyboard_message is not None)
    await user.press_index(["kk", "ru", "en"].index(lang), wait=True)
    await say(user, "he hit me again last night")
    await user.press_index(0, wait=True)
    since = user.bot_changes
    await user.send_sticker()
    await user.wait_bot(since, 10)
    return user


def left_of_hers(user: SimUser) -> list[str]:
    """Everything still in her chat but the goodbye line."""
    return [m.text or m.kind for m in user.visible if m.text != GOODBYE["en"]]


@pytest.mark.parametrize("kind", ["button", "command", "word"])
async def test_fifty_others_chatting_leave_none_of_hers(make_harness: Factory, kind: str) -> None:
    async with make_harness(FAST, concurrent=True) as harness:
        async with crowd(harness.emu, 50) as others:
            user = await converse_busy(harness)
            await say(user, "and he took my phone")
            await exit_by(kind, user, "en")
            assert await until(lambda: wiped(user)), left_of_hers(user)
        await harness.settle()
        # Spans of ids are scoped to her chat: nobody else lost a word.
        assert all(any("just chatting" in (m.text or "") for m in p.visible) for p in others)


@pytest.mark.both_modes
@pytest.mark.parametrize("kind", ["button", "word"])
async def test_a_lost_answer_while_others_chat_is_found_and_deleted(
    make_harness: Factory, kind: str
) -> None:
    async with make_harness(FAST, concurrent=True) as harness:
        async with crowd(harness.emu, 50):
            user = await converse_busy(harness)
            # Her next screen is delivered, but the answer never reaches the bot.
            lost = harness.emu.faults.add(
                "sendMessage", drop=True, after=True, chat_id=user.chat.id
            )
            await say(user, "he reads my messages")
            assert await until(lambda: lost.hits == 1)
            await say(user, "I typed again meanwhile")  # her ids: above the lost one
            await exit_by(kind, user, "en")
            assert await until(lambda: wiped(user)), left_of_hers(user)


@pytest.mark.both_modes
@pytest.mark.parametrize(
    "fault",
    [
        {"status": 502},
        {"delay": 3.0},  # past the bot's request timeout: no answer at all
        {"status": 429, "retry_after": 1},
    ],
    ids=["502", "timeout", "429"],
)
async def test_the_goodbye_comes_only_once_deleting_works_again(
    make_harness: Factory, fault: dict[str, float]
) -> None:
    async with make_harness(FAST, request_timeout=2.0) as harness:
        user = await converse(harness)
        outage = 4.0  # the 30 s, shortened; the bound after recovery is the same
        harness.emu.faults.failing("deleteMessages", seconds=outage, **fault)  # type: ignore[arg-type]
        started = asyncio.get_running_loop().time()
        await exit_by("button", user, "en")
        await asyncio.sleep(outage / 2)
        # Nothing yet says "all clear".
        assert GOODBYE["en"] not in [m.text for m in user.visible]
        # Every message deleted within 10 s of recovery (and a margin for a slow machine).
        assert await until(lambda: wiped(user), outage / 2 + 10 + 3), left_of_hers(user)
        assert asyncio.get_running_loop().time() - started < outage + 10 + 3


@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
async def test_a_wipe_that_cannot_finish_says_so_in_her_language(
    make_harness: Factory, lang: str
) -> None:
    async with make_harness(Settings(wipe_note_seconds=1)) as harness:
        user = await converse(harness, lang)
        harness.emu.faults.failing("deleteMessages", seconds=3600, status=502)
        await exit_by("command", user, lang)
        assert await until(lambda: any(NOTE[lang] in (m.text or "") for m in user.visible))
        last = user.visible[-1].text or ""
        assert last.startswith(NOTE[lang]) and GOODBYE[lang] not in last
        # Telegram recovers: the note goes with the rest, the goodbye comes after.
        harness.emu.faults.clear()
        assert await until(lambda: wiped(user, lang)), left_of_hers(user)


async def test_she_blocked_deletion_for_good_and_is_told(harness: Harness) -> None:
    user = await converse(harness)
    harness.emu.faults.failing(
        "deleteMessages", seconds=3600, status=400, description="Bad Request: CHAT_ADMIN_REQUIRED"
    )
    await exit_by("button", user, "en")
    await harness.settle()
    assert (user.visible[-1].text or "").startswith(NOTE["en"])


@pytest.mark.both_modes
async def test_idle_and_shutdown_wipes_finish_after_an_outage(make_harness: Factory) -> None:
    async with make_harness(FAST) as harness:
        idle = await converse(harness)
        harness.clock.advance(16 * 60)
        harness.emu.faults.failing("deleteMessages", seconds=3.0, status=502)
        await harness.app.sweep()
        assert idle.visible != []  # not yet: Telegram refuses for now
        assert await until(
            lambda: idle.visible == []
        )  # the idle wipe leaves nothing, and says nothing
        staying = await converse(harness)
        harness.emu.faults.failing("deleteMessages", seconds=3.0, status=502)
    # The harness stopped the bot gracefully: the shutdown waited for the outage to end.
    assert staying.visible == []


async def test_three_hundred_exits_from_thirty_accounts_stay_within_the_budget(
    make_harness: Factory,
) -> None:
    rate = 20.0
    async with make_harness(Settings(wipe_calls_per_second=rate), concurrent=True) as harness:
        accounts = [harness.user(first_name=f"Spam{i}") for i in range(30)]
        before = len(harness.emu.calls_to("deleteMessages"))
        started = asyncio.get_running_loop().time()
        await asyncio.gather(*(a.send("/exit") for a in accounts for _ in range(10)))
        # A normal user beside them is answered at once, not after their wipes.
        normal = harness.user(first_name="Normal", language_code="en")
        await normal.command("/start")
        assert await until(lambda: normal.keyboard_message is not None, 5)
        assert "English" in normal.buttons[2]
        assert await until(lambda: all(a.visible == [] for a in accounts), 60)
        took = asyncio.get_running_loop().time() - started
        calls = len(harness.emu.calls_to("deleteMessages")) - before
        # Within the budget (a burst, then the rate); repeated exits of a chat merge while queued.
        assert calls <= rate + rate * took + 1, (calls, took)
        assert calls < 150


async def test_a_forged_anchor_cannot_widen_the_wipe(make_harness: Factory) -> None:
    async with make_harness(FAST, concurrent=True) as harness:
        async with crowd(harness.emu, 10) as others:
            assert await until(lambda: all(p.visible for p in others))  # she is not the first
            user = await converse_busy(harness)
        await harness.settle()
        message = user.keyboard_message
        assert message is not None
        before = len(harness.emu.calls_to("deleteMessages"))
        # Not the data of any button on that message: "delete everything from id 1".
        await user.press_data(message.message_id, "x:1")
        assert await until(lambda: wiped(user)), left_of_hers(user)
        # Nothing below her conversation's first message was asked for (the others' came first).
        asked = [
            i
            for c in harness.emu.calls_to("deleteMessages")[before:]
            for i in c.params["message_ids"]
        ]
        assert min(asked) >= min(user.chat.messages) > 1
