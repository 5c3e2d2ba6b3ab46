"""Helpers for the console tests: a vault filled through the bot-side API and an in-process
runner. (Not `conftest`: that module name clashes across test folders.)"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from caseworker.cli import main
from storage.keys import (
    PrivateKey,
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
