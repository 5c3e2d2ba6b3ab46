"""Getting a passphrase from the caseworker: from a file, or typed without echo."""

from __future__ import annotations

import getpass
from pathlib import Path

from caseworker.errors import ConsoleError
from storage.keys import MAX_PASSPHRASE_CHARS, Passphrase

# A new key's passphrase is the only thing between a stolen laptop and every report.
MIN_NEW_PASSPHRASE_CHARS = 12


def from_file(path: Path) -> Passphrase:
    """The first line of `path`, without its line ending (spaces inside are kept)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConsoleError(f"passphrase file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConsoleError(f"cannot read passphrase file {path}: {exc}") from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise ConsoleError(f"passphrase file {path} is empty")
    return Passphrase(lines[0])


def ask(prompt: str = "Passphrase: ") -> Passphrase:
    """Ask once, without echo."""
    return Passphrase(getpass.getpass(prompt))


def get_existing(path: Path | None) -> Passphrase:
    """The passphrase of an existing key: from `path` if given, else typed."""
    return from_file(path) if path is not None else ask("Passphrase for the key file: ")


def get_new(path: Path | None) -> Passphrase:
    """A passphrase for a new key: from `path`, or typed twice. Refuses short ones."""
    if path is not None:
        passphrase = from_file(path)
    else:
        passphrase = ask("New passphrase: ")
        if ask("Repeat the passphrase: ") != passphrase:
            raise ConsoleError("the two passphrases differ; nothing was written")
    if len(passphrase) < MIN_NEW_PASSPHRASE_CHARS:
        raise ConsoleError(f"use a passphrase of at least {MIN_NEW_PASSPHRASE_CHARS} characters")
    if len(passphrase) > MAX_PASSPHRASE_CHARS:
        raise ConsoleError(f"use a passphrase of at most {MAX_PASSPHRASE_CHARS} characters")
    return passphrase
