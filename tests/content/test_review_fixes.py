"""The independent review's critical findings (November 2026), pinned in kk, ru and en.

C1 location checked too late when leaving; C2 traces on the phone never mentioned; C3 the report
consent promised too much; C4 nothing said a report is not a police report, and "sent" lacked
112/102. Each test reads what she would see, in every language.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows.catalog import LOCALES_DIR, read_catalog
from flows.markup import visible_text
from tests.content.helpers import LANGS

LOCALES: Path = LOCALES_DIR


def shown(lang: str, msgid: str) -> str:
    message = read_catalog(lang, LOCALES).get(msgid)
    assert message is not None and isinstance(message.string, str), f"{msgid} [{lang}]"
    return visible_text(message.string.replace("{", "").replace("}", ""))


LOCATION = {"en": r"location", "ru": r"геопозици|местоположени", "kk": r"геолокаци|орналасқан жер"}
LATER = {"en": r"\bafterwards\b", "ru": r"\bпотом\b", "kk": r"\bкейін\b"}
WHEN_GOING = {"en": r"\bas you go\b", "ru": r"в момент ухода", "kk": r"кетер сәтте"}
BAG = {"en": r"\bbag\b", "ru": r"\bсумк", "kk": r"\bсөмке"}


@pytest.mark.parametrize("lang", LANGS)
def test_c1_location_sharing_is_switched_off_as_she_goes_not_afterwards(lang: str) -> None:
    lines = shown(lang, "plan.leaving.text").splitlines()
    located = [i for i, line in enumerate(lines) if re.search(LOCATION[lang], line, re.I)]
    assert located, "the leaving screen says nothing about location"
    for i in located:
        assert not re.search(LATER[lang], lines[i], re.I), f"location left for later: {lines[i]}"
        assert re.search(WHEN_GOING[lang], lines[i], re.I), (
            f"not at the moment of going: {lines[i]}"
        )
    bag = next(i for i, line in enumerate(lines) if re.search(BAG[lang], line, re.I))
    assert max(located) < bag  # before she takes the bag and goes, not after


TRACES = {
    "en": (
        "call list",
        "messages",
        "gallery",
        "cloud",
        "recent searches",
        "chat list",
        "last screen",
    ),
    "ru": (
        "журнале звонков",
        "смс",
        "галере",
        "облак",
        "недавних поисках",
        "списке чатов",
        "последний экран",
    ),
    "kk": (
        "қоңыраулар тізімі",
        "хабарлама",
        "галерея",
        "бұлт",
        "соңғы іздеулер",
        "чаттар тізімінде",
        "соңғы экраны",
    ),
}


@pytest.mark.parametrize("lang", LANGS)
def test_c2_exit_info_names_the_traces_the_exit_cannot_erase(lang: str) -> None:
    text = shown(lang, "safety.exit_info.text").casefold()
    missing = [trace for trace in TRACES[lang] if trace not in text]
    assert missing == [], f"exit_info [{lang}] does not mention {missing}"


OVERPROMISE = {
    "en": "keeps nothing that leads back to you",
    "ru": "не хранит ничего, что вело бы к вам",
    "kk": "сізге апаратын ештеңе сақтамайды",
}
CAN_IDENTIFY = {
    "en": ("what you write or send can", "voice", "files"),
    "ru": ("то, что вы напишете или пришлёте", "голос", "файлы"),
    "kk": ("жазған не жіберген нәрсе сізді танытуы мүмкін", "дауыс", "файлдар"),
}


@pytest.mark.parametrize("lang", LANGS)
def test_c3_consent_no_longer_promises_anonymity_and_names_what_can_identify_her(
    lang: str,
) -> None:
    text = shown(lang, "report.consent.text")
    assert OVERPROMISE[lang] not in text
    for words in CAN_IDENTIFY[lang]:
        assert words in text, f"consent [{lang}] lacks {words!r}"


NOT_POLICE = {
    "en": "not a police report",
    "ru": "не заявление в полицию",
    "kk": "полицияға берілетін арыз емес",
}
NO_ONE_COMES = {"en": "no one will come", "ru": "никто не приедет", "kk": "ешкім келмейді"}


@pytest.mark.parametrize("lang", LANGS)
def test_c4_a_report_is_not_a_police_report_and_sent_gives_112_and_102(lang: str) -> None:
    consent = shown(lang, "report.consent.text").casefold()
    assert NOT_POLICE[lang] in consent and NO_ONE_COMES[lang] in consent
    sent = shown(lang, "report.sent.text")
    assert NOT_POLICE[lang] in sent.casefold()
    assert re.search(r"\b112\b", sent) and re.search(r"\b102\b", sent), f"sent [{lang}]: {sent}"


@pytest.mark.parametrize("lang", LANGS)
def test_the_report_says_what_evidence_loses_and_what_it_keeps(lang: str) -> None:
    text = shown(lang, "report.evidence.text")
    assert re.search(LOCATION[lang] + r"|место съёмки|түсірілген жер", text, re.I)
    assert "PDF" in text and "HEIC" in text  # what is kept as sent is named
