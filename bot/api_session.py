"""aiogram's aiohttp session, made cheaper per Bot API call without changing what is sent.

Two costs aiogram pays on every call, which a profile of the benchmark's saturated phase put at
about a fifth of the bot's CPU:

- It reads each answer as ``Response[<the method's result type>]``, a pydantic generic class that
  pydantic keeps only in a weak cache: once the garbage collector frees it, the next call builds
  the class and its validator again (~12 % of the bot's CPU on its own).
- It sends every call as a urlencoded form, each nested object (an inline keyboard) JSON-encoded
  into a string and then percent-encoded. The Bot API takes ``application/json`` bodies as well,
  so a call without files is sent as one JSON document.

Calls that upload files, and answers that are errors, take aiogram's own path unchanged.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, cast

from aiogram.client.default import Default
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import EditMessageText
from aiogram.methods.base import Response
from aiogram.types import TelegramObject
from aiohttp import ClientError, ClientTimeout

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods.base import TelegramMethod, TelegramType

_JSON = {"Content-Type": "application/json; charset=utf-8"}


class _NeedsForm(Exception):
    """A value JSON cannot carry the way aiogram's form would (a file to upload)."""


def _plain(bot: Bot) -> Callable[[object], object]:
    """json's hook for values it cannot write itself, converted as aiogram's form converts them."""

    def convert(value: object) -> object:
        if isinstance(value, Default):
            value = bot.default[value.name]
            if value is None:  # aiogram's form leaves such a field out; JSON would say null
                raise _NeedsForm
            return value
        if isinstance(value, TelegramObject):
            return value.model_dump(warnings=False, exclude_none=True)
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, datetime.datetime):
            return round(value.timestamp())
        if isinstance(value, datetime.timedelta):
            return round((datetime.datetime.now() + value).timestamp())  # as aiogram does
        raise _NeedsForm  # an InputFile, or anything aiogram's own path should judge

    return convert


class BotApiSession(AiohttpSession):
    """An :class:`AiohttpSession` that sends JSON and builds each response class once."""

    # Few and fixed: one per result type the bot's methods return.
    _response_types: ClassVar[dict[Any, type[Response[Any]]]] = {}

    def response_type(self, method: TelegramMethod[TelegramType]) -> type[Response[TelegramType]]:
        """``Response[...]`` for this method's result, built once and kept alive."""
        returning = method.__returning__
        found = self._response_types.get(returning)
        if found is None:
            found = self._response_types[returning] = Response[returning]  # type: ignore[valid-type]
        return found

    def json_body(
        self, bot: Bot, method: TelegramMethod[TelegramType], *, named: bool = False
    ) -> bytes | None:
        """The call as one JSON document, or None where aiogram's form must carry it (a file).

        The same fields as aiogram's form: defaults resolved, nested objects without their unset
        fields, top-level fields that are None or "" left out. ``named``: with a ``method`` field
        first, as a webhook response that asks Telegram to run the call.
        """
        body: dict[str, Any] = {"method": method.__api_method__} if named else {}
        # exclude_none: the unset fields of every nested object (a dozen per keyboard button).
        for key, value in method.model_dump(warnings=False, exclude_none=True).items():
            if isinstance(value, Default):
                value = bot.default[value.name]
            if value is not None and value != "":
                body[key] = value
        try:
            return json.dumps(body, ensure_ascii=False, default=_plain(bot)).encode()
        except _NeedsForm:
            return None

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> TelegramType:
        """Send ``method`` as JSON (or, with files, as aiogram's multipart form)."""
        body = self.json_body(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=body,
                headers=_JSON,
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as resp:
                raw_result = await resp.text()
        # The same errors, worded the same, as aiogram's own make_request.
        except TimeoutError as e:
            raise TelegramNetworkError(method=method, message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        response = self.check_response(
            bot=bot, method=method, status_code=resp.status, content=raw_result
        )
        return cast("TelegramType", response.result)

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        """aiogram's check, with ``Response[...]`` for this method's result built only once."""
        self.response_type(method)
        return super().check_response(bot, method, status_code, content)

    async def close(self) -> None:
        """Close; wait aiogram's grace period only where there are TLS connections to shut."""
        if self.api.base.startswith("https:"):
            await super().close()
        elif self._session is not None and not self._session.closed:
            # Plain HTTP (a local Bot API server, the sandbox's emulator): nothing to wait for.
            await self._session.close()


class EditScreen(EditMessageText):
    """``editMessageText`` for a screen edited in place, its answer not rebuilt as objects.

    Telegram answers an edit with the whole message again, keyboard and all, which aiogram would
    validate into a dozen pydantic objects (~75 us, on every press) that the bot never reads: it
    knows which message it edited. Errors are raised exactly as for ``EditMessageText``.
    """

    __returning__ = dict[str, Any] | bool

    @classmethod
    def screen(
        cls, *, chat_id: int, message_id: int, text: str, keyboard: Mapping[str, Any]
    ) -> EditScreen:
        """The edit of a screen, from values the bot made itself, not validated again.

        ``keyboard`` is the Bot API's JSON of an inline keyboard (bot.render.Keyboard): it goes
        out as it is, where aiogram would build a dozen models only to dump them again.
        """
        fields: dict[str, Any] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": text,
            "reply_markup": keyboard,
        }
        return cls.model_construct(**fields)
