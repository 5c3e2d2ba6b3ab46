"""The progress bar draws on a terminal only."""

from __future__ import annotations

import io

from caseworker.progress import Progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_draws_on_a_terminal() -> None:
    stream = FakeTerminal()
    with Progress(3, stream, "decrypting ") as bar:
        for _ in range(3):
            bar.advance()
    assert "decrypting [" in stream.getvalue() and "3/3" in stream.getvalue()
    assert stream.getvalue().endswith("\n")


def test_silent_in_a_pipe() -> None:
    stream = io.StringIO()
    with Progress(3, stream) as bar:
        bar.advance(3)
    assert stream.getvalue() == ""
