"""The desk's words: its own texts (`desk.*` msgids) and the report's questions and answers, in
kk, ru or en, from the same Babel catalogs and flow files the bot uses.

A report's field names and option values are the flow's (`forms: [physical]`); the desk shows
each question's title and each option's label, as the survivor saw them, in the caseworker's
language. A value the flows do not know (an older flow, a forged report) is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flows.catalog import DEFAULT_LANGUAGE, N_, Translator
from flows.loader import load_book
from flows.schema import LANGUAGES, QuestionKind

REPORT_FLOW = "report"


@dataclass(frozen=True, slots=True)
class Field:
    """One question of the report flow: its answer's name, kind, title and option labels."""

    name: str
    kind: QuestionKind
    title: str
    options: Mapping[str, str]


LANGUAGE_NAMES = {"kk": N_("language.kk"), "ru": N_("language.ru"), "en": N_("language.en")}
STATUS_NAMES = {
    "new": N_("desk.status.new"),
    "in_progress": N_("desk.status.in_progress"),
    "closed": N_("desk.status.closed"),
    "all": N_("desk.status.all"),
}
# The status the survivor sees (a `reporter_status` event): the desk's name for each, in the
# caseworker's language, and the very words the bot shows her, in the report's language.
REPORTER_STATUS_NAMES = {
    "received": N_("desk.reporter_status.received"),
    "reading": N_("desk.reporter_status.reading"),
    "answered": N_("desk.reporter_status.answered"),
    "closed": N_("desk.reporter_status.closed"),
}
HER_WORDS = {
    "received": N_("followup.status.received"),
    "reading": N_("followup.status.reading"),
    "answered": N_("followup.status.answered"),
    "closed": N_("followup.status.closed"),
}
HER_STATUS_LINE = N_("followup.thread.status")


class Labels:
    """Texts for one language at a time, with the report flow's fields."""

    def __init__(self, translator: Translator, fields: tuple[Field, ...]) -> None:
        self.translator = translator
        self.fields = fields
        self.by_name = {f.name: f for f in fields}

    @classmethod
    def load(cls) -> Labels:
        """The catalogs and the report flow's questions, in the order the survivor met them."""
        book = load_book()
        fields = []
        for screen in book.flows[REPORT_FLOW].screens.values():
            question = screen.question
            if question is None or question.title is None:
                continue
            options = {o.value: o.label for o in question.options}
            fields.append(Field(question.field, question.kind, question.title, options))
        return cls(Translator.load(), tuple(fields))

    def text(self, lang: str, msgid: str, params: Mapping[str, object] | None = None) -> str:
        """A desk text in `lang`."""
        return self.translator.text(lang, msgid, params)

    def title(self, lang: str, field: str) -> str:
        """A question's title, or the raw field name for an unknown field."""
        known = self.by_name.get(field)
        return self.text(lang, known.title) if known is not None else field

    def option(self, lang: str, field: str, value: str) -> str:
        """An answer's label, or the value itself when the flows do not know it."""
        known = self.by_name.get(field)
        if known is None or value not in known.options:
            return value
        return self.text(lang, known.options[value])

    def her_status(self, lang: str, status: str) -> str:
        """The status line the bot shows her, word for word, in her language (`lang`: the
        report's; the desk's default when the report's is not one of ours)."""
        lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        words = self.text(lang, HER_WORDS.get(status, HER_WORDS["received"]))
        return self.text(lang, HER_STATUS_LINE, {"status": words})

    def options(self, lang: str, field: str, values: list[str]) -> list[tuple[str, str]]:
        """(value, label) pairs for a filter's choices."""
        return [(v, self.option(lang, field, v)) for v in values]


def pick_language(stored: str, accept: str) -> str:
    """Her stored choice, else the browser's first language we speak, else the default."""
    if stored in LANGUAGES:
        return stored
    for part in accept.split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE
