"""What a glance at her phone may show, and the words that must not be there.

The chat list and a notification show the first lines of the bot's last message: its title and
the line after it. The bot edits one message in place, so whatever screen she was on stays in the
chat list until she exits. Both lines must therefore be neutral: no word that names violence, the
police, the law, leaving, or the people and places she may turn to.

Lower-case stems: a word of the preview that begins with a stem reveals the topic ("полиция" also
catches "полицияға"), unless it begins with one of the language's :data:`HARMLESS` words ("safe"
is not "danger": "қауіпсіз" begins like "қауіп"). A stem with a space is a phrase, matched
anywhere. Numbers of the emergency and help lines count as words.
"""

from __future__ import annotations

import re

# The first list of each language guards what was always checked (the title line); the second,
# added with the November 2026 content review, names the topics a title gave away then ("If you
# decide to leave", "If the phone is watched", "Protective order", "Free legal advice", ...).
REVEALING = {
    "en": (
        *("violen", "abus", "police", "rape", "assault", "victim", "shelter", "crisis"),
        *("danger", "beat", "report", "112", "102", "111"),
        *("leav", "escap", "divorc", "custod", "alimon", "protect", "court", "legal", "lawyer"),
        *("the law", "rights", "evidence", "injur", "hurt", "harm", "stalk", "watched", "spy"),
        *("track", "threat", "offender", "aggressor", "emergenc", "suicid", "kill", "sex"),
        *("chok", "prosecut", "150", "103"),
    ),
    "ru": (
        *("насил", "избие", "побо", "полиц", "изнасил", "жертв", "угроз", "опасн", "убежищ"),
        *("кризис", "абьюз", "заявлен", "агресс", "112", "102", "111"),
        *("уйти", "уход", "развод", "алимент", "опек", "суд", "юрид", "юрист", "закон"),
        *("доказ", "свидетел", "травм", "вред", "преслед", "следят", "слежк", "шпион"),
        *("предписан", "обидчик", "экстрен", "суицид", "убий", "секс", "душ", "бьёт", "бьет"),
        *("прокур", "150", "103"),
    ),
    "kk": (
        *("зорлық", "зомбылық", "полиция", "қорлау", "қауіп", "құрбан", "дағдарыс", "баспана"),
        *("соққы", "шабуыл", "112", "102", "111"),
        *("кету", "кетер", "ажырас", "алимент", "қорғаншы", "сот", "заң", "құқық", "дәлел"),
        *("куә", "жарақат", "зиян", "аңду", "бақылан", "тыңшы", "нұсқама", "жәбірлен"),
        *("агрессор", "жедел", "өзін-өзі", "өлтір", "жыныстық", "тұншық", "ұрып", "прокурор"),
        *("150", "103"),
    ),
}


# Words that begin like a stem but say nothing of the topic.
HARMLESS = {
    "en": (),
    "ru": ("судьб",),
    "kk": ("қауіпсіз", "куәлік"),
}

_WORD = re.compile(r"\w+")


def preview(shown: str, lines: int = 2) -> str:
    """The first ``lines`` non-empty lines of a message's visible text, case-folded: its title and
    the line after it are what a chat list or a notification shows."""
    kept = [line.strip() for line in shown.splitlines() if line.strip()]
    return " ".join(kept[:lines]).casefold()


def revealing_words(language: str, shown: str, lines: int = 2) -> list[str]:
    """The stems of :data:`REVEALING` found in the preview of ``shown``."""
    seen = preview(shown, lines)
    words = [w for w in _WORD.findall(seen) if not w.startswith(HARMLESS[language])]
    return [
        stem
        for stem in REVEALING[language]
        if (stem in seen if " " in stem else any(w.startswith(stem) for w in words))
    ]
