"""Telegram's HTML parse mode, as far as this project uses it.

:func:`parse_html` turns a message written for ``parse_mode="HTML"`` into the text a user sees and
the entities Telegram would attach; :func:`visible_text` returns only the text. Both raise
:class:`MarkupError` with Telegram's own wording for input Telegram would refuse, so the content
checker catches a broken translation before Telegram does, and the Bot API emulator refuses what
Telegram refuses.

One deliberate difference: Telegram shows an unknown named entity such as ``&nbsp;`` literally; here
it is an error, because in our content it is always a mistake (only ``&lt; &gt; &amp; &quot;`` and
numeric references are decoded). A bare ``&`` that does not look like an entity stays literal.

Standard library only: the flows package must not depend on the bot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Entity", "MarkupError", "Parsed", "parse_html", "utf16_len", "visible_text"]

_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# What counts as "meant to be an entity": & + name or number + ;. Anything else is a literal &.
_ENTITY = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{0,31});")
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTR_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_SPACE = " \t\r\n"

# Tag name -> entity type. span and a are handled separately because they need attributes.
_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_SUPPORTED = {*_SIMPLE, "span", "a", "tg-emoji"}


class MarkupError(ValueError):
    """Text that Telegram would refuse with "can't parse entities"."""


@dataclass(frozen=True)
class Entity:
    """One message entity; offset and length count UTF-16 code units, as in the Bot API."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None

    def to_api(self) -> dict[str, object]:
        """The entity as a Bot API ``MessageEntity`` object."""
        out: dict[str, object] = {"type": self.type, "offset": self.offset, "length": self.length}
        for key in ("url", "language", "custom_emoji_id"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class Parsed:
    """The visible text and its entities."""

    text: str
    entities: tuple[Entity, ...] = field(default=())


@dataclass
class _Open:
    name: str
    type: str | None  # None: the tag makes no entity of its own (e.g. code inside pre)
    start: int  # UTF-16 offset in the output
    attrs: dict[str, str]


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (how Telegram measures entity offsets)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _fail(message: str) -> MarkupError:
    return MarkupError(f"can't parse entities: {message}")


def _byte_offset(html: str, index: int) -> int:
    return len(html[:index].encode("utf-8"))


def _decode_entities(raw: str, html: str, base: int) -> str:
    """Decode character references in a text run (or attribute value) starting at ``base``."""
    if "&" not in raw:
        return raw
    out: list[str] = []
    pos = 0
    for match in _ENTITY.finditer(raw):
        out.append(raw[pos : match.start()])
        name = match.group(1)
        if name.startswith("#"):
            code = int(name[2:], 16) if name[1:2] in ("x", "X") else int(name[1:])
            if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                where = _byte_offset(html, base + match.start())
                raise _fail(f'Invalid character reference "&{name};" at byte offset {where}')
            out.append(chr(code))
        elif name in _NAMED:
            out.append(_NAMED[name])
        else:
            where = _byte_offset(html, base + match.start())
            raise _fail(f'Unsupported HTML entity "&{name};" at byte offset {where}')
        pos = match.end()
    out.append(raw[pos:])
    return "".join(out)


def _parse_attrs(html: str, pos: int, tag: str, tag_at: int) -> tuple[dict[str, str], int]:
    """Read attributes up to and including ``>``; return them and the index after ``>``."""
    attrs: dict[str, str] = {}
    end = len(html)
    while True:
        while pos < end and html[pos] in _SPACE:
            pos += 1
        if pos >= end:
            raise _fail(f"Unclosed start tag at byte offset {_byte_offset(html, tag_at)}")
        if html[pos] == ">":
            return attrs, pos + 1
        name_match = _ATTR_NAME.match(html, pos)
        if name_match is None:
            where = _byte_offset(html, pos)
            raise _fail(f'Empty attribute name in the tag "{tag}" at byte offset {where}')
        name = name_match.group(0).lower()
        pos = name_match.end()
        while pos < end and html[pos] in _SPACE:
            pos += 1
        if pos >= end or html[pos] != "=":
            attrs[name] = ""  # a bare attribute, e.g. <blockquote expandable>
            continue
        pos += 1
        while pos < end and html[pos] in _SPACE:
            pos += 1
        if pos >= end:
            raise _fail(f"Unclosed start tag at byte offset {_byte_offset(html, tag_at)}")
        quote = html[pos]
        if quote in "\"'":
            close = html.find(quote, pos + 1)
            if close < 0:
                where = _byte_offset(html, pos)
                raise _fail(f"Unclosed end of attribute value at byte offset {where}")
            attrs[name] = _decode_entities(html[pos + 1 : close], html, pos + 1)
            pos = close + 1
        else:
            start = pos
            while pos < end and html[pos] not in _SPACE and html[pos] != ">":
                pos += 1
            attrs[name] = _decode_entities(html[start:pos], html, start)


def _open_tag(name: str, attrs: dict[str, str], stack: list[_Open], at: int, where: int) -> _Open:
    """Decide which entity a supported start tag makes."""
    if name == "span":
        if attrs.get("class") != "tg-spoiler":
            raise _fail(f'Tag "span" must have class "tg-spoiler" at byte offset {where}')
        return _Open(name, "spoiler", at, attrs)
    if name == "a":
        return _Open(name, "text_link" if attrs.get("href") else None, at, attrs)
    if name == "tg-emoji":
        if not attrs.get("emoji-id"):
            raise _fail(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {where}')
        return _Open(name, "custom_emoji", at, attrs)
    if name == "blockquote" and "expandable" in attrs:
        return _Open(name, "expandable_blockquote", at, attrs)
    if name == "code" and stack and stack[-1].name == "pre":
        # <pre><code class="language-x"> is one pre entity with a language, not two entities.
        language = attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1].attrs["language"] = language.removeprefix("language-")
        return _Open(name, None, at, attrs)
    return _Open(name, _SIMPLE[name], at, attrs)


def _close_tag(tag: _Open, offset: int) -> Entity | None:
    if tag.type is None or offset == tag.start:
        return None  # Telegram drops empty entities
    length = offset - tag.start
    if tag.type == "text_link":
        return Entity("text_link", tag.start, length, url=tag.attrs["href"])
    if tag.type == "custom_emoji":
        return Entity("custom_emoji", tag.start, length, custom_emoji_id=tag.attrs["emoji-id"])
    if tag.type == "pre":
        return Entity("pre", tag.start, length, language=tag.attrs.get("language") or None)
    return Entity(tag.type, tag.start, length)


def parse_html(html: str) -> Parsed:
    """Parse Telegram HTML into visible text and entities, or raise :class:`MarkupError`."""
    out: list[str] = []
    offset = 0  # UTF-16 length of the output so far
    stack: list[_Open] = []
    entities: list[Entity] = []
    pos = 0
    end = len(html)
    while pos < end:
        lt = html.find("<", pos)
        run_end = end if lt < 0 else lt
        if run_end > pos:
            piece = _decode_entities(html[pos:run_end], html, pos)
            out.append(piece)
            offset += utf16_len(piece)
        if lt < 0:
            break
        where = _byte_offset(html, lt)
        if html.startswith("</", lt):
            name_match = _TAG_NAME.match(html, lt + 2)
            name = name_match.group(0).lower() if name_match else ""
            close = lt + 2 + len(name)
            while close < end and html[close] in _SPACE:
                close += 1
            if close >= end or html[close] != ">":
                raise _fail(f"Unclosed end tag at byte offset {where}")
            if not stack:
                raise _fail(f"Unexpected end tag at byte offset {where}")
            if stack[-1].name != name:
                raise _fail(
                    f'Unmatched end tag at byte offset {where}, expected "</{stack[-1].name}>", '
                    f'found "</{name}>"'
                )
            entity = _close_tag(stack.pop(), offset)
            if entity is not None:
                entities.append(entity)
            pos = close + 1
            continue
        name_match = _TAG_NAME.match(html, lt + 1)
        name = name_match.group(0).lower() if name_match else ""
        if name not in _SUPPORTED:
            raise _fail(f'Unsupported start tag "{name}" at byte offset {where}')
        attrs, pos = _parse_attrs(html, lt + 1 + len(name), name, lt)
        stack.append(_open_tag(name, attrs, stack, offset, where))
    if stack:
        raise _fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e.offset, -e.length))
    return Parsed("".join(out), tuple(entities))


def visible_text(html: str) -> str:
    """The text Telegram shows for ``html`` sent with ``parse_mode="HTML"``.

    Raises :class:`MarkupError` (a ``ValueError``) with Telegram-like wording when Telegram would
    refuse the message with "can't parse entities".
    """
    return parse_html(html).text
