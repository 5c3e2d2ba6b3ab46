"""The bot's Bot API session sends what aiogram's form would, as one JSON document."""

from __future__ import annotations

import datetime
import gc
import json
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    AnswerInlineQuery,
    BanChatMember,
    DeleteMessages,
    EditMessageText,
    GetUpdates,
    SendMessage,
    SendPhoto,
)
from aiogram.methods.base import TelegramMethod
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
)

from bot.api_session import BotApiSession, EditScreen

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [InlineKeyboardButton(text="🆘 <b>Мне опасно</b>", callback_data="t:AbC-_9:0")],
        [
            InlineKeyboardButton(text="Шығу", callback_data="x"),
            InlineKeyboardButton(text="Site", url="https://example.org/?a=1&b=%20"),
        ],
    ]
)

METHODS: list[TelegramMethod[Any]] = [
    SendMessage(chat_id=42, text="Здравствуйте & <i>добро</i> пожаловать", reply_markup=KEYBOARD),
    SendMessage(chat_id=42, text="plain", disable_notification=False),
    EditMessageText(chat_id=42, message_id=7, text="Сәлем 🌿\n\nline two", reply_markup=KEYBOARD),
    AnswerCallbackQuery(callback_query_id="123", text="Expired", show_alert=True),
    AnswerCallbackQuery(callback_query_id="123"),
    DeleteMessages(chat_id=42, message_ids=[1, 2, 3]),
    GetUpdates(offset=0, timeout=10, allowed_updates=["message", "callback_query"]),
    # Not used by the bot, but they exercise the conversions: a default inside a nested object,
    # a date.
    AnswerInlineQuery(
        inline_query_id="1",
        results=[
            InlineQueryResultArticle(
                id="a", title="t", input_message_content=InputTextMessageContent(message_text="x")
            )
        ],
    ),
    BanChatMember(
        chat_id=-100, user_id=5, until_date=datetime.datetime(2030, 1, 2, tzinfo=datetime.UTC)
    ),
]
INLINE = METHODS[-2]


def _bot() -> Bot:
    # The defaults the bot runs with (bot.app.build_app): resolved into every call.
    return Bot(
        "1:TEST",
        default=DefaultBotProperties(
            parse_mode="HTML", protect_content=True, link_preview_is_disabled=True
        ),
    )


def _form_fields(bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any]:
    """What aiogram's own session sends: each field a string, nested values JSON-encoded."""
    form = AiohttpSession().build_form_data(bot, method)
    return {options["name"]: value for options, _headers, value in form._fields}


@pytest.mark.parametrize("method", METHODS, ids=lambda m: type(m).__name__)
def test_json_body_carries_exactly_the_form_fields(method: TelegramMethod[Any]) -> None:
    bot = _bot()
    body = BotApiSession().json_body(bot, method)
    assert body is not None
    sent = json.loads(body)
    form = _form_fields(bot, method)
    assert sent.keys() == form.keys()
    for key, value in sent.items():
        # A string field is sent as is in the form; anything else as JSON text.
        assert (form[key] if isinstance(value, str) else json.loads(form[key])) == value, key


def test_defaults_are_resolved_into_the_body() -> None:
    sent = json.loads(BotApiSession().json_body(_bot(), METHODS[0]) or "{}")
    assert sent["parse_mode"] == "HTML"
    assert sent["protect_content"] is True
    assert sent["reply_markup"]["inline_keyboard"][0][0] == {
        "text": "🆘 <b>Мне опасно</b>",
        "callback_data": "t:AbC-_9:0",
    }


def test_a_nested_default_that_is_unset_keeps_aiogram_form() -> None:
    # aiogram's form drops a nested field whose default is unset; JSON would have to say null.
    assert BotApiSession().json_body(Bot("1:TEST"), INLINE) is None
    assert BotApiSession().json_body(_bot(), INLINE) is not None


def test_a_call_with_a_file_keeps_aiogram_form() -> None:
    photo = SendPhoto(chat_id=42, photo=BufferedInputFile(b"\x89PNG", filename="a.png"))
    assert BotApiSession().json_body(_bot(), photo) is None


def test_each_response_class_is_built_once() -> None:
    session = BotApiSession()
    first = session.response_type(METHODS[2])
    gc.collect()
    # pydantic's cache alone is weak: without the session holding it, the class could be gone
    # and built again here (a new class and validator on every call, as profiled).
    assert session.response_type(METHODS[2]) is first
    assert BotApiSession().response_type(METHODS[2]) is first


def test_a_screen_edit_sends_what_edit_message_text_sends() -> None:
    fields: dict[str, Any] = {
        "chat_id": 42,
        "message_id": 7,
        "text": "Сәлем",
        "reply_markup": KEYBOARD,
    }
    session, bot = BotApiSession(), _bot()
    screen = EditScreen(**fields)
    assert screen.__api_method__ == "editMessageText"
    assert session.json_body(bot, screen) == session.json_body(bot, EditMessageText(**fields))


def test_a_screen_edit_answer_is_checked_but_not_rebuilt() -> None:
    session, bot = BotApiSession(), _bot()
    screen = EditScreen(chat_id=42, message_id=7, text="x")
    edited = {"message_id": 7, "date": 1, "chat": {"id": 42, "type": "private"}, "text": "x"}
    answer = session.check_response(bot, screen, 200, json.dumps({"ok": True, "result": edited}))
    result: object = answer.result  # the answer as Telegram sent it, not built into a Message
    assert result == edited
    with pytest.raises(TelegramBadRequest, match="not modified"):
        session.check_response(
            bot,
            screen,
            400,
            json.dumps(
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message is not modified",
                }
            ),
        )
