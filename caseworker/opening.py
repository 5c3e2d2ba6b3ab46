"""Opening many stored reports with one key, counting (not hiding) the ones that fail."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TextIO

from caseworker.progress import Progress
from storage.envelope import open_envelope
from storage.errors import NotForThisKey, StorageError
from storage.keys import PrivateKey
from storage.report import Report
from storage.vault import StoredReport, VaultReader


@dataclass(frozen=True, slots=True)
class Opened:
    """A stored row and its decrypted report."""

    row: StoredReport
    report: Report


@dataclass(slots=True)
class Failures:
    """Reports that could not be opened, by reason. Never silently dropped."""

    total: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, error: StorageError) -> None:
        """Count one failure."""
        reason = "not sealed to this key" if isinstance(error, NotForThisKey) else "damaged"
        self.reasons[reason] += 1

    @property
    def count(self) -> int:
        """How many reports failed."""
        return sum(self.reasons.values())

    def summary(self) -> str:
        """One line for stderr."""
        parts = ", ".join(f"{n} {reason}" for reason, n in sorted(self.reasons.items()))
        if self.count == self.total:
            return f"none of the {self.total} reports could be opened with this key ({parts})"
        return f"{self.count} of {self.total} reports could not be opened ({parts})"


def open_all(
    reader: VaultReader, key: PrivateKey, failures: Failures, *, progress: TextIO, label: str
) -> Iterator[Opened]:
    """Yield every report this key opens; count the rest in `failures`."""
    failures.total = reader.count()
    with Progress(failures.total, progress, label) as bar:
        for row in reader.iter_all():
            try:
                yield Opened(row=row, report=open_envelope(row.envelope, row.id, key))
            except StorageError as error:
                failures.add(error)
            bar.advance()
