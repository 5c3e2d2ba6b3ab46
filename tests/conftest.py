"""Shared by every test package: the bot's mode (polling or webhook) for end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import modes


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_modes: an end-to-end safety test, run polling and with a webhook"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("both_modes") is not None:
        metafunc.parametrize("bot_mode", modes.MODES, indirect=True)


@pytest.fixture(autouse=True)
def bot_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    """The mode the harness starts the bot in: polling unless the test runs in both."""
    mode = getattr(request, "param", modes.default())
    previous = modes.use(mode)
    try:
        yield mode
    finally:
        modes.use(previous)
