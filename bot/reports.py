"""The bot's side of anonymous reports: evidence capture, the review, the hand-over to the vault.

A draft lives in the session only (answers in the engine state, attachment bytes in memory). On
"Send" it becomes a :class:`storage.Report`, is sealed to the caseworkers' keys and committed; she
is told "received" only after the commit.
"""

from __future__ import annotations

import html
import io
import logging
import secrets
from dataclasses import dataclass
from datetime import date

from aiogram import Bot
from aiogram.types import Message

from bot import incidents
from bot.config import Settings
from bot.render import language_of
from bot.sessions import Session
from flows.catalog import N_, Translator
from flows.engine import Answer, Notice, Submit, answers_of
from flows.loader import Book
from flows.schema import Option, QuestionKind
from storage import Attachment, PublicKey, Report, Vault, load_recipients
from storage.keys import mixed_kinds, require_one_kind

log = logging.getLogger(__name__)

REPORT_FLOW = "report"
TOO_BIG = N_("report.attachment_too_big")
FAILED = N_("report.attachment_failed")
WRONG_KIND = N_("report.attachment_kind")
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
            doc.mime_type or "application/octet-stream",
            doc.file_name or "document",
        )
    if message.voice is not None:
        voice = message.voice
        return Evidence(
            voice.file_id, voice.file_size, "voice", voice.mime_type or "audio/ogg", "voice.ogg"
        )
    return None


def recipients_from(settings: Settings) -> list[PublicKey]:
    """The caseworkers' keys from ``REPORT_RECIPIENTS``, each logged with its fingerprint so the
    operator can compare it with what the caseworker reads out; a mix of kinds only by name."""
    recipients = load_recipients(settings.report_recipients)
    require_one_kind(recipients, allow_mixed=settings.allow_mixed_recipient_keys)
    for number, key in enumerate(recipients, start=1):
        log.warning(
            "recipient %d of %d: %s key, fingerprint %s",
            number,
            len(recipients),
            key.kind,
            key.fingerprint,
        )
    if mixed_kinds(recipients):
        log.warning(
            "ALLOW_MIXED_RECIPIENT_KEYS: hybrid and X25519 keys side by side; an X25519 key alone"
            " opens every report, so no report has post-quantum protection"
        )
    elif recipients[0].kind == "x25519":
        log.warning("every recipient key is X25519: reports have no post-quantum protection")
    return recipients


class ReportDesk:
    """Reports for one bot: the vault, evidence limits, the review text."""

    def __init__(
        self, *, vault: Vault, book: Book, translator: Translator, max_attachment_bytes: int
    ) -> None:
        self.vault = vault
        self.book = book
        self.translator = translator
        self.max_attachment_bytes = max_attachment_bytes
        self._purged_on: date | None = None

    @classmethod
    async def open(cls, settings: Settings, *, book: Book, translator: Translator) -> ReportDesk:
        """Open the vault named by ``settings``; purge what has expired."""
        recipients = recipients_from(settings)
        settings.vault_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        vault = await Vault.open(
            settings.vault_path, recipients=recipients, retention_days=settings.retention_days
        )
        desk = cls(
            vault=vault,
            book=book,
            translator=translator,
            max_attachment_bytes=settings.max_attachment_mb * 1024 * 1024,
        )
        await desk.purge_expired()
        return desk

    async def close(self) -> None:
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
        """Placeholders the evidence screen shows: the per-file size and the count limit."""
        counts = [
            s.question.max_items
            for s in self.book.flows[REPORT_FLOW].screens.values()
            if s.question is not None and s.question.max_items
        ]
        return {
            "max_mb": f"{self.max_attachment_bytes // (1024 * 1024)}",
            "max_files": f"{min(counts, default=0)}",
        }

    async def take_evidence(self, bot: Bot, session: Session, message: Message) -> str | Notice:
        """Download the evidence in ``message`` into the draft; a handle for it, or why not."""
        evidence = evidence_of(message)
        if evidence is None:
            return Notice(WRONG_KIND)
        mb = {"max_mb": self.max_attachment_bytes // (1024 * 1024)}
        if evidence.size is not None and evidence.size > self.max_attachment_bytes:
            return Notice(TOO_BIG, mb)
        buffer = io.BytesIO()
        try:
            file = await bot.get_file(evidence.file_id)
            if file.file_path is None:
                return Notice(FAILED)
            await bot.download_file(file.file_path, destination=buffer)
        except Exception as exc:  # the network or the file: she can simply send it again
            incidents.note("evidence not downloaded", exc)
            return Notice(FAILED)
        data = buffer.getvalue()
        if len(data) > self.max_attachment_bytes:
            return Notice(TOO_BIG, mb)
        token = secrets.token_hex(4)
        session.attach(
            token, Attachment(kind=evidence.kind, mime=evidence.mime, name=evidence.name, data=data)
        )
        return token

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
        """Seal and commit the draft; returns only once it is durably stored."""
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
        await self.vault.store(report)


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
