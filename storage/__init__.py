"""The report vault: sealing reports to caseworker keys (HPKE envelopes), the database, retention;
and what the staff API and the desk share: case events (`storage.events`), signed requests
(`storage.signing`) and the staff API's view of the vault (`storage.staff_store`).

Imports only the standard library, `cryptography`, `aiosqlite` and (for signed requests)
`http-message-signatures`; never the bot or Telegram.
"""

from __future__ import annotations

from storage.envelope import open_envelope, seal
from storage.errors import (
    BadKeyFile,
    BadPayload,
    BadPublicKey,
    InvalidReport,
    NotForThisKey,
    ReportNotFound,
    StorageError,
    Tampered,
    UnknownFormat,
    VaultError,
    VaultFull,
    WrongPassphrase,
)
from storage.keys import PrivateKey, PublicKey, generate_keypair, load_recipients, parse_public_key
from storage.report import Attachment, Report, ReportId
from storage.vault import DEFAULT_RETENTION_DAYS, Vault, VaultReader, purge_file

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "Attachment",
    "BadKeyFile",
    "BadPayload",
    "BadPublicKey",
    "InvalidReport",
    "NotForThisKey",
    "PrivateKey",
    "PublicKey",
    "Report",
    "ReportId",
    "ReportNotFound",
    "StorageError",
    "Tampered",
    "UnknownFormat",
    "Vault",
    "VaultError",
    "VaultFull",
    "VaultReader",
    "WrongPassphrase",
    "generate_keypair",
    "load_recipients",
    "open_envelope",
    "parse_public_key",
    "purge_file",
    "seal",
]
