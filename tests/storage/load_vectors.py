"""The one loader for checked-in test vectors (tests/storage/vectors/*.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).with_name("vectors")


def load_vectors(name: str) -> dict[str, Any]:
    """The parsed vector file `name` (e.g. "envelope_v1.json")."""
    document: dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return document


def cases(name: str) -> list[dict[str, Any]]:
    """The cases of vector file `name`, each with `name` and `expect`."""
    found: list[dict[str, Any]] = load_vectors(name)["cases"]
    return found
