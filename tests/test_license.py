"""The licence the project declares is the one it ships, in full."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# SHA-256 of SPDX's licenseText for AGPL-3.0-or-later (spdx-license-list 6.12.0,
# licenses/AGPL-3.0-or-later.json), plus the final newline a text file ends with.
SPDX_AGPL_3_OR_LATER = "d8a6cc31abc16b6748c7a21f21611f5a1ec33f67d22ca23d7da1c19b95496bee"


def test_license_is_the_full_agpl_text_verbatim_from_spdx() -> None:
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == SPDX_AGPL_3_OR_LATER
    assert text.startswith(b"GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3, 19 November 2007")
    assert b"END OF TERMS AND CONDITIONS" in text


def test_pyproject_declares_the_same_licence() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "AGPL-3.0-or-later"
