"""Which msgids the project uses, from flow files and Python code, as Babel extracts them."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

ROOT = Path(__file__).resolve().parent.parent

# Same mapping as babel.cfg; the extractor is named by path so no installed entry point is needed.
METHOD_MAP = [
    ("flows/content/*.yaml", "flows.extract:extract_flow_messages"),
    ("flows/lists/*.yaml", "flows.extract:extract_flow_messages"),
    ("flows/**.py", "python"),
    ("bot/**.py", "python"),
]
KEYWORDS = {**DEFAULT_KEYWORDS, "Notice": None}


def used_msgids(root: Path = ROOT) -> dict[str, list[str]]:
    """Every msgid in use, with the places (``file:line``) that use it."""
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(root), METHOD_MAP, keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True
    ):
        if isinstance(message, str) and message:
            found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found
