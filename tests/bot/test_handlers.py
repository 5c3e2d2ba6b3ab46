"""The bot's routers: nothing aiogram would run in a worker thread."""

from __future__ import annotations

from bot.handlers import routers


def test_every_handler_and_filter_runs_in_the_event_loop() -> None:
    # aiogram runs a plain function, or a magic F filter, through asyncio.to_thread on every
    # update it is tried on: a thread hand-off per filter per message, on the hot path.
    seen = 0
    for router in routers():
        for observer in router.observers.values():
            for handler in observer.handlers:
                assert handler.awaitable, handler.callback
                for check in handler.filters or ():
                    assert check.awaitable, (router.name, handler.callback, check.callback)
                    seen += 1
    assert seen >= 7  # the filters are really there to be checked
