"""Errors of the console itself (vault errors come from `storage.errors`)."""

from __future__ import annotations

from enum import IntEnum


class ConsoleError(Exception):
    """A console failure with a one-line message for the caseworker (bad input, I/O refused)."""


class ExitCode(IntEnum):
    """Process exit codes, so scripts can tell failures apart."""

    OK = 0
    FAILURE = 1
    USAGE = 2  # argparse's own code for a bad command line
    PARTIAL = 3  # some reports opened, some could not be (wrong key or damaged)
    INTERRUPTED = 130
