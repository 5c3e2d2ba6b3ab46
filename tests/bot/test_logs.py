"""Log records cannot carry who a user is or what she wrote."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.logs import OUR_LOGGERS, configure_logging, install_scrubbing, scrub


def test_scrub_removes_ids_handles_and_tokens() -> None:
    line = "chat 700000123 user @aigerim_kz token 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw ok"
    cleaned = scrub(line)
    assert "700000123" not in cleaned and "aigerim_kz" not in cleaned and "AAHdq" not in cleaned
    assert cleaned.endswith("ok")


def test_records_are_scrubbed_where_they_are_created(caplog: pytest.LogCaptureFixture) -> None:
    install_scrubbing()
    log = logging.getLogger("test.scrub")
    with caplog.at_level(logging.INFO):
        log.info("user %s wrote", 700000777)
        typed = "he hit me, my address is " + "Abay 12"  # as if it came from her message
        try:
            raise ValueError(typed)
        except ValueError:
            log.exception("failed")
    text = caplog.text
    assert "700000777" not in text
    assert "Abay" not in text and "he hit me" not in text
    assert "ValueError" in text and "message withheld" in text


def test_a_malformed_log_call_does_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    install_scrubbing()
    with caplog.at_level(logging.INFO):
        logging.getLogger("test.scrub").info("%s %s", "only one")
    assert caplog.records


def test_an_exception_passed_as_an_argument_logs_only_its_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Guards the aiogram 'Failed to fetch updates - %s: %s' line, whose exception quotes the
    whole update JSON (name, username, her text) when the update cannot be parsed."""
    install_scrubbing()
    update = "{'first_name': 'Aigerim', 'username': 'aig_n', 'text': 'he hit me again'}"
    error = ValueError(f"Content: {update}")
    with caplog.at_level(logging.INFO):
        logging.getLogger("aiogram.dispatcher").error(
            "Failed to fetch updates - %s: %s", type(error).__name__, error
        )
    assert "Aigerim" not in caplog.text and "he hit me" not in caplog.text
    assert "Failed to fetch updates - ValueError: ValueError" in caplog.text


@pytest.fixture
def configured() -> Iterator[None]:
    """configure_logging as the bot runs it; the root logger's state put back afterwards."""
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in (*OUR_LOGGERS, "noisy.lib")}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(root_level)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def test_at_debug_only_our_loggers_speak_below_warning(
    configured: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """aiosqlite at DEBUG logs every call with its arguments (a report's INSERT with its id and
    envelope): third-party loggers stay at WARNING whatever LOG_LEVEL says."""
    configure_logging("DEBUG")
    for name in ("aiosqlite", "aiohttp.client", "asyncio", "aiogram.event", "aiogram.dispatcher"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
    assert logging.getLogger("bot.reports").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("storage.vault").isEnabledFor(logging.DEBUG)
    # A library that sets its own logger's level is still held back at the handler.
    noisy = logging.getLogger("noisy.lib")
    noisy.setLevel(logging.DEBUG)
    noisy.debug("executing INSERT secret-envelope")
    noisy.warning("a warning passes")
    logging.getLogger("aiosqlite").debug("executing INSERT another-envelope")
    logging.getLogger("bot.reports").debug("our own debug line")
    err = capsys.readouterr().err
    assert "envelope" not in err
    assert "WARNING noisy.lib: a warning passes" in err
    assert "DEBUG bot.reports: our own debug line" in err


def test_the_chosen_level_holds_for_everyone_above_warning(
    configured: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("ERROR")
    logging.getLogger("aiohttp.client").warning("third-party warning")
    logging.getLogger("bot.app").warning("our warning")
    logging.getLogger("bot.app").error("our error")
    err = capsys.readouterr().err
    assert "warning" not in err and "ERROR bot.app: our error" in err
