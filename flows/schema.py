"""The shape of a flow file, validated with pydantic.

A flow is a set of screens. A screen shows a text and buttons; a button either goes to another
screen or triggers an action; a screen may ask a question that captures a choice or typed input into
a named field. Every text is a gettext msgid, translated per language in ``locales/``.

References to screens are ``flow.screen``; inside a flow a bare ``screen`` means that flow's.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

IDENT = r"[a-z][a-z0-9_]*"
MSGID_RE = re.compile(rf"^{IDENT}(\.{IDENT})+$")
REF_RE = re.compile(rf"^({IDENT}\.)?{IDENT}$")

LANGUAGES = ("kk", "ru", "en")

# Telegram allows 100 buttons per keyboard; a phone shows far fewer comfortably.
MAX_BUTTONS = 40
# One message holds at most 4096 characters, so a single typed answer can never be longer.
MAX_TEXT_ANSWER = 4096


class Action(StrEnum):
    """What a button may trigger besides moving to another screen."""

    EXIT = "exit"  # quick exit: wipe the chat and forget the session
    SET_LANGUAGE = "set_language"  # value: kk | ru | en
    SUBMIT = "submit"  # seal this flow's answers as a report
    DISCARD = "discard"  # forget this flow's answers
    SERVICE = "service"  # value: a bot service's name (e.g. take_receipt); go: where it leads


class Nav(StrEnum):
    """Controls the renderer adds in the last row of a screen."""

    BACK = "back"
    HOME = "home"
    LANGUAGE = "language"
    EXIT = "exit"


class QuestionKind(StrEnum):
    SINGLE = "single"  # one option; pressing it answers and moves on
    MULTI = "multi"  # options toggle; a done button moves on
    TEXT = "text"  # typed text, possibly over several messages, up to max_length in total
    MEDIA = "media"  # photos, documents or voice messages, up to max_items


Msgid = Annotated[str, Field(pattern=MSGID_RE.pattern)]
Ref = Annotated[str, Field(pattern=REF_RE.pattern)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Button(_Model):
    """A button: a label and exactly one of ``go`` or ``action``."""

    label: Msgid
    go: Ref | None = None
    action: Action | None = None
    value: str | None = None
    # An edit button on a review screen: after the question is answered, come back here.
    come_back: bool = False

    @model_validator(mode="after")
    def _one_effect(self) -> Self:
        if self.go is None and self.action is None:
            raise ValueError("a button needs 'go' or 'action'")
        if self.action is Action.SET_LANGUAGE and self.value not in LANGUAGES:
            raise ValueError("'set_language' needs a 'value' of kk, ru or en")
        if self.action is Action.SUBMIT and self.go is None:
            raise ValueError("'submit' needs 'go': the screen shown once the report is stored")
        if self.action is Action.EXIT and self.go is not None:
            raise ValueError("'exit' takes no 'go': the conversation is wiped")
        if self.action is Action.SERVICE and (
            self.go is None or self.value is None or not re.fullmatch(IDENT, self.value)
        ):
            raise ValueError("'service' needs a 'value' (the service's name) and 'go'")
        return self


class Option(_Model):
    """One answer of a single or multiple choice question."""

    value: Annotated[str, Field(pattern=rf"^{IDENT}$")]
    label: Msgid
    # Where this answer leads, when not to the question's ``next`` (e.g. "not safe now").
    go: Ref | None = None


class Question(_Model):
    """Captures a choice or typed input into ``field`` of this flow's answers."""

    field: Annotated[str, Field(pattern=rf"^{IDENT}$")]
    kind: QuestionKind
    # A short name for the answer on a review screen and in a report.
    title: Msgid | None = None
    options: tuple[Option, ...] = ()
    # Or the name of a shared list in flows/lists/ (the regions are asked in more than one flow).
    options_from: Annotated[str, Field(pattern=rf"^{IDENT}$")] | None = None
    next: Ref
    # Text: total characters over all messages. Media: ignored.
    max_length: Annotated[int, Field(gt=0, le=100_000)] | None = None
    max_items: Annotated[int, Field(gt=0, le=20)] | None = None
    # Multi, text and media questions move on with this button; single ones may offer a skip.
    done_label: Msgid | None = None
    skip_label: Msgid | None = None
    # Shown when typed input is too long, or when the limit of items is reached.
    limit_notice: Msgid | None = None
    # Her message is removed from the chat once captured: the words or photo stay only in the
    # in-memory draft, not on a screen someone else may read.
    conceal: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        choice = self.kind in (QuestionKind.SINGLE, QuestionKind.MULTI)
        if self.options and self.options_from:
            raise ValueError("give 'options' or 'options_from', not both")
        if choice and not (self.options or self.options_from):
            raise ValueError(f"a '{self.kind}' question needs options")
        if not choice and (self.options or self.options_from):
            raise ValueError(f"a '{self.kind}' question takes no options")
        values = [o.value for o in self.options]
        if len(set(values)) != len(values):
            raise ValueError("option values must be unique")
        if self.kind is QuestionKind.TEXT and self.max_length is None:
            raise ValueError("a text question needs 'max_length'")
        if self.kind is QuestionKind.MEDIA and self.max_items is None:
            raise ValueError("a media question needs 'max_items'")
        if self.kind is not QuestionKind.SINGLE and self.done_label is None:
            raise ValueError(f"a '{self.kind}' question needs 'done_label'")
        return self


