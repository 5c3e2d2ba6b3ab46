"""Which msgids the project uses, from flow files and Python code, as Babel extracts them."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

ROOT = Path(__file__).resolve().parent.parent

# Same mapping as babel.cfg; the extractors are named by path so no installed entry point is
# needed. The caseworker's desk speaks through the same catalogs (its msgids start with "desk.").
DESK_SOURCES = "caseworker/desk/"
METHOD_MAP = [
    ("flows/content/*.yaml", "flows.extract:extract_flow_messages"),
    ("flows/lists/*.yaml", "flows.extract:extract_flow_messages"),
    ("flows/**.py", "python"),
    ("bot/**.py", "python"),
    ("caseworker/desk/**.py", "python"),
    ("caseworker/desk/templates/**.html", "jinja2.ext:babel_extract"),
]
KEYWORDS = {**DEFAULT_KEYWORDS, "Notice": None}


def desk_only(places: list[str]) -> bool:
    """Whether a msgid is used by the caseworker's desk alone (a web page, not a Telegram
    message: Telegram's limits and the notification rule do not apply to it)."""
    return all(p.startswith(DESK_SOURCES) for p in places)


def used_msgids(root: Path = ROOT) -> dict[str, list[str]]:
    """Every msgid in use, with the places (``file:line``) that use it."""
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(root), METHOD_MAP, keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True
    ):
        if isinstance(message, str) and message:
            found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found
