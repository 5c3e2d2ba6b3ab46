"""What one conversation, and all of them together, may make the bot hold in memory or store.

- **Files in one draft**: derived from the envelope's limit (storage/FORMAT.md: a padded payload
  of at most 64 MiB, in which a file counts 4/3 as base64), less room kept for her words and the
  files' names, so a draft the bot accepted can always be sealed.
- **Files in memory, for everyone**: drafts hold their files in memory until sent or wiped; a cap
  on their sum (``EVIDENCE_MEMORY_MB``), downloads under way included, keeps a crowd of large
  drafts from exhausting the host (and an out-of-memory kill from breaking the exit).
- **Reports**: a few an hour per account, and a daily allowance for everyone (bot/quota.py: the
  count outlives her exit, which forgets the session); the vault's byte budget (storage/vault.py)
  bounds what they take on disk.

Every refusal is a kind notice that says what fits or what she can do instead.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

from flows.loader import Book
from flows.schema import QuestionKind
from storage import Attachment
from storage.envelope import MAX_PADDED
from storage.report import base64_length

MIB = 1024 * 1024
# Room in the padded payload kept for everything but the files' base64: her answers and the
# files' names and types (each bound below), with a wide margin. Checked against the flows at start.
WORDS_RESERVE = 256 * 1024
# JSON writes a control character as \u00XX: six bytes for one character, the most any takes.
_WORST_BYTES_PER_CHAR = 6
# A file's name and type as kept in a report, in characters (longer ones are cut).
MAX_FILE_NAME = 128
MAX_FILE_TYPE = 128
_PER_FILE_JSON = 64  # the keys, quotes and commas around one attachment


def files_room() -> int:
    """Bytes of base64 all the files of one draft may take in the payload."""
    return MAX_PADDED - 4 - WORDS_RESERVE


def files_fit(sizes: Iterable[int]) -> bool:
    """Whether files of these sizes fit one report together (after base64 and its padding)."""
    return sum(base64_length(size) for size in sizes) <= files_room()


def room_left(sizes: Iterable[int]) -> int:
    """The largest one more file that still fits beside files of these sizes, in bytes."""
    free = files_room() - sum(base64_length(size) for size in sizes)
    return max(0, free // 4 * 3)


def total_files_bytes() -> int:
    """The most files one draft can carry, in bytes (what the evidence screen may show)."""
    return room_left(())


def words_bound(book: Book, flow: str, max_files: int) -> int:
    """The most bytes a report's JSON can take besides the files' base64, by the flows' limits:
    every text question at its longest, every choice chosen, every file's name and type."""
    total = 1024  # the fixed keys, language and day
    for screen in book.flows[flow].screens.values():
        question = screen.question
        if question is None:
            continue
        total += (len(question.field) + 8) * _WORST_BYTES_PER_CHAR
        if question.kind is QuestionKind.TEXT:
            total += (question.max_length or 0) * _WORST_BYTES_PER_CHAR
        elif question.kind is not QuestionKind.MEDIA:
            total += sum(len(o.value) + 3 for o in question.options) * _WORST_BYTES_PER_CHAR
            total += 64 * _WORST_BYTES_PER_CHAR  # options from a list (regions)
    per_file = (MAX_FILE_NAME + MAX_FILE_TYPE) * _WORST_BYTES_PER_CHAR + _PER_FILE_JSON
    return total + max_files * per_file


def check_words_fit(book: Book, flow: str, max_files: int) -> None:
    """Refuse to start with flows whose answers could crowd the files out of an envelope."""
    needed = words_bound(book, flow, max_files)
    if needed > WORDS_RESERVE:
        raise ValueError(
            f"the {flow} flow's answers may take {needed} bytes; WORDS_RESERVE is {WORDS_RESERVE}"
        )


class EvidenceMemory:
    """The file bytes every draft holds, and the downloads under way, against one cap.

    A file is counted for as long as it lives (a finalizer gives its bytes back when the last
    reference to it goes, whichever way: sent, discarded, wiped, evicted), so no path that
    forgets a draft can leave the count too high and refuse everyone's files for good.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.held = 0
        self.reserved = 0

    def reserve(self, size: int) -> bool:
        """Set ``size`` bytes aside for a download, if they fit under the cap."""
        if self.held + self.reserved + size > self.cap:
            return False
        self.reserved += size
        return True

    def unreserve(self, size: int) -> None:
        """Give back what :meth:`reserve` set aside (the download is over)."""
        self.reserved -= size

    def fits(self, size: int) -> bool:
        """Whether ``size`` more bytes could be held now."""
        return self.held + self.reserved + size <= self.cap

    def hold(self, attachment: Attachment) -> None:
        """Count ``attachment`` until it is gone."""
        size = len(attachment.data)
        self.held += size
        weakref.finalize(attachment, self._release, size)

    def _release(self, size: int) -> None:
        self.held -= size
