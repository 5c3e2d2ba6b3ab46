"""Fixtures for the console tests: a key file locked with insecure (fast) Argon2 parameters and a
vault filled through the bot-side API."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from caseworker.cli import main
from storage.keys import (
    Passphrase,
    PrivateKey,
    generate_keypair,
    insecure_argon2_params,
    write_private_key_file,
)
from storage.report import Attachment, Report, ReportId
from storage.vault import Vault

PASSPHRASE = "correct horse battery staple"
SURVIVOR_TEXT = "He took my passport and my phone. I am staying with my sister now."


@dataclass
class Run:
    code: int
    out: str
    err: str


def run(*argv: str) -> Run:
    """Call the console in-process, capturing its two streams."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return Run(code=code, out=out.getvalue(), err=err.getvalue())


@dataclass
class Setup:
    folder: Path
    db: Path
    key_file: Path
    pass_file: Path
    key: PrivateKey
    ids: list[ReportId]

    def key_args(self) -> list[str]:
        return [
            "--db",
            str(self.db),
            "--key",
            str(self.key_file),
            "--passphrase-file",
            str(self.pass_file),
        ]


def sample_reports() -> list[Report]:
    return [
        Report(
            language="ru",
            answers={
                "forms": ["physical", "economic"],
                "region": "almaty_city",
                "text": SURVIVOR_TEXT,
            },
            received_day="2025-01-15",
            attachments=[
                Attachment(
                    kind="photo",
                    mime="image/jpeg",
                    name="../../evil.jpg",
                    data=b"\xff\xd8 jpeg bytes",
                )
            ],
        ),
        Report(
            language="kk",
            answers={"forms": ["psychological"], "region": "astana"},
            received_day="2025-02-03",
        ),
        Report(
            language="en",
            answers={"forms": ["physical"], "text": '=HYPERLINK("x")'},
            received_day="2025-02-20",
        ),
    ]


async def fill(db: Path, key: PrivateKey, reports: list[Report]) -> list[ReportId]:
    async with await Vault.open(db, recipients=[key.public]) as vault:
        return [await vault.store(r) for r in reports]


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    key = generate_keypair("mlkem768x25519")
    key_file = tmp_path / "me.key"
    write_private_key_file(key_file, key, Passphrase(PASSPHRASE), params=insecure_argon2_params())
    pass_file = tmp_path / "pass.txt"
    pass_file.write_text(PASSPHRASE + "\n")
    db = tmp_path / "vault.db"
    ids = asyncio.run(fill(db, key, sample_reports()))
    return Setup(folder=tmp_path, db=db, key_file=key_file, pass_file=pass_file, key=key, ids=ids)
