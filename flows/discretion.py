"""What a glance at her phone may show, and the words that must not be there; and what marks
the one button that wipes the chat.

The chat list and a notification show the first lines of the bot's last message: its title and
the line after it. The bot edits one message in place, so whatever screen she was on stays in the
chat list until she exits. Both lines must therefore be neutral: no word that names violence, the
police, the law, leaving, or the people and places she may turn to.

Lower-case stems: a word of the preview that begins with a stem reveals the topic ("полиция" also
catches "полицияға"), unless it begins with one of the language's :data:`HARMLESS` words ("safe"
is not "danger": "қауіпсіз" begins like "қауіп"). A stem with a space is a phrase, matched
anywhere. Numbers of the emergency and help lines count as words.

The quick exit is the one button a woman in a hurry looks for, by its door (:data:`DOOR`) or by
its word. A second button that carries either is the first door she may tap, so on every screen
exactly one button may: the exit itself (:func:`looks_like_exit`, checked by ``flows check``).
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


# The quick exit's glyph. It, and the words below, belong to the exit alone.
DOOR = "🚪"

# Words a hurried reader takes for "get me out of here", as stems (same rules as REVEALING): the
# verbs for exiting, quitting and leaving, in their common forms. Leaving him is said otherwise on
# buttons ("live apart"), so that no topic button reads like the exit. Kazakh and Russian include
# the forms typed on a Russian keyboard (шыгу, шык), as EXIT_WORDS in flows/engine.py does.
DOOR_WORDS = {
    "en": (
        *("exit", "quit", "leav", "left", "escap", "log out", "sign out", "way out"),
        "get out",
    ),
    "ru": (
        *("выход", "выйт", "выйд", "выхож", "уйти", "уйд", "ушл", "ухож", "уходи", "покин"),
        *("покид", "сбеж", "выбрат"),
    ),
    "kk": (
        *("шығу", "шығып", "шығат", "шығам", "шығың", "шығай", "шық", "шыгу", "шык"),
        *("кету", "кетіп", "кетер", "кеткен", "кетем", "кетей", "кетің", "кетс"),
    ),
}

# Words that begin like an exit word but say nothing of leaving: a day off, the east.
DOOR_HARMLESS = {
    "en": (),
    "ru": ("выходн",),
    "kk": ("шығыс",),
}


def looks_like_exit(language: str, label: str) -> bool:
    """Whether a button labelled ``label`` (as she reads it) carries the door or an exit word."""
    if DOOR in label:
        return True
    seen = label.casefold()
    words = [w for w in _WORD.findall(seen) if not w.startswith(DOOR_HARMLESS[language])]
    return any(
        stem in seen if " " in stem else any(w.startswith(stem) for w in words)
        for stem in DOOR_WORDS[language]
    )
