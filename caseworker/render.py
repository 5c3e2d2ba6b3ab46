"""Readable terminal rendering of a report, and safe names for its attachments.

Everything shown comes from an anonymous sender, so it is treated as hostile: control characters
(terminal escape sequences, bidi overrides) are made visible instead of being sent to the terminal,
and attachment names cannot climb out of the chosen folder.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from pathlib import Path

from storage.report import Attachment, Report
from storage.vault import StoredReport

_BLOCK_THRESHOLD = 60  # longer answers (the free text) get their own indented block


def clean(text: str, *, keep_newlines: bool = False) -> str:
    """Replace control and format characters with visible escapes (`\\x1b`, `\\u202e`)."""
    out = []
    for ch in text:
        if keep_newlines and ch in "\n\t":
            out.append(ch)
        elif unicodedata.category(ch).startswith("C"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def human_size(size: int | None) -> str:
    """`1 KiB`, `1.5 MiB`; `damaged` for None."""
    if size is None:
        return "damaged"
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def safe_filename(index: int, attachment: Attachment) -> str:
    """`NN-name` with any folder part, control character and leading dot removed."""
    name = re.split(r"[\\/]", attachment.name)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = name.strip().lstrip(".")[:100] or attachment.kind
    return f"{index:02d}-{name}"


def metadata_note(attachment: Attachment) -> str:
    """Whether the bot removed the file's identifying metadata before sealing it."""
    if attachment.cleaned:
        return "metadata removed by the bot (location, device, times); pixels as sent"
    return "kept as sent: may still hold location, device, author or times"


def render_report(row: StoredReport, report: Report, written: dict[int, Path] | None = None) -> str:
    """A report as text for the terminal."""
    lines = [
        f"Report {row.id}",
        f"  received {report.received_day}   expires {row.expires_day}   "
        f"language {clean(report.language)}",
    ]
    blocks: list[tuple[str, str]] = []
    for name in sorted(report.answers):
        value = report.answers[name]
        if isinstance(value, list):
            lines.append(f"  {clean(name)}: {', '.join(clean(v) for v in value)}")
        elif len(value) > _BLOCK_THRESHOLD or "\n" in value:
            blocks.append((name, value))
        else:
            lines.append(f"  {clean(name)}: {clean(value)}")
    for name, value in blocks:
        lines.append(f"  {clean(name)}:")
        for paragraph in clean(value, keep_newlines=True).splitlines() or [""]:
            wrapped = textwrap.wrap(paragraph, width=76) or [""]
            lines.extend(f"    {part}" for part in wrapped)
    if report.attachments:
        lines.append(f"  attachments: {len(report.attachments)}")
        for index, attachment in enumerate(report.attachments, start=1):
            where = f"  -> {written[index]}" if written and index in written else ""
            lines.append(
                f"    {safe_filename(index, attachment)}  {clean(attachment.kind)}  "
                f"{clean(attachment.mime)}  {human_size(len(attachment.data))}{where}"
            )
            lines.append(f"      {metadata_note(attachment)}")
    return "\n".join(lines)