class OptionList(_Model):
    """A shared list of options, one file in ``flows/lists/``."""

    options: tuple[Option, ...]


class Screen(_Model):
    """One message the user sees, with its buttons."""

    text: Msgid
    buttons: tuple[Button | tuple[Button, ...], ...] = ()
    question: Question | None = None
    # Where "back" goes; defaults to the flow's start screen (and from there to the home screen).
    parent: Ref | None = None
    nav: tuple[Nav, ...] = (Nav.BACK, Nav.HOME, Nav.EXIT)
    # Placeholders in the text filled from the session, e.g. "review" for a review screen.
    shows: tuple[str, ...] = ()
    # A feature this screen needs (e.g. "reporting"); when the bot runs without it, whoever
    # would land here lands on ``otherwise`` instead.
    requires: Annotated[str, Field(pattern=rf"^{IDENT}$")] | None = None
    otherwise: Ref | None = None
    # Typed text on this screen goes to the bot service of this name (a receipt), never into
    # the answers; her message is deleted at once, whatever it held.
    takes: Annotated[str, Field(pattern=rf"^{IDENT}$")] | None = None
    # Where a screen that ``takes`` typed text leads once its service accepted it.
    then: Ref | None = None

    @model_validator(mode="after")
    def _gate(self) -> Self:
        if (self.requires is None) != (self.otherwise is None):
            raise ValueError("'requires' and 'otherwise' go together")
        if self.takes is not None and self.question is not None:
            raise ValueError("a screen that 'takes' typed text asks no question")
        if (self.takes is None) != (self.then is None):
            raise ValueError("'takes' and 'then' go together")
        return self

    @field_validator("nav")
    @classmethod
    def _nav_unique(cls, nav: tuple[Nav, ...]) -> tuple[Nav, ...]:
        if len(set(nav)) != len(nav):
            raise ValueError("nav entries must be unique")
        return nav

    def rows(self) -> tuple[tuple[Button, ...], ...]:
        """The screen's own buttons, one tuple per keyboard row."""
        return tuple(row if isinstance(row, tuple) else (row,) for row in self.buttons)


class Flow(_Model):
    """A flow file: its id, the screen it starts on, and its screens."""

    flow: Annotated[str, Field(pattern=rf"^{IDENT}$")]
    start: Annotated[str, Field(pattern=rf"^{IDENT}$")]
    screens: dict[Annotated[str, Field(pattern=rf"^{IDENT}$")], Screen]

    @model_validator(mode="after")
    def _start_exists(self) -> Self:
        if self.start not in self.screens:
            raise ValueError(f"start screen '{self.start}' is not among the screens")
        return self
