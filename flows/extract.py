"""A Babel extractor for flow files, registered as the ``flows`` extraction method.

It yields every msgid a flow file names (texts, labels, titles) with its line, and a comment that
tells translators which screen it belongs to.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

import yaml

MSGID_FIELDS = frozenset({"text", "label", "title", "done_label", "skip_label", "limit_notice"})


def extract_flow_messages(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction entry point: ``(lineno, funcname, message, comments)`` per msgid."""
    root = yaml.compose(fileobj.read().decode("utf-8"))
    if root is not None:
        yield from _walk(root, screen=None)


def _walk(node: yaml.Node, screen: str | None) -> Iterator[tuple[int, str, str, list[str]]]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name in MSGID_FIELDS and isinstance(value, yaml.ScalarNode):
                comment = [f"screen: {screen}"] if screen else []
                yield value.start_mark.line + 1, "", value.value, comment
            elif name == "screens" and isinstance(value, yaml.MappingNode):
                for screen_key, screen_node in value.value:
                    yield from _walk(screen_node, screen_key.value)
            else:
                yield from _walk(value, screen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(item, screen)
