"""Translations: the gettext catalogs in ``locales/`` and the one way to look a text up.

Msgids are keys (``main.menu.text``), not English sentences, so no language is the source of the
others: each catalog is written natively. ``.po`` files live in git; their ``.mo`` files are built
from them whenever they are missing or older, so a fresh clone needs no manual step.
"""

from __future__ import annotations

import gettext
import io
import os
import string
import tempfile
from collections.abc import Mapping
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from flows.schema import LANGUAGES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "ru"


def N_(msgid: str) -> str:
    """Mark ``msgid`` for extraction where it is used later (not translated here)."""
    return msgid


def po_path(language: str, directory: Path = LOCALES_DIR) -> Path:
    return directory / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(language: str, directory: Path = LOCALES_DIR) -> Catalog:
    """The parsed ``.po`` catalog of ``language``."""
    with po_path(language, directory).open("rb") as f:
        return read_po(f, locale=language, domain=DOMAIN)


def compile_catalog(language: str, directory: Path = LOCALES_DIR) -> bytes:
    """Build the ``.mo`` of ``language``; write it beside the ``.po`` when that is stale.

    Writing is best effort: on a read-only install the compiled bytes are used from memory.
    """
    po = po_path(language, directory)
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        return mo.read_bytes()
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(language, directory), use_fuzzy=False)
    data = buffer.getvalue()
    try:
        fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, mo)
    except OSError:
        pass
    return data


class Translator:
    """Looks up msgids per language and fills ``{placeholders}``."""

    def __init__(self, catalogs: Mapping[str, gettext.NullTranslations]) -> None:
        self._catalogs = dict(catalogs)

    @classmethod
    def load(cls, directory: Path = LOCALES_DIR) -> Translator:
        """Compile (if needed) and load the catalogs of every supported language."""
        catalogs = {
            lang: gettext.GNUTranslations(io.BytesIO(compile_catalog(lang, directory)))
            for lang in LANGUAGES
        }
        return cls(catalogs)

    def has(self, language: str, msgid: str) -> bool:
        catalog = self._catalogs.get(language)
        return catalog is not None and catalog.gettext(msgid) != msgid

    def text(
        self, language: str | None, msgid: str, params: Mapping[str, object] | None = None
    ) -> str:
        """The translation of ``msgid`` in ``language`` with ``params`` filled in.

        Unknown languages fall back to the default language; a missing msgid shows the msgid itself
        (the content checker keeps that from shipping).
        """
        catalog = (
            self._catalogs.get(language or DEFAULT_LANGUAGE) or self._catalogs[DEFAULT_LANGUAGE]
        )
        template = catalog.gettext(msgid)
        if not params:
            return template
        return template.format_map(_Params(params))


class _Params(dict[str, object]):
    # A placeholder the caller did not supply stays visible rather than raising mid-conversation.
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


MALFORMED = "<malformed braces>"


def placeholders(template: str) -> frozenset[str]:
    """The ``{names}`` used in ``template``."""
    try:
        return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)
    except ValueError:
        return frozenset({MALFORMED})
