"""Carry out what the engine decides: show screens, keep the chat short, wipe on exit.

Handlers turn updates into engine events and call :meth:`Conversation.handle`; everything that
sends, edits or deletes a message of the conversation goes through here.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup

from bot import incidents
from bot.api_session import EditScreen
from bot.config import Settings
from bot.render import language_of, notice_text, render
from bot.sessions import Session, SessionStore, new_nonce
from bot.tally import EXIT, IDLE, SHUTDOWN, Tally
from bot.wipe import Span, Wiper, forget_updates
from flows.catalog import N_, Translator
from flows.engine import Event, Exit, Media, Notice, Service, Submit, step, submitted
from flows.loader import LANGUAGE, Book
from flows.schema import Question

log = logging.getLogger(__name__)

GOODBYE = N_("common.goodbye")
# The conversation's pinned first message: no words, nothing to read in the pinned bar.
HEADER = "🌿"
# What she reads when her chat could not be wiped: Telegram's own "Delete chat" can.
WIPE_INCOMPLETE = N_("common.wipe_incomplete")
SUBMIT_FAILED = N_("common.submit_failed")
SERVICE_FAILED = N_("common.error")
ORGANISATION = N_("common.organisation_default")
# Conversations wiped at once by a sweep or a shutdown: enough to finish quickly, few enough not
# to trip Telegram's rate limits.
WIPE_WORKERS = 16

# Seals and stores a report; returns only once it is durably committed. Raises on failure:
# ReportRefused when a limit says no (she is told why), anything else when something broke.
ReportSink = Callable[[Session, Submit], Awaitable[None]]


class ReportRefused(Exception):
    """A limit refused the report: nothing was stored, and ``notice`` tells her why and what
    she can do instead (never just "try again")."""

    def __init__(self, notice: Notice) -> None:
        super().__init__(notice.msgid)
        self.notice = notice


# What a service decides: the screen to show next (None: stay) and a notice above it.
ServiceResult = tuple[str | None, Notice | None]
# A bot service a flow names (``action: service`` or a screen that ``takes`` typed text): receipts
# and cases (bot/followup.py). Raises on failure; she is told something went wrong.
ServiceFn = Callable[[Session, Service], Awaitable[ServiceResult]]


# Fills one placeholder a screen ``shows`` (a review of answers, a directory), from the session.
# Returns ready HTML: the provider escapes whatever came from the user or the operator.
Provider = Callable[[Session], str]


class Conversation:
    """The bot's side of every conversation."""

    def __init__(
        self,
        *,
        book: Book,
        translator: Translator,
        sessions: SessionStore,
        settings: Settings,
        report_sink: ReportSink | None = None,
        providers: Mapping[str, Provider] | None = None,
        params: Mapping[str, str] | None = None,
        tally: Tally | None = None,
        wiper: Wiper | None = None,
        services: Mapping[str, ServiceFn] | None = None,
        delivered: Mapping[str, Callable[[Session], None]] | None = None,
    ) -> None:
        self.book = book
        self.wiper = wiper
        self.tally = tally or Tally()
        self.translator = translator
        self.sessions = sessions
        self.settings = settings
        self.report_sink = report_sink
        self.providers = dict(providers or {})
        # Called once a screen showing that provider's part reached her (a receipt shown once
        # is dropped from the session only then: a send that failed must not lose it).
        self.delivered = dict(delivered or {})
        self.services = dict(services or {})
        missing = {name for screen in book.screens.values() for name in screen.shows} - set(
            self.providers
        )
        if missing:
            raise ValueError(f"no provider for placeholder(s) shown by screens: {sorted(missing)}")
        self._base_params = {
            "idle": f"{settings.idle_minutes:g}",
            "organisation": settings.organisation,
            **(params or {}),
        }

    def refuses_media(self, session: Session) -> Notice | None:
        """Why one more file would be refused here (a limit, no media question), before anything
        is downloaded; ``None`` when the current question would take it."""
        outcome = step(self.book, session.state, Media("probe"))
        return None if outcome.moved else outcome.notice

    def question(self, session: Session) -> Question | None:
        """The question the current screen asks, if any."""
        return self.book.screen(session.state.screen or LANGUAGE).question

    async def handle(
        self,
        bot: Bot,
        session: Session,
        event: Event,
        *,
        pressed_message_id: int | None = None,
        dispose: Sequence[int] = (),
        answer_message_id: int | None = None,
    ) -> None:
        """Apply ``event``; edit ``pressed_message_id`` in place when the event came from it.

        ``dispose``: her messages that served only to navigate (commands), removed with the old
        screen so the chat stays short. ``answer_message_id``: her message that answered the
        question; removed too once captured when the question conceals its answers.
        """
        question = self.question(session)
        outcome = step(self.book, session.state, event)
        if (
            answer_message_id is not None
            and question is not None
            and question.conceal
            and outcome.moved
        ):
            dispose = (*dispose, answer_message_id)
        if isinstance(outcome.effect, Exit):
            await self.quick_exit(bot, session)
            return
        if isinstance(outcome.effect, Submit):
            await self._submit(bot, session, outcome.effect, pressed_message_id)
            return
        if isinstance(outcome.effect, Service):
            if answer_message_id is not None:
                # Typed for a service (a receipt): gone from the chat whatever it held.
                dispose = (*dispose, answer_message_id)
            await self._service(bot, session, outcome.effect, pressed_message_id, dispose)
            return
        before = session.state, session.nonce
        session.state = outcome.state
        _drop_unused_attachments(session)
        try:
            await self.show(bot, session, outcome.notice, edit=pressed_message_id, dispose=dispose)
        except TelegramAPIError:
            # She was told nothing changed ("try again"): make it so, or her retry would count
            # twice (her words added again) or press a button of a screen she never saw.
            session.state, session.nonce = before
            raise

    async def show(
        self,
        bot: Bot,
        session: Session,
        notice: Notice | None = None,
        *,
        edit: int | None = None,
        dispose: Sequence[int] = (),
    ) -> None:
        """Show the current screen: edit message ``edit`` in place, or send it anew.

        A new screen replaces the previous one, which is deleted, so one live screen stays.
        """
        session.previous_nonce, session.nonce = session.nonce, new_nonce()
        rendered = render(
            self.book, self.translator, session, notice, self._params(session), self._shown(session)
        )
        if edit is not None:
            try:
                await bot(
                    EditScreen.screen(
                        chat_id=session.chat_id,
                        message_id=edit,
                        text=rendered.text,
                        keyboard=rendered.markup,
                    )
                )
            except TelegramBadRequest as exc:
                if "not modified" in exc.message:
                    self._delivered(session)  # what she has on screen already says it
                    return
            else:
                self._delivered(session)
                await self._replace_live(bot, session, edit, dispose)
                return
        if self.settings.exit_pin and not session.pinned:
            dispose = (*dispose, *await self._pin_header(bot, session))
        sent = await bot.send_message(
            chat_id=session.chat_id,
            text=rendered.text,
            reply_markup=InlineKeyboardMarkup.model_validate(rendered.markup),
        )
        self._delivered(session)
        await self._replace_live(bot, session, sent.message_id, dispose)

    def _delivered(self, session: Session) -> None:
        screen = self.book.screen(session.state.screen or LANGUAGE)
        for name in screen.shows:
            if name in self.delivered:
                self.delivered[name](session)

    async def _pin_header(self, bot: Bot, session: Session) -> list[int]:
        """Pin a neutral first message, silently: after an unclean restart, a typed exit finds
        it with getChat and wipes her chat from there (docs/quick-exit.md says why a pin).

        Returns her messages from before it (first contact: "/start", "hi"), to be removed with
        the old screen, so that nothing of hers lies below the pin.
        """
        session.pinned = True  # once: a failure is not tried again on every screen
        try:
            header = await bot.send_message(
                chat_id=session.chat_id, text=HEADER, disable_notification=True
            )
            # Telegram adds "pinned" to her chat as a message of its own, with an id the bot is
            # never told: it lies between the header and the next message, a span for the wipe.
            session.lost_after(header.message_id, -math.inf)  # closed by the screen, sent next
            await bot.pin_chat_message(
                chat_id=session.chat_id, message_id=header.message_id, disable_notification=True
            )
        except TelegramAPIError as exc:
            incidents.note("exit pin not set", exc)
            return []
        return [i for i in session.message_ids if i < header.message_id]

    def _params(self, session: Session) -> dict[str, str]:
        params = dict(self._base_params)
        if not params["organisation"]:
            # Unset by the operator: a neutral phrase that reads right in every language.
            params["organisation"] = self.translator.text(language_of(session), ORGANISATION)
        return params

    def _shown(self, session: Session) -> dict[str, str]:
        screen = self.book.screen(session.state.screen or LANGUAGE)
        return {name: self.providers[name](session) for name in screen.shows}

    async def say(self, bot: Bot, session: Session, notice: Notice) -> None:
        """A short message with no keyboard (recorded for the wipe like any other)."""
        await bot.send_message(
            chat_id=session.chat_id, text=notice_text(self.translator, session, notice)
        )

    async def quick_exit(self, bot: Bot, session: Session, *, anchor: int = 0) -> None:
        """Delete the whole conversation, forget the session, maybe leave one neutral line.

        ``anchor``: the first id of the conversation, as the tapped exit button carries it. Older
        than anything the session knows, it means the bot restarted meanwhile: everything of her
        chat from there to its newest message is deleted (bot.wipe's spans).
        """
        self.sessions.drop(session)
        session.inherit(anchor)
        # The bot never showed her anything (a repeated exit, exits from a script): no line, and
        # no priority either: it waits its turn under the wipes' budget (bot.pacing).
        first = session.live_message_id is not None or session.pinned or bool(session.gaps)
        goodbye = None
        if self.settings.exit_message == "goodbye" and first:
            goodbye = self.translator.text(language_of(session), GOODBYE)
        await self.wipe(bot, session, EXIT, urgent=first, goodbye=goodbye)

    async def wipe(
        self,
        bot: Bot,
        session: Session,
        reason: str,
        *,
        spans: Sequence[Span] = (),
        urgent: bool = False,
        goodbye: str | None = None,
    ) -> None:
        """Delete every recorded message and drop the draft. Never raises.

        The wipe goes on in the background until confirmed (bot.wipe); ``goodbye`` comes after.
        ``reason`` (bot.tally: exit, idle, shutdown, ...) is counted, nothing else about it.
        """
        self.tally.wiped(reason)
        ids = list(session.message_ids)
        spans = [*session.spans(), *spans]
        note = self.translator.text(language_of(session), WIPE_INCOMPLETE)
        session.message_ids.clear()
        session.gaps = ()
        session.drop_attachments()
        session.forget_followup()
        session.state = replace(session.state, answers={})
        session.live_message_id = None
        forget_updates()
        try:
            await self.wiper_for(bot).wipe(
                session.chat_id, ids, spans, urgent=urgent, goodbye=goodbye, note=note
            )
        except Exception as exc:  # a wipe must finish quietly whatever happens
            incidents.note("wipe failed unexpectedly", exc)

    def wiper_for(self, bot: Bot) -> Wiper:
        """The bot's one wiper (made on first use when none was given)."""
        if self.wiper is None:
            self.wiper = Wiper(bot)
        return self.wiper

    async def wipe_idle(self, bot: Bot) -> int:
        """Wipe and forget every conversation quiet for longer than the idle time."""
        return await self._wipe_many(bot, self.sessions.idle(), only_if_idle=True)

    async def wipe_everyone(self, bot: Bot) -> int:
        """Wipe every live conversation (graceful shutdown)."""
        return await self._wipe_many(bot, self.sessions.chat_ids(), only_if_idle=False)

    async def _wipe_many(self, bot: Bot, chat_ids: list[int], *, only_if_idle: bool) -> int:
        # A fixed number of workers take the chats in turn, each unpacking one session at a
        # time. A task per session would put tens of thousands of coroutines in memory at once
        # when many expire together, and the process would keep that memory (docs/performance.md).
        queue = iter(chat_ids)
        wiped = 0

        async def worker() -> None:
            nonlocal wiped
            for chat_id in queue:
                session = self.sessions.get(chat_id)
                if session is not None and await self._wipe_one(bot, session, only_if_idle):
                    wiped += 1

        await asyncio.gather(*(worker() for _ in range(min(WIPE_WORKERS, len(chat_ids)))))
        return wiped

    async def _wipe_one(self, bot: Bot, session: Session, only_if_idle: bool) -> bool:
        async with session.turn():
            # She may have come back while this waited its turn: then it is not idle.
            if not only_if_idle or self.sessions.is_idle(session):
                self.sessions.drop(session)
                await self.wipe(bot, session, IDLE if only_if_idle else SHUTDOWN)
                return True
        self.sessions.park(session)
        return False

    async def _replace_live(
        self, bot: Bot, session: Session, message_id: int, dispose: Sequence[int]
    ) -> None:
        previous = session.live_message_id
        session.live_message_id = message_id
        stale = list(dict.fromkeys(i for i in (previous, *dispose) if i and i != message_id))
        if not stale:
            return
        try:
            await bot.delete_messages(chat_id=session.chat_id, message_ids=stale)
        except TelegramAPIError:
            return  # still recorded: the wipe will try again
        for i in stale:
            session.forget_message(i)

    async def _service(
        self,
        bot: Bot,
        session: Session,
        effect: Service,
        pressed_message_id: int | None,
        dispose: Sequence[int],
    ) -> None:
        service = self.services.get(effect.name)
        if service is None:  # a deployment without the feature: the flows gate it off
            await self.show(bot, session, Notice(SERVICE_FAILED), edit=pressed_message_id)
            return
        try:
            target, notice = await service(session, effect)
        except Exception as exc:  # her session is as it was; she may simply try again
            incidents.note(f"service {effect.name} failed", exc)
            target, notice = None, Notice(SERVICE_FAILED)
        before = session.state, session.nonce
        if target is not None:
            session.state = replace(session.state, screen=self.book.arrive(target), return_to=None)
        try:
            await self.show(bot, session, notice, edit=pressed_message_id, dispose=dispose)
        except TelegramAPIError:
            # As for a press: she was told to try again, so her old screen's buttons still work.
            session.state, session.nonce = before
            raise

    async def _submit(
        self, bot: Bot, session: Session, effect: Submit, pressed_message_id: int | None
    ) -> None:
        if self.report_sink is None:
            await self.show(bot, session, Notice(SUBMIT_FAILED), edit=pressed_message_id)
            return
        try:
            await self.report_sink(session, effect)
        except ReportRefused as refused:  # counted by the sink; she reads why, on the review
            await self.show(bot, session, refused.notice, edit=pressed_message_id)
            return
        except Exception as exc:  # the draft stays in memory so she can try again
            incidents.note("report not stored", exc)
            await self.show(bot, session, Notice(SUBMIT_FAILED), edit=pressed_message_id)
            return
        session.state = submitted(session.state, effect)
        session.drop_attachments()
        await self.show(bot, session, edit=pressed_message_id)


def _drop_unused_attachments(session: Session) -> None:
    """Forget evidence the draft no longer refers to (refused, discarded), so memory stays bounded
    by the question's limits."""
    if not session.attachments:
        return
    session.keep_attachments(
        {
            token
            for answers in session.state.answers.values()
            for value in answers.values()
            if isinstance(value, tuple)
            for token in value
        }
    )
