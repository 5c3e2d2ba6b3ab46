"""A failed download's error names the status, never the file URL (which holds the bot token)."""

from __future__ import annotations

import traceback

import pytest
from aiohttp import web

from bot.downloads import DownloadFailed, Downloads

TOKEN = "123456789:AAH-fake-token-for-the-test-only-xyz"


async def test_a_refused_download_raises_an_error_without_the_url() -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/file/{tail:.*}", refuse)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    downloads = Downloads()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/file/bot{TOKEN}/photos/a.jpg"
        with pytest.raises(DownloadFailed) as info:
            await downloads.fetch(url, 1000)
    finally:
        await downloads.close()
        await runner.cleanup()
    assert str(info.value) == "HTTP 404"
    # Not in the message, and not in a chained error a traceback would print either.
    printed = "".join(traceback.format_exception(info.value))
    assert TOKEN not in printed and "fake-token" not in printed
