"""The operator's directory of local services, and the text the help flow shows for a region.

Regional crisis-centre numbers change often, so they are never written into the flows: the
organisation that runs the bot supplies its own verified list as a YAML file (the setting
``DIRECTORY_FILE``; the repository ships ``flows/directory.example.yaml``, marked as an example).
Whatever the file holds, every region also gets the national numbers, which live in the catalogs.

Standard library, pydantic and yaml only: the bot calls :func:`directory_text`, the content checker
calls :func:`directory_problems`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Protocol, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flows.catalog import N_
from flows.envfile import setting
from flows.loader import LISTS_DIRNAME, load_lists
from flows.schema import LANGUAGES

EXAMPLE_FILE = Path(__file__).resolve().parent / "directory.example.yaml"
REGIONS_FILE = Path(__file__).resolve().parent / LISTS_DIRNAME / "regions.yaml"
NATIONAL = "national"

# Full numbers: +7, then the ten digits of a Kazakh number grouped as Telegram users dial them:
# a 3-digit code (mobile 7xx, Almaty 727, toll-free 800), a 4-digit city code (Astana 7172) or a
# 5-digit district code. Short national codes (111, 112, 150, 1414) are 3 or 4 digits.
PHONE_RE = re.compile(
    r"^(?:\+7 (?:[78]\d{2} \d{3} \d{2} \d{2}|7\d{3} \d{2} \d{2} \d{2}|7\d{4} \d \d{2} \d{2})"
    r"|[1-9]\d{2,3})$"
)
# Entries one region's screen may show (its own plus the national ones): keeps it well inside
# Telegram's 4096 characters, and short enough to read.
MAX_ENTRIES_PER_REGION = 6

_TEXTS = {
    "none": N_("help.directory.none"),
    "example": N_("help.directory.example"),
    "checked": N_("help.directory.checked"),
    "languages": N_("help.directory.languages"),
    "national": N_("help.directory.national"),
    "national_more": N_("help.directory.national_more"),
}


class Translates(Protocol):
    """What :func:`directory_text` needs of :class:`flows.catalog.Translator`."""

    def text(
        self, language: str | None, msgid: str, params: Mapping[str, object] | None = None
    ) -> str: ...


Language = Annotated[str, Field(pattern=r"^(kk|ru|en)$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localised(_Model):
    """A text per language; a missing language falls back to ru, then kk, then en."""

    kk: str | None = None
    ru: str | None = None
    en: str | None = None

    @model_validator(mode="after")
    def _some(self) -> Self:
        if not any((self.kk, self.ru, self.en)):
            raise ValueError("give the text in at least one of kk, ru, en")
        return self

    def get(self, language: str) -> str:
        for lang in (language, "ru", "kk", "en"):
            value = getattr(self, lang, None)
            if value:
                return str(value)
        return ""


def _localised(value: object) -> object:
    return {"kk": value, "ru": value, "en": value} if isinstance(value, str) else value


class Entry(_Model):
    """One service in one region (or ``national``)."""

    region: str
    name: Localised
    phones: tuple[Annotated[str, Field(pattern=PHONE_RE.pattern)], ...] = Field(
        min_length=1, max_length=4
    )
    hours: Localised
    languages: tuple[Language, ...] = Field(min_length=1)
    address: Localised | None = None
    last_checked: date

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: object) -> object:
        # "phone: +7 ..." for a single number; one string for every language.
        if isinstance(data, dict):
            data = dict(data)
            if "phone" in data and "phones" not in data:
                phone = data.pop("phone")
                data["phones"] = [phone] if isinstance(phone, str) else phone
            for key in ("name", "hours", "address"):
                if key in data and data[key] is not None:
                    data[key] = _localised(data[key])
        return data

    @field_validator("name", "hours", "address")
    @classmethod
    def _lengths(cls, value: Localised | None, info: object) -> Localised | None:
        limit = {"name": 120, "hours": 80, "address": 160}[getattr(info, "field_name", "name")]
        if value is not None:
            for lang in LANGUAGES:
                text = getattr(value, lang)
                if text is not None and not 0 < len(text.strip()) <= limit:
                    raise ValueError(f"{lang}: keep it between 1 and {limit} characters")
        return value

    @field_validator("languages")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("list each language once")
        return value

    @field_validator("last_checked")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > date.today():
            raise ValueError(f"{value.isoformat()} is in the future")
        return value


class Directory(_Model):
    """The whole file: whether it is the shipped example, and its entries."""

    example: bool = False
    entries: tuple[Entry, ...] = ()


class DirectoryError(Exception):
    """The directory file is unusable; each line names the file, the entry and the fault."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def default_path() -> Path:
    """The file named by ``DIRECTORY_FILE`` (the environment, then ``.env``, as the bot reads
    it), else the shipped example."""
    configured = setting("DIRECTORY_FILE")
    return Path(configured) if configured else EXAMPLE_FILE


