"""Shared fixtures for the vault tests: real keys, real crypto, fast (insecure) Argon2 only."""

from __future__ import annotations

import pytest
from storage_helpers import make_report

from storage.keys import PrivateKey, generate_keypair
from storage.report import Report


@pytest.fixture(scope="session")
def hybrid_key() -> PrivateKey:
    return generate_keypair("mlkem768x25519")


@pytest.fixture(scope="session")
def x25519_key() -> PrivateKey:
    return generate_keypair("x25519")


@pytest.fixture(scope="session")
def other_key() -> PrivateKey:
    return generate_keypair("mlkem768x25519")


@pytest.fixture
def report() -> Report:
    return make_report(photo=b"\x89PNG fake image bytes")
