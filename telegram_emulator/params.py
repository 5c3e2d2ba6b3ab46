"""Request parameters, and the content rules Telegram enforces on them.

aiogram's AiohttpSession sends form fields as strings with complex values JSON-encoded; other
clients send a JSON body. Both are normalised here once, so methods and the call log see the same
Python values whichever way a request came.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flows.markup import MarkupError, Parsed, parse_html, utf16_len
from telegram_emulator.errors import bad_request

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_BUTTONS = 100

_INT_FIELDS = frozenset(
    {"chat_id", "message_id", "offset", "limit", "timeout", "cache_time", "duration", "user_id"}
)
_BOOL_FIELDS = frozenset(
    {"protect_content", "disable_notification", "show_alert", "drop_pending_updates"}
)
_BUTTON_ACTIONS = frozenset(
    {
        "callback_data",
        "url",
        "login_url",
        "web_app",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


def normalise(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Decode form strings into the values a JSON body would have carried."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key in _INT_FIELDS and value.lstrip("-").isdigit():
                value = int(value)
            elif key in _BOOL_FIELDS and value in ("true", "false", "True", "False"):
                value = value.lower() == "true"
            elif value[:1] in ("[", "{"):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass  # left as a string; the method reports it as unparsable
        out[key] = value
    return out


class Params:
    """Typed access to one request's parameters, failing the way Telegram fails."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def opt_int(self, name: str) -> int | None:
        """An optional integer parameter."""
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request(f"invalid {name} specified")
        return value

    def req_int(self, name: str) -> int:
        """A required integer parameter."""
        value = self.opt_int(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value

    def opt_str(self, name: str) -> str | None:
        """An optional string parameter."""
        value = self.values.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise bad_request(f"invalid {name} specified")
        return value

    def flag(self, name: str) -> bool:
        """A flag; absent means false."""
        value = self.values.get(name)
        return value is True or value == "true"

    def json_value(self, name: str) -> Any:
        """A JSON-valued parameter (already decoded by :func:`normalise` when it could be)."""
        value = self.values.get(name)
        if isinstance(value, str):
            raise bad_request(f"can't parse {name} JSON object")
        return value


def parse_text(text: str | None, parse_mode: str | None) -> Parsed:
    """Apply parse_mode, trim as Telegram does, and enforce 1..4096 characters."""
    if text is None or text == "":
        raise bad_request("message text is empty")
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            parsed = parse_html(text)
        except MarkupError as exc:
            raise bad_request(str(exc)) from None
    elif mode == "":
        parsed = Parsed(text)
    elif mode in ("markdown", "markdownv2"):
        raise bad_request("the emulator supports parse_mode HTML only")
    else:
        raise bad_request("unsupported parse_mode")
    parsed = _trim(parsed)
    if not parsed.text:
        raise bad_request("message text is empty")
    if len(parsed.text) > MAX_TEXT:
        raise bad_request("message is too long")
    return parsed


def _trim(parsed: Parsed) -> Parsed:
    """Telegram strips surrounding whitespace; entities shift and clip with the text."""
    text = parsed.text.strip()
    if text == parsed.text:
        return parsed
    lead = utf16_len(parsed.text[: len(parsed.text) - len(parsed.text.lstrip())])
    size = utf16_len(text)
    entities = []
    for entity in parsed.entities:
        start = max(entity.offset - lead, 0)
        end = min(entity.offset + entity.length - lead, size)
        if end > start:
            entities.append(
                type(entity)(
                    entity.type,
                    start,
                    end - start,
                    entity.url,
                    entity.language,
                    entity.custom_emoji_id,
                )
            )
    return Parsed(text, tuple(entities))


def parse_markup(value: Any, *, inline_only: bool) -> dict[str, Any] | None:
    """Validate reply_markup like Telegram: button data, texts and counts."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in value:
        if inline_only:
            raise bad_request("inline keyboard expected")
        if not {"keyboard", "remove_keyboard", "force_reply"} & value.keys():
            raise bad_request("can't parse reply keyboard markup JSON object")
        return value
    rows = value["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" must be an Array of Arrays')
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise bad_request("BUTTONS_TOO_MUCH")
    for row in rows:
        for button in row:
            _check_button(button)
    return value


def _check_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = _BUTTON_ACTIONS & button.keys()
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://")):
            raise bad_request("BUTTON_URL_INVALID")
