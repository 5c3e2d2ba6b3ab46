"""flows.markup: Telegram's HTML subset, its visible text and its refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.markup import Entity, MarkupError, parse_html, utf16_len, visible_text


def test_plain_text_is_unchanged() -> None:
    assert visible_text("Hello, world") == "Hello, world"


def test_tags_are_stripped_and_entities_decoded() -> None:
    html = '<b>Bold</b> <i>it</i> &lt;tag&gt; &amp; &quot;q&quot; &#65;&#x42; <a href="https://x.kz">link</a>'
    assert visible_text(html) == 'Bold it <tag> & "q" AB link'


def test_every_supported_tag() -> None:
    html = (
        "<b>a</b><strong>b</strong><i>c</i><em>d</em><u>e</u><ins>f</ins><s>g</s><strike>h</strike>"
        '<del>i</del><span class="tg-spoiler">j</span><tg-spoiler>k</tg-spoiler>'
        '<a href="tg://user?id=1">l</a><code>m</code>'
        '<pre><code class="language-python">n</code></pre>'
        "<blockquote>o</blockquote><blockquote expandable>p</blockquote>"
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    )
    parsed = parse_html(html)
    assert parsed.text == "abcdefghijklmnop👍"
    types = [e.type for e in parsed.entities]
    assert types == [
        "bold", "bold", "italic", "italic", "underline", "underline", "strikethrough",
        "strikethrough", "strikethrough", "spoiler", "spoiler", "text_link", "code", "pre",
        "blockquote", "expandable_blockquote", "custom_emoji",
    ]  # fmt: skip
    pre = next(e for e in parsed.entities if e.type == "pre")
    assert pre.language == "python"


def test_entity_offsets_count_utf16_units() -> None:
    parsed = parse_html("😀 <b>Сәлем</b>")
    assert parsed.entities == (Entity("bold", 3, 5),)
    assert utf16_len("😀") == 2


def test_tag_names_are_case_insensitive() -> None:
    assert visible_text("<B>x</B>") == "x"


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("<x>a</x>", 'Unsupported start tag "x" at byte offset 0'),
        ("ә <div>a</div>", 'Unsupported start tag "div" at byte offset 3'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>a</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("a</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<b>a</b", "Unclosed end tag at byte offset 4"),
        ("&nbsp;", 'Unsupported HTML entity "&nbsp;" at byte offset 0'),
        ("&#0;", 'Invalid character reference "&#0;" at byte offset 0'),
        ('<span class="x">a</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<tg-emoji>a</tg-emoji>", 'Tag "tg-emoji" must have attribute "emoji-id"'),
        ('<a href="x>y</a>', "Unclosed end of attribute value"),
    ],
)
def test_invalid_markup_is_refused_with_telegram_wording(html: str, message: str) -> None:
    with pytest.raises(MarkupError, match=r"^can't parse entities: ") as info:
        visible_text(html)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bare_ampersand_stays_literal() -> None:
    assert visible_text("Tom & Jerry &") == "Tom & Jerry &"


def test_attribute_values_are_decoded_and_may_be_unquoted() -> None:
    parsed = parse_html("<a href=https://a.kz/?x=1&amp;y=2>l</a>")
    assert parsed.entities[0].url == "https://a.kz/?x=1&y=2"


def test_empty_link_href_makes_no_entity() -> None:
    assert parse_html("<a>x</a>").entities == ()


@given(st.text(alphabet=st.characters(blacklist_characters="<&")))
def test_text_without_markup_characters_is_its_own_visible_text(text: str) -> None:
    assert visible_text(text) == text


@given(st.text())
def test_escaped_text_round_trips(text: str) -> None:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert visible_text(f"<b>{escaped}</b>") == text
