"""The Babel extractor finds every msgid a flow file names, with its line; it is registered."""

from __future__ import annotations

import io
from importlib.metadata import entry_points

from flows.extract import extract_flow_messages

FLOW = b"""flow: x
start: a
screens:
  a:
    text: x.a.text
    buttons:
      - {label: x.a.go, go: b}
    question:
      field: f
      kind: single
      title: x.a.title
      options:
        - {value: v, label: x.a.v}
      skip_label: x.a.skip
      next: b
  b:
    text: x.b.text
"""


def test_every_msgid_with_its_line_and_screen() -> None:
    found = list(extract_flow_messages(io.BytesIO(FLOW), {}, (), {}))
    assert [(line, msgid) for line, _, msgid, _ in found] == [
        (5, "x.a.text"),
        (7, "x.a.go"),
        (11, "x.a.title"),
        (13, "x.a.v"),
        (14, "x.a.skip"),
        (17, "x.b.text"),
    ]
    assert found[0][3] == ["screen: a"] and found[-1][3] == ["screen: b"]


def test_registered_as_a_babel_extractor() -> None:
    (entry,) = [e for e in entry_points(group="babel.extractors") if e.name == "flows"]
    assert entry.load() is extract_flow_messages
