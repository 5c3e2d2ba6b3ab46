"""One staff API for the module: a vault with three reports, a team of two signing caseworkers
and one who has not upgraded her key; an outsider with a valid key the team does not list."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from storage.keys import PrivateKey, generate_keypair
from storage.report import Report
from storage.vault import utc_today
from tests.staff_api.live import LiveApi


@pytest.fixture(scope="module")
def team() -> list[PrivateKey]:
    return [
        generate_keypair("mlkem768x25519"),
        generate_keypair("x25519"),
        generate_keypair("x25519", signing=False),
    ]


@pytest.fixture(scope="module")
def outsider() -> PrivateKey:
    return generate_keypair("x25519")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, team: list[PrivateKey]) -> Iterator[LiveApi]:
    db = tmp_path_factory.mktemp("staff") / "vault.db"
    today = utc_today()
    reports = [
        Report(
            language="kk",
            answers={"story": f"SECRET-STORY-{n}"},
            received_day=(today - timedelta(days=ago)).isoformat(),
        )
        for n, ago in enumerate([9, 5, 2])
    ]
    with LiveApi(db, team, reports) as live:
        yield live
