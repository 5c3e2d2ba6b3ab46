"""Shared fixtures for the vault tests: real keys, real crypto, fast (insecure) Argon2 only."""

from __future__ import annotations

import pytest

from storage.keys import PrivateKey, generate_keypair
from storage.report import Attachment, Report

MARKER = "MARKER-7f3a-survivor-text"


@pytest.fixture(scope="session")
def hybrid_key() -> PrivateKey:
    return generate_keypair("mlkem768x25519")


@pytest.fixture(scope="session")
def x25519_key() -> PrivateKey:
    return generate_keypair("x25519")


@pytest.fixture(scope="session")
def other_key() -> PrivateKey:
    return generate_keypair("mlkem768x25519")


def make_report(text: str = MARKER, *, day: str = "2025-03-14", photo: bytes = b"") -> Report:
    attachments = [Attachment(kind="photo", mime="image/jpeg", name="p.jpg", data=photo)]
    return Report(
        language="kk",
        answers={
            "forms": ["physical", "economic"],
            "region": "almaty_city",
            "text": text,
        },
        received_day=day,
        attachments=attachments if photo else [],
    )


@pytest.fixture
def report() -> Report:
    return make_report(photo=b"\x89PNG fake image bytes")
