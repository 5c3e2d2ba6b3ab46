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
