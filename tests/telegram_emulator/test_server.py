"""The HTTP surface: URLs, tokens, body formats, response shapes."""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramUnauthorizedError

from telegram_emulator import Emulator
from tests.telegram_emulator.conftest import TOKEN


async def test_get_me_is_a_real_bot_user(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == 123456 and me.username == "test_bot"
    assert me.can_join_groups is True and me.supports_inline_queries is False


async def test_wrong_token_is_401(emu: Emulator) -> None:
    other = Bot("999:WRONG", session=emu.session())
    with pytest.raises(TelegramUnauthorizedError):
        await other.get_me()
    await other.session.close()


async def test_unknown_method_is_404_and_names_are_case_insensitive(emu: Emulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emu.base_url}/bot{TOKEN}/sendPhoto", json={}) as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with http.get(f"{emu.base_url}/bot{TOKEN}/GETME") as resp:
            body = await resp.json()
            assert resp.status == 200 and body["ok"] is True and body["result"]["is_bot"] is True
    assert [c.method for c in emu.calls] == ["getMe"]


async def test_json_urlencoded_and_multipart_bodies_mean_the_same(emu: Emulator) -> None:
    user = emu.user("A")
    await user.send("hi")
    url = f"{emu.base_url}/bot{TOKEN}/sendMessage"
    markup = '{"inline_keyboard": [[{"text": "x", "callback_data": "y"}]]}'
    form = aiohttp.FormData({"chat_id": str(user.id), "text": "form", "reply_markup": markup})
    multipart = aiohttp.FormData(quote_fields=False)
    multipart.add_field("chat_id", str(user.id))
    multipart.add_field("text", "multi")
    multipart.add_field("protect_content", "true")
    multipart.add_field("blob", b"\x00\x01", filename="blob.bin")
    async with aiohttp.ClientSession() as http:
        for kwargs in (
            {"json": {"chat_id": user.id, "text": "json"}},
            {"data": form},
            {"data": multipart},
        ):
            async with http.post(url, **kwargs) as resp:
                assert resp.status == 200, await resp.text()
    assert [m.text for m in user.visible[1:]] == ["json", "form", "multi"]
    assert user.visible[2].buttons == [[("x", "y")]]
    assert user.visible[3].protect_content is True
    assert [c.params["chat_id"] for c in emu.calls] == [user.id] * 3


async def test_errors_have_telegram_shape(emu: Emulator) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{emu.base_url}/bot{TOKEN}/sendMessage"
        async with http.post(url, json={"chat_id": 5, "text": "x"}) as resp:
            assert resp.status == 400
            assert await resp.json() == {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: chat not found",
            }


async def test_file_download(bot: Bot, emu: Emulator) -> None:
    user = emu.user("A")
    sent = await user.send_document(b"%PDF-1.7 data", "report.pdf", "application/pdf")
    file = await bot.get_file(sent.payload["document"]["file_id"])
    assert file.file_path is not None
    data = await bot.download_file(file.file_path)
    assert data is not None and data.read() == b"%PDF-1.7 data"
