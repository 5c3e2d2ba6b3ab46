"""The bot's side of anonymous reports: evidence capture, the review, the hand-over to the vault.

A draft lives in the session only (answers in the engine state, attachment bytes in memory). On
"Send" it becomes a :class:`storage.Report`, is sealed to the caseworkers' keys and committed; she
is told "received" only after the commit.
"""

from __future__ import annotations

import html
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import date
from types import MappingProxyType

from aiogram import Bot
from aiogram.types import Message

from bot import incidents
from bot.cleaning import Cleaning
from bot.config import Settings
from bot.conversation import ReportRefused
from bot.downloads import Downloads, TooLarge
from bot.evidence import MAX_PIXELS, TooManyPixels
from bot.limits import (
    MAX_FILE_NAME,
    MAX_FILE_TYPE,
    MIB,
    EvidenceMemory,
    check_words_fit,
    files_fit,
    room_left,
    total_files_bytes,
)
from bot.quota import REPORTS_PER_ACCOUNT_DAY, AccountQuota, DailyAllowance
from bot.render import language_of
from bot.sessions import Session
from flows.catalog import N_, Translator
from flows.engine import Answer, Notice, Submit, answers_of
from flows.loader import Book
from flows.schema import Option, QuestionKind
from storage import Attachment, PublicKey, Report, Vault, VaultFull
from storage.followups import Followups

log = logging.getLogger(__name__)

