"""Log records cannot carry who a user is or what she wrote."""

from __future__ import annotations

import logging

import pytest

from bot.logs import install_scrubbing, scrub


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
