"""Malformed flow files are refused with the file, the screen and the fault named."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.loader import FlowErrors, load_book
from tests.flows.test_engine import LANG

MAIN = "flow: main\nstart: menu\nscreens:\n  menu: {text: main.menu.text, nav: [exit]}\n"


def errors_for(tmp_path: Path, name: str, text: str) -> list[str]:
    (tmp_path / "main.yaml").write_text(MAIN)
    (tmp_path / "language.yaml").write_text(LANG)
    (tmp_path / f"{name}.yaml").write_text(text)
    with pytest.raises(FlowErrors) as info:
        load_book(tmp_path)
    return [str(e) for e in info.value.errors]


@pytest.mark.parametrize(
    ("body", "screen", "fault"),
    [
        ("a: {text: x.y, buttons: [{label: x.b}]}", "a", "needs 'go' or 'action'"),
        ("a: {text: x.y, buttons: [{label: x.b, go: nowhere}]}", "a", "unknown target 'x.nowhere'"),
        ("a: {text: 'Not a msgid'}", "a", "text"),
        ("a: {text: x.y, colour: red}", "a", "colour"),
        ("a: {text: x.y, question: {field: f, kind: single, next: a}}", "a", "needs options"),
        (
            "a: {text: x.y, question: {field: f, kind: text, done_label: x.d, next: a}}",
            "a",
            "max_length",
        ),
        (
            "a: {text: x.y, buttons: [{label: x.b, action: set_language, value: fr}]}",
            "a",
            "kk, ru or en",
        ),
        ("a: {text: x.y, buttons: [{label: x.b, action: submit}]}", "a", "needs 'go'"),
    ],
)
def test_fault_names_file_screen_and_fault(
    tmp_path: Path, body: str, screen: str, fault: str
) -> None:
    text = "flow: x\nstart: a\nscreens:\n  " + body + "\n"
    found = errors_for(tmp_path, "x", text)
    assert any(e.startswith(f"x.yaml: screen '{screen}'") and fault in e for e in found), found


def test_invalid_yaml_is_named(tmp_path: Path) -> None:
    found = errors_for(tmp_path, "x", "flow: x\nscreens: [unclosed\n")
    assert found and found[0].startswith("x.yaml: not valid YAML")


def test_flow_id_must_match_file_name(tmp_path: Path) -> None:
    found = errors_for(tmp_path, "x", "flow: y\nstart: a\nscreens:\n  a: {text: x.y}\n")
    assert "x.yaml: flow id 'y' must match the file name" in found


def test_missing_start_screen(tmp_path: Path) -> None:
    found = errors_for(tmp_path, "x", "flow: x\nstart: b\nscreens:\n  a: {text: x.y}\n")
    assert any("start screen 'b'" in e for e in found)


def test_all_faults_are_listed_at_once(tmp_path: Path) -> None:
    text = (
        "flow: x\nstart: a\nscreens:\n  a: {text: x.y, buttons: [{label: x.b, go: p}]}\n"
        "  b: {text: x.y, buttons: [{label: x.b, go: q}]}\n"
    )
    assert len(errors_for(tmp_path, "x", text)) == 2


def test_shipped_flows_load() -> None:
    book = load_book()
    assert "main.menu" in book.screens and "language.choose" in book.screens
