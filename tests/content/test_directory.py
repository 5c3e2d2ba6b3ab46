"""The operator's directory: strict validation with precise errors, escaped output, and the
national numbers for every region whatever the file holds."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from flows.__main__ import main as flows_main
from flows.check import MESSAGE_CHARS, NOTICE_ROOM, check
from flows.directory import (
    EXAMPLE_FILE,
    PHONE_RE,
    Directory,
    DirectoryError,
    directory_problems,
    directory_text,
    load_directory,
)
from flows.loader import load_lists
from flows.markup import visible_text
from tests.content.helpers import LANGS, translator

REGIONS = [o.value for o in load_lists(EXAMPLE_FILE.parent / "lists")["regions"]]
NATIONAL_NUMBERS = ("111", "112", "102", "103", "150")


@pytest.mark.parametrize(
    "number",
    [
        "+7 701 234 56 78",
        "+7 727 250 00 00",
        "+7 7172 00 00 00",
        "+7 72138 2 12 34",
        "+7 800 080 12 34",
        "111",
        "112",
        "150",
        "1414",
    ],
)
def test_phone_pattern_accepts(number: str) -> None:
    assert PHONE_RE.match(number)


@pytest.mark.parametrize(
    "number",
    [
        "+77012345678",
        "8 701 234 56 78",
        "+7 (701) 234-56-78",
        "+7 701 2345678",
        "+7 495 123 45 67",
        "+7 7172 000 000",
        "11",
        "12345",
        "0111",
        "+7 701 234 56 78 ",
        "tel:111",
        "+7 701 234 56 7",
    ],
)
def test_phone_pattern_refuses(number: str) -> None:
    assert not PHONE_RE.match(number)


def test_example_is_marked_as_an_example_and_valid() -> None:
    first_line = EXAMPLE_FILE.read_text(encoding="utf-8").splitlines()[0]
    assert "EXAMPLE" in first_line and "replace" in first_line
    directory = load_directory(EXAMPLE_FILE)
    assert directory.example is True
    assert directory_problems(EXAMPLE_FILE) == []
    shown = visible_text(directory_text(directory, "astana", "en", translator()))
    assert "example only, not a real service" in shown


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("region", [*REGIONS, None])
def test_every_region_resolves_to_at_least_the_national_numbers(
    region: str | None, lang: str
) -> None:
    for directory in (Directory(), load_directory(EXAMPLE_FILE)):
        shown = visible_text(directory_text(directory, region, lang, translator()))
        for number in NATIONAL_NUMBERS:
            assert number in shown, f"{region} [{lang}] lacks {number}"
        if region is not None:
            assert translator().text(lang, f"region.{region}") in shown


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "my-directory.yaml"
    path.write_text(body, encoding="utf-8")
    return path


GOOD = """
entries:
  - region: karaganda
    name: {ru: "Центр <Б&Б>", kk: "Орталық", en: "Centre"}
    phones: ["+7 7212 00 00 00", "111"]
    hours: "24/7"
    languages: [kk, ru]
    address: "ул. Примерная, 1"
    last_checked: 2026-03-01
  - region: national
    name: Our line
    phone: "+7 800 000 00 00"
    hours: {ru: "Пн–Пт 9–18", en: "Mon–Fri 9–18"}
    languages: [ru]
    last_checked: 2026-02-01
"""


def test_a_good_file_renders_escaped_with_its_checked_day(tmp_path: Path) -> None:
    directory = load_directory(write(tmp_path, GOOD))
    assert not directory.example
    html = directory_text(directory, "karaganda", "ru", translator())
    assert "Центр &lt;Б&amp;Б&gt;" in html
    shown = visible_text(html)
    assert "Центр <Б&Б>" in shown and "01.03.2026" in shown and "+7 7212 00 00 00" in shown
    assert shown.index("Центр") < shown.index("111 —")  # local first, national after
    assert "Our line" in shown  # operator's national entries appear for every region
    # A missing language falls back: the English page shows the English name and hours.
    en = visible_text(directory_text(directory, "karaganda", "en", translator()))
    assert "Centre" in en and "Mon–Fri 9–18" in en and "example" not in en


def test_errors_name_the_file_the_entry_and_the_fault(tmp_path: Path) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    path = write(
        tmp_path,
        f"""
