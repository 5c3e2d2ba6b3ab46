"""The bot's side of follow-up: a receipt after a report, and what a receipt opens later.

Services the flows name (flows/content/report.yaml, followup.yaml), each returning where to go
and what to say:

- ``take_receipt``: on the "received" screen, a fresh receipt for the report just sent; only its
  lookup id and public reply key reach the vault. The receipt stays in the session until its
  screen is drawn once (:meth:`Followup.receipt`), then nowhere.
- ``open_receipt``: what she typed on the code screen (her message is deleted at once). Limited
  and derived by :class:`bot.receipt_gate.ReceiptGate`; the session keeps the report id and the
  reply key's seed, never the receipt, until exit or idle.
- ``refresh_case``, ``delete_case``: read the case again; delete it with everything in it.

Writing back is the ``followup`` flow's submit (:meth:`Followup.submit`): her words and files,
under the same limits as a report's, sealed to the caseworkers.
"""

from __future__ import annotations

import asyncio
import html
import logging

from bot import incidents
from bot.conversation import ReportRefused, ServiceFn, ServiceResult
from bot.receipt_gate import BUSY, GateBusy, ReceiptGate
from bot.render import language_of
from bot.sessions import Session
from flows.catalog import N_, Translator
from flows.engine import Notice, Service, Submit
from storage import Report, ReportId, Vault, VaultError, VaultFull
from storage.followups import Case, Followups, read_thread
from storage.keys import PrivateKey
from storage.receipts import REPLY_KEY_KIND, BadReceipt, new_receipt, parse_receipt

log = logging.getLogger(__name__)

FOLLOWUP_FLOW = "followup"
MESSAGE_FIELD, FILES_FIELD = "message", "files"
UNAVAILABLE = N_("followup.receipt.unavailable")
SHOWN_ONCE = N_("followup.receipt.once")
FORMAT = N_("followup.code.format")
WRONG = N_("followup.code.wrong")
GONE = N_("followup.gone")
FULL = N_("followup.message.full")
EMPTY = N_("followup.message.empty")
VAULT_FULL = N_("report.limit.full")
STATUS_LINE = N_("followup.thread.status")
NO_REPLIES = N_("followup.thread.none")
REPLY_HEAD = N_("followup.thread.reply")
EARLIER = N_("followup.thread.earlier")
STATUS_WORDS = {
    "received": N_("followup.status.received"),
    "reading": N_("followup.status.reading"),
    "answered": N_("followup.status.answered"),
    "closed": N_("followup.status.closed"),
}
# Characters of replies one screen shows (Telegram takes 4096 in all): the newest first kept.
REPLIES_ROOM = 3000
# Draws of a receipt before giving up (a lookup id taken twice is a once-in-never event).
RECEIPT_DRAWS = 3