def _region_values() -> set[str]:
    return {o.value for o in load_lists(REGIONS_FILE.parent).get("regions", ())}


def _entry_label(raw: object, index: int) -> str:
    name = ""
    if isinstance(raw, dict):
        value = raw.get("name")
        if isinstance(value, dict):
            value = next((v for v in value.values() if isinstance(v, str)), "")
        name = f" ({value})" if isinstance(value, str) and value else ""
    return f"entry {index + 1}{name}"


def load_directory(path: Path) -> Directory:
    """Parse and validate the directory at ``path``; raise :class:`DirectoryError` on any fault."""
    name = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DirectoryError([f"{name}: cannot read the directory ({exc.strerror})"]) from None
    except yaml.YAMLError as exc:
        raise DirectoryError([f"{name}: not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("entries", []), list):
        raise DirectoryError([f"{name}: expected a mapping with 'entries:' (a list)"])
    problems: list[str] = []
    unknown = set(raw) - {"example", "entries"}
    if unknown:
        problems.append(f"{name}: unknown key(s) {sorted(unknown)}; use 'example' and 'entries'")
    regions = _region_values()
    entries: list[Entry] = []
    for index, item in enumerate(raw.get("entries") or []):
        label = _entry_label(item, index)
        try:
            entry = Entry.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "entry"
                problems.append(f"{name}: {label}: {where}: {err['msg']}")
            continue
        if entry.region != NATIONAL and entry.region not in regions:
            problems.append(
                f"{name}: {label}: region '{entry.region}' is not one of "
                f"flows/lists/regions.yaml or '{NATIONAL}'"
            )
            continue
        entries.append(entry)
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.region] = counts.get(entry.region, 0) + 1
    # A region's screen shows its own entries and every national one.
    national = counts.get(NATIONAL, 0)
    for region, count in sorted(counts.items()):
        shown = count if region == NATIONAL else count + national
        if shown > MAX_ENTRIES_PER_REGION:
            what = "national entries" if region == NATIONAL else "entries with the national ones"
            problems.append(
                f"{name}: region '{region}' shows {shown} {what}; keep it to "
                f"{MAX_ENTRIES_PER_REGION} so the screen stays short"
            )
    if not isinstance(raw.get("example", False), bool):
        problems.append(f"{name}: 'example' must be true or false")
    if problems:
        raise DirectoryError(problems)
    return Directory(example=bool(raw.get("example", False)), entries=tuple(entries))


def directory_problems(path: Path | None = None) -> list[str]:
    """Every fault of the directory file (default: :func:`default_path`), for the checker."""
    try:
        load_directory(path or default_path())
    except DirectoryError as exc:
        return [f"directory: {p}" for p in exc.problems]
    return []


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _entry_text(entry: Entry, language: str, translator: Translates, example: bool) -> str:
    lines = [f"• <b>{_esc(entry.name.get(language))}</b>"]
    if example:
        lines.append(f"  <i>{translator.text(language, _TEXTS['example'])}</i>")
    lines.append("  📞 " + ", ".join(_esc(p) for p in entry.phones))
    # Each language by its own name (Қазақша, Русский, English), as on the language screen.
    spoken = ", ".join(translator.text(language, f"language.{lang}") for lang in entry.languages)
    hours = _esc(entry.hours.get(language))
    lines.append(
        f"  🕒 {hours} · " + translator.text(language, _TEXTS["languages"], {"languages": spoken})
    )
    if entry.address is not None:
        lines.append(f"  📍 {_esc(entry.address.get(language))}")
    day = entry.last_checked.strftime("%d.%m.%Y")
    lines.append(f"  <i>{translator.text(language, _TEXTS['checked'], {'day': day})}</i>")
    return "\n".join(lines)


def directory_text(
    directory: Directory, region: str | None, language: str, translator: Translates
) -> str:
    """Ready HTML for the help flow's region screen.

    ``region`` is a value of ``flows/lists/regions.yaml`` (the help flow's answer ``region``), or
    ``None`` when she skipped the choice. First the region's own entries, each with the day it was
    last checked (or a line saying there are none yet); then, always, the national numbers, which
    work in every region. Everything from the operator's file is HTML-escaped.
    """
    parts: list[str] = []
    if region is not None and region != NATIONAL:
        title = _esc(translator.text(language, f"region.{region}"))
        local = [e for e in directory.entries if e.region == region]
        block = [f"<b>{title}</b>"]
        if local:
            block += [_entry_text(e, language, translator, directory.example) for e in local]
        else:
            block.append(translator.text(language, _TEXTS["none"]))
        parts.append("\n".join(block))
    national = [translator.text(language, _TEXTS["national"])]
    extra = [e for e in directory.entries if e.region == NATIONAL]
    if extra:
        national.append(translator.text(language, _TEXTS["national_more"]))
        national += [_entry_text(e, language, translator, directory.example) for e in extra]
    parts.append("\n".join(national))
    return "\n\n".join(parts)