entries:
  - region: karaganda
    name: Bad phone
    phone: "8 721 200 00 00"
    hours: "24/7"
    languages: [ru]
    last_checked: 2026-03-01
  - region: atlantis
    name: Nowhere
    phone: "111"
    hours: "24/7"
    languages: [ru]
    last_checked: 2026-03-01
  - region: astana
    name: Future
    phone: "111"
    hours: "24/7"
    languages: [de]
    last_checked: {tomorrow}
  - region: astana
    name: No hours
    phone: "111"
    languages: [ru]
    last_checked: 2026-03-01
""",
    )
    with pytest.raises(DirectoryError) as caught:
        load_directory(path)
    problems = caught.value.problems
    text = "\n".join(problems)
    assert all(p.startswith("my-directory.yaml: ") for p in problems)
    assert "entry 1 (Bad phone): phones.0" in text
    assert "entry 2 (Nowhere): region 'atlantis'" in text
    assert "entry 3 (Future): languages.0" in text
    assert "entry 3 (Future): last_checked" in text and "in the future" in text
    assert "entry 4 (No hours): hours" in text
    assert directory_problems(path) == [f"directory: {p}" for p in problems]


@pytest.mark.parametrize(
    "body, fault",
    [
        ("entries: [", "not valid YAML"),
        ("- just a list", "expected a mapping"),
        ("entries: []\nextra: 1", "unknown key"),
    ],
)
def test_malformed_files(tmp_path: Path, body: str, fault: str) -> None:
    with pytest.raises(DirectoryError, match=fault):
        load_directory(write(tmp_path, body))


def test_missing_file_is_named(tmp_path: Path) -> None:
    assert directory_problems(tmp_path / "nope.yaml")[0].startswith("directory: nope.yaml: ")


def test_the_checker_validates_the_configured_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "entries:\n  - region: astana\n")
    monkeypatch.setenv("DIRECTORY_FILE", str(path))
    assert any(p.startswith("directory: my-directory.yaml: entry 1") for p in check())


def test_flows_check_reads_the_directory_the_bot_reads_from_dot_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The operator sets DIRECTORY_FILE in .env, as for the bot: ``python -m flows check``
    checks that file, not the shipped example."""
    path = write(tmp_path, "entries:\n  - region: astana\n")
    (tmp_path / ".env").write_text(f"DIRECTORY_FILE={path.name}\n")
    monkeypatch.delenv("DIRECTORY_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert flows_main(["check"]) == 1
    assert "directory: my-directory.yaml: entry 1" in capsys.readouterr().out


def test_too_many_entries_for_one_region(tmp_path: Path) -> None:
    one = (
        "  - {region: astana, name: X, phone: '111', hours: '24/7', languages: [ru], "
        "last_checked: 2026-01-01}\n"
    )
    with pytest.raises(DirectoryError, match=r"astana' shows 7 entries.*keep it to 6"):
        load_directory(write(tmp_path, "entries:\n" + one * 7))
    national = one.replace("region: astana", "region: national")
    with pytest.raises(DirectoryError, match="astana' shows 7 entries with the national"):
        load_directory(write(tmp_path, "entries:\n" + one * 4 + national * 3))
    load_directory(write(tmp_path, "entries:\n" + one * 3 + national * 3))


@pytest.mark.parametrize("lang", LANGS)
def test_the_fullest_region_still_fits_in_one_message(tmp_path: Path, lang: str) -> None:
    entry = (
        f"  - region: astana\n    name: '{'Н' * 120}'\n"
        "    phones: ['+7 7172 00 00 00', '+7 7172 00 00 01', '+7 701 000 00 00', '1414']\n"
        f"    hours: '{'Ч' * 80}'\n    languages: [kk, ru, en]\n"
        f"    address: '{'А' * 160}'\n    last_checked: 2026-01-01\n"
    )
    national = entry.replace("region: astana", "region: national")
    directory = load_directory(write(tmp_path, "entries:\n" + entry * 4 + national * 2))
    screen = translator().text(
        lang,
        "help.directory.text",
        {"directory": directory_text(directory, "astana", lang, translator())},
    )
    assert len(visible_text(screen)) + NOTICE_ROOM <= MESSAGE_CHARS