class Followup:
    """Receipts and cases for one bot, over its vault."""

    def __init__(self, *, vault: Vault, translator: Translator, gate: ReceiptGate) -> None:
        self.followups = Followups(vault)
        self.vault = vault
        self.translator = translator
        self.gate = gate

    def services(self) -> dict[str, ServiceFn]:
        """The services by the names the flows give them."""
        return {
            "take_receipt": self.take_receipt,
            "open_receipt": self.open_receipt,
            "refresh_case": self.refresh_case,
            "delete_case": self.delete_case,
        }

    # Services -------------------------------------------------------------------------------

    async def take_receipt(self, session: Session, effect: Service) -> ServiceResult:
        """A receipt for the report she just sent, kept beside it by what it derives."""
        if session.receipt_shown is not None:
            return effect.then, None  # drawn, but its screen never reached her: that one again
        if session.receipt_offer is None:
            return None, Notice(UNAVAILABLE)
        report_id = ReportId(session.receipt_offer)
        salt = await self.followups.salt()
        for _ in range(RECEIPT_DRAWS):
            receipt = new_receipt()
            try:
                keys = await self.gate.derive(receipt, salt)
            except GateBusy:
                return None, Notice(BUSY)
            try:
                await self.followups.attach(report_id, keys)
            except VaultError:
                continue
            session.receipt_offer = None
            session.receipt_shown = receipt.shown
            return effect.then, None
        session.receipt_offer = None
        return None, Notice(UNAVAILABLE)

    async def open_receipt(self, session: Session, effect: Service) -> ServiceResult:
        """What she typed: refused by a limit, not a receipt, wrong, or her case opened."""
        refused = self.gate.refusal(session.chat_id)
        if refused is not None:
            incidents.note("receipt refused: limit")
            return None, Notice(refused)
        try:
            receipt = parse_receipt(effect.text or "")
        except BadReceipt:
            return None, Notice(FORMAT)
        try:
            keys = await self.gate.derive(receipt, await self.followups.salt())
        except GateBusy:
            incidents.note("receipt refused: derivations busy")
            return None, Notice(BUSY)
        case = await self.followups.find(keys.lookup_id)
        if case is None:
            self.gate.wrong(session.chat_id)
            incidents.note("receipt wrong")
            return None, Notice(WRONG)
        session.case = (case.report_id.value, keys.reply_key.raw)
        await self._load_thread(session, case)
        return effect.then, None

    async def refresh_case(self, session: Session, effect: Service) -> ServiceResult:
        """Read her case again (new replies, a new status)."""
        case = await self._case(session)
        if case is None:
            return "main.menu", Notice(GONE)
        await self._load_thread(session, case)
        return effect.then, None

    async def delete_case(self, session: Session, effect: Service) -> ServiceResult:
        """Delete her report and everything with it; forget the case."""
        case = await self._case(session)
        if case is not None:
            await self.followups.delete(case)
        session.forget_followup()
        return effect.then, None

    async def submit(self, session: Session, effect: Submit) -> None:
        """Seal what she wrote back and keep it beside her report. Raises `ReportRefused`."""
        case = await self._case(session)
        if case is None:
            raise ReportRefused(Notice(GONE))
        words = effect.answers.get(MESSAGE_FIELD)
        text = words if isinstance(words, str) else ""
        tokens = effect.answers.get(FILES_FIELD, ())
        files = [session.attachments[t] for t in tokens if t in session.attachments]
        if not text and not files:
            raise ReportRefused(Notice(EMPTY))
        message = Report(
            language=session.state.locale or "",
            answers={MESSAGE_FIELD: text} if text else {},
            attachments=files,
            received_day=self.vault.today().isoformat(),
        )
        try:
            await self.followups.add_message(case, message)
        except VaultFull as full:
            incidents.note(f"follow-up refused: {full.reason}")
            refusal = FULL if full.reason == "thread" else VAULT_FULL
            raise ReportRefused(Notice(refusal)) from None

    # Providers ------------------------------------------------------------------------------

    def receipt(self, session: Session) -> str:
        """The receipt, while the session holds it (:meth:`receipt_delivered` drops it)."""
        shown = session.receipt_shown
        if shown is None:
            return html.escape(self.translator.text(language_of(session), SHOWN_ONCE))
        return html.escape(shown)

    @staticmethod
    def receipt_delivered(session: Session) -> None:
        """The screen with the receipt reached her: shown once, it is gone from the session."""
        session.receipt_shown = None

    def thread(self, session: Session) -> str:
        """The status in plain words and the replies, newest kept when they do not all fit."""
        lang = language_of(session)
        t = self.translator.text
        status, replies = session.thread or ("received", ())
        words = t(lang, STATUS_WORDS.get(status, STATUS_WORDS["received"]))
        lines = [html.escape(t(lang, STATUS_LINE, {"status": words}))]
        if not replies:
            return "\n\n".join([*lines, html.escape(t(lang, NO_REPLIES))])
        shown: list[str] = []
        room = REPLIES_ROOM
        for day, text in reversed(replies):
            head = t(lang, REPLY_HEAD, {"day": html.escape(day)})
            if len(text) > room:
                if not shown:  # one reply longer than the screen: its beginning
                    shown.append(f"{head}\n{html.escape(text[:room])}…")
                break
            shown.append(f"{head}\n{html.escape(text)}")
            room -= len(text)
        if len(shown) < len(replies):
            lines.append(f"<i>{html.escape(t(lang, EARLIER))}</i>")
        return "\n\n".join([*lines, *reversed(shown)])

    # Internals ------------------------------------------------------------------------------

    async def _case(self, session: Session) -> Case | None:
        if session.case is None:
            return None
        return await self.followups.case_of(ReportId(session.case[0]))

    async def _load_thread(self, session: Session, case: Case) -> None:
        assert session.case is not None
        key = PrivateKey(kind=REPLY_KEY_KIND, raw=session.case[1])
        events = await self.followups.events(case)
        thread = await asyncio.to_thread(
            read_thread, events, case.report_id, key, self.vault.recipients
        )
        session.thread = (thread.status, tuple((r.day, r.text) for r in thread.replies))
