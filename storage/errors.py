"""The errors the report vault raises.

One base class, so a caller (the bot, the caseworker console) can catch every vault failure in one
place; small subclasses named for the failure, so tests and messages can tell them apart. Verifiers
raise: a function that checks a tag, a passphrase or a format never returns a bool to be ignored.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error raised by `storage`. Its message is one human-readable line."""


class UnknownFormat(StorageError):
    """The bytes are not a report envelope or key we know: wrong magic or an unknown version."""


class Tampered(StorageError):
    """An envelope failed authentication or is malformed: changed, truncated or extended."""


class NotForThisKey(StorageError):
    """The envelope holds no recipient stanza that this private key can open."""


class BadPayload(StorageError):
    """An authenticated payload does not follow the report schema (a bug in the sealing side)."""


class InvalidReport(StorageError):
    """A report handed to `seal` breaks an invariant (e.g. a received day with a time in it)."""


class BadPublicKey(StorageError):
    """A recipient public key (text or file) cannot be parsed."""


class MixedKeyKinds(BadPublicKey):
    """Recipient keys of different kinds (hybrid and X25519) without the operator's opt-in."""


class BadKeyFile(StorageError):
    """A private key file is unreadable, malformed, or its contents do not match its public key."""


class WrongPassphrase(StorageError):
    """The passphrase does not unlock this private key file."""


class VaultError(StorageError):
    """The report database is missing, not a vault, or from a newer version of this software."""


class VaultFull(StorageError):
    """No room for this report: ``reason`` is ``"budget"`` (the vault's byte budget is spent),
    ``"words_only"`` (only the room kept for small reports is left, and this one is large) or
    ``"disk"`` (the disk itself is nearly full)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class ReportNotFound(StorageError):
    """No stored report has this id (or the id prefix matches none or several)."""