REPORT_FLOW = "report"
TOO_BIG = N_("report.attachment_too_big")
FAILED = N_("report.attachment_failed")
WRONG_KIND = N_("report.attachment_kind")
TOO_MANY_PIXELS = N_("report.attachment_pixels")
# Limits (bot/limits.py): what she reads when one is reached.
OVER_TOTAL = N_("report.attachment_total")
MEMORY_FULL = N_("report.attachment_busy")
HOURLY_LIMIT = N_("report.limit.rate")
VAULT_FULL = N_("report.limit.full")
DAILY_LIMIT = N_("report.limit.daily")
ACCOUNT_DAILY_LIMIT = N_("report.limit.account_daily")
WORDS_ONLY = N_("report.limit.files_full")
NONE = N_("report.review.none")
CHARACTERS = N_("report.review.characters")
FILES = N_("report.review.files")


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a message carries that can go into a report, before it is downloaded."""

    file_id: str
    size: int | None
    kind: str
    mime: str
    name: str


def evidence_of(message: Message) -> Evidence | None:
    """The photo, document or voice message in ``message``; ``None`` for anything else."""
    if message.photo:
        best = message.photo[-1]
        return Evidence(best.file_id, best.file_size, "photo", "image/jpeg", "photo.jpg")
    if message.document is not None:
        doc = message.document
        return Evidence(
            doc.file_id,
            doc.file_size,
            "document",
            (doc.mime_type or "application/octet-stream")[:MAX_FILE_TYPE],
            (doc.file_name or "document")[:MAX_FILE_NAME],
        )
    if message.voice is not None:
        voice = message.voice
        return Evidence(
            voice.file_id, voice.file_size, "voice", voice.mime_type or "audio/ogg", "voice.ogg"
        )
    return None


class ReportDesk:
    """Reports for one bot: the vault, evidence limits, the review text."""

    def __init__(
        self,
        *,
        vault: Vault,
        book: Book,
        translator: Translator,
        max_attachment_bytes: int,
        evidence_memory_bytes: int = 256 * MIB,
        reports_per_day: int = 300,
        reports_per_account_day: int = REPORTS_PER_ACCOUNT_DAY,
    ) -> None:
        self.vault = vault
        self.book = book
        self.translator = translator
        self.max_attachment_bytes = max_attachment_bytes
        self.memory = EvidenceMemory(evidence_memory_bytes)
        self.quota = AccountQuota(per_day=reports_per_account_day)
        self.downloads = Downloads()
        self.cleaning = Cleaning()
        self.daily = DailyAllowance(reports_per_day)
        check_words_fit(book, REPORT_FLOW, self._max_files())
        self._purged_on: date | None = None

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        recipients: list[PublicKey],
        book: Book,
        translator: Translator,
    ) -> ReportDesk:
        """Open the vault named by ``settings``, sealing to ``recipients`` (the keys the start-up
        check read and logged: bot/checks.py); purge what has expired."""
        vault = await Vault.open(
            settings.vault_path,
            recipients=recipients,
            retention_days=settings.retention_days,
            max_bytes=settings.vault_max_mb * MIB,
        )
        desk = cls(
            vault=vault,
            book=book,
            translator=translator,
            max_attachment_bytes=settings.max_attachment_mb * MIB,
            evidence_memory_bytes=settings.evidence_memory_mb * MIB,
            reports_per_day=settings.reports_per_day,
            reports_per_account_day=settings.reports_per_account_day,
        )
        await desk.purge_expired()
        # The installation's receipt salt exists from the first start (storage/FORMAT.md).
        await Followups(vault).salt()
        return desk

    async def close(self) -> None:
        """Close the vault and the downloads' connections."""
        await self.downloads.close()
        self.cleaning.close()
        await self.vault.close()

    async def purge_expired(self) -> int:
        """Purge expired reports, at most once a day; tidy the vault's traces every time (the bot
        calls this from its sweeper: see :meth:`storage.Vault.tidy`)."""
        today = self.vault.today()
        if self._purged_on == today:
            await self.vault.tidy()
            return 0
        purged = await self.vault.purge(today)
        self._purged_on = today
        if purged:
            log.warning("retention: %d expired report(s) purged", purged)
        return purged

    def limits(self) -> dict[str, str]:
        """Placeholders the evidence screen may show: the per-file size, the count limit and
        the most files one report carries in all (derived from the envelope's limit)."""
        return {
            "max_mb": f"{self.max_attachment_bytes // MIB}",
            "max_files": f"{self._max_files()}",
            "total_mb": f"{total_files_bytes() // MIB}",
        }

    def _max_files(self) -> int:
        counts = [
            s.question.max_items
            for s in self.book.flows[REPORT_FLOW].screens.values()
            if s.question is not None and s.question.max_items
        ]
        return min(counts, default=0)

    async def take_evidence(self, bot: Bot, session: Session, message: Message) -> str | Notice:
        """Download the evidence in ``message`` into the draft; a handle for it, or why not."""
        evidence = evidence_of(message)
        if evidence is None:
            return Notice(WRONG_KIND)
        mb = {"max_mb": self.max_attachment_bytes // MIB}
        if evidence.size is not None and evidence.size > self.max_attachment_bytes:
            return Notice(TOO_BIG, mb)
        # Unknown size: as much as a file may be, until the download says.
        expected = evidence.size if evidence.size is not None else self.max_attachment_bytes
        refused = self._refuses_file(session, expected)
        if refused is not None:
            return refused
        held = expected
        self.memory.reserve(held)
        try:
            data = await self._download(bot, evidence, mb)
            if isinstance(data, Notice):
                return data
            self.memory.unreserve(held)
            held = 0
            refused = self._refuses_file(session, len(data))  # the size was only declared
            if refused is not None:
                return refused
            held = len(data)
            self.memory.reserve(held)  # counted while it waits its turn to be cleaned
            attachment = Attachment(
                kind=evidence.kind, mime=evidence.mime, name=evidence.name, data=data
            )
            del data
            # Cleaned before it is held: the draft never keeps the copy with her location in it.
            cleaned = await self.cleaning.clean(attachment)
        except TooManyPixels:
            incidents.note("file refused: too many pixels")
            return Notice(TOO_MANY_PIXELS, {"megapixels": MAX_PIXELS // 1_000_000})
        finally:
            self.memory.unreserve(held)
        self.memory.hold(cleaned)
        token = secrets.token_hex(4)
        session.attach(token, cleaned)
        return token

    async def _download(self, bot: Bot, evidence: Evidence, mb: dict[str, int]) -> bytes | Notice:
        """The file's bytes, or why she cannot have it added."""
        try:
            file = await bot.get_file(evidence.file_id)
            if file.file_path is None:
                return Notice(FAILED)
            url = bot.session.api.file_url(bot.token, file.file_path)
            # On the downloads' own pool: the exit and every other call never wait behind it.
            return await self.downloads.fetch(url, self.max_attachment_bytes)
        except TooLarge:
            return Notice(TOO_BIG, mb)
        except Exception as exc:  # the network or the file: she can simply send it again
            incidents.note("evidence not downloaded", exc)
            return Notice(FAILED)

    def _refuses_file(self, session: Session, size: int) -> Notice | None:
        """Why a file of ``size`` bytes cannot join her draft now: it would not fit one report
        beside the files she added, or the files held for everyone's drafts are at their cap."""
        sizes = [len(a.data) for a in session.attachments.values()]
        if not files_fit([*sizes, size]):
            incidents.note("file refused: over one report's total")
            return Notice(
                OVER_TOTAL,
                {"total_mb": total_files_bytes() // MIB, "left_mb": room_left(sizes) // MIB},
            )
        if not self.memory.fits(size):
            incidents.note("file refused: evidence memory full")
            return Notice(MEMORY_FULL)
        return None

    def review(self, session: Session) -> str:
        """The draft's answers as escaped HTML lines, never repeating her typed words."""
        lang = language_of(session)
        answers = answers_of(session.state, REPORT_FLOW)
        lines: list[str] = []
        for screen in self.book.flows[REPORT_FLOW].screens.values():
            question = screen.question
            if question is None or question.title is None:
                continue
            value = answers.get(question.field)
            shown = self._value(lang, question.kind, question.options, value)
            title = self.translator.text(lang, question.title)
            lines.append(f"<b>{html.escape(title)}:</b> {shown}")
        return "\n".join(lines)

    def _value(
        self,
        lang: str | None,
        kind: QuestionKind,
        options: tuple[Option, ...],
        value: Answer | None,
    ) -> str:
        t = self.translator.text
        if value is None or value == () or value == "":
            return f"<i>{html.escape(t(lang, NONE))}</i>"
        if kind is QuestionKind.MEDIA:
            return html.escape(t(lang, FILES, {"count": len(value)}))
        if kind is QuestionKind.TEXT:
            return html.escape(t(lang, CHARACTERS, {"count": len(value)}))
        labels = {o.value: o.label for o in options}
        chosen = (value,) if isinstance(value, str) else value
        return html.escape(", ".join(t(lang, labels[v]) for v in chosen if v in labels))

    async def submit(self, session: Session, effect: Submit) -> None:
        """Seal and commit the draft; returns only once it is durably stored. Raises
        :class:`ReportRefused` when a limit says no (her account's hourly limit, everyone's
        daily allowance, the vault's budget, the disk), with what she reads."""
        now = session.last_seen  # the store's clock, at this update
        if self.quota.full(session.chat_id, now):
            incidents.note("report refused: hourly limit of one account")
            minutes = self.quota.minutes_until_next(session.chat_id, now)
            notice = Notice(HOURLY_LIMIT, {"count": self.quota.per_hour, "minutes": minutes})
            raise ReportRefused(notice)
        if self.quota.full_for_the_day(session.chat_id, now):
            incidents.note("report refused: daily limit of one account")
            raise ReportRefused(Notice(ACCOUNT_DAILY_LIMIT, {"count": self.quota.per_day}))
        today = self.vault.today()
        if not self.daily.take(today):
            incidents.note("report refused: daily allowance used up")
            raise ReportRefused(Notice(DAILY_LIMIT))
        try:
            await self._store(session, effect)
        except BaseException as exc:  # not stored: today's allowance is not spent
            self.daily.give_back(today)
            if isinstance(exc, VaultFull):
                raise self._refusal(session, exc) from None
            raise
        self.quota.record(session.chat_id, now)

    def _refusal(self, session: Session, full: VaultFull) -> ReportRefused:
        """What she reads when the vault has no room; counted for the operator's log."""
        incidents.note(f"report refused: vault full ({full.reason})")
        if full.reason == "words_only" and session.attachments:
            # Her words still fit: take the files out of the draft (the review then shows none)
            # and let her decide whether to send it so.
            self._drop_files(session)
            return ReportRefused(Notice(WORDS_ONLY))
        return ReportRefused(Notice(VAULT_FULL))

    def _drop_files(self, session: Session) -> None:
        media = _media_fields(self.book, REPORT_FLOW)
        answers = dict(session.state.answers)
        answers[REPORT_FLOW] = MappingProxyType(
            {k: v for k, v in answers.get(REPORT_FLOW, {}).items() if k not in media}
        )
        session.state = replace(session.state, answers=MappingProxyType(answers))
        session.drop_attachments()

    async def _store(self, session: Session, effect: Submit) -> None:
        report = Report(
            language=session.state.locale or "",
            answers=_plain_answers(self.book, effect),
            attachments=[
                session.attachments[t]
                for t in _tokens(self.book, effect)
                if t in session.attachments
            ],
            received_day=self.vault.today().isoformat(),
        )
        report_id = await self.vault.store(report)
        # She may take a receipt for it on the next screen (bot/followup.py); memory only.
        session.receipt_offer = report_id.value


def _media_fields(book: Book, flow: str) -> set[str]:
    return {
        s.question.field
        for s in book.flows[flow].screens.values()
        if s.question is not None and s.question.kind is QuestionKind.MEDIA
    }


def _plain_answers(book: Book, effect: Submit) -> dict[str, str | list[str]]:
    media = _media_fields(book, effect.flow)
    return {
        k: (v if isinstance(v, str) else list(v))
        for k, v in effect.answers.items()
        if k not in media
    }


def _tokens(book: Book, effect: Submit) -> list[str]:
    media = _media_fields(book, effect.flow)
    out: list[str] = []
    for field in sorted(media):
        value: Answer | None = effect.answers.get(field)
        if isinstance(value, tuple):
            out.extend(value)
    return out
