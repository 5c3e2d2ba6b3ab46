"""New-report alerts for the staff: one short note to one staff chat, at most once a period.

"New since 20 November: 3." Never one note per report (its time would tell when she wrote), and
never anything about a report but the count, which comes from the vault (reports received on the
days since the last note), not from any memory of who reported. Days are the vault's UTC days;
the first note after a start covers the day of the start, so a restart never sends a note twice.
"""

from __future__ import annotations

from datetime import date, timedelta

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot import incidents
from bot.sessions import UNRECORDED
from flows.catalog import N_, Translator
from storage import Vault

NEW_REPORTS = N_("alert.new_reports")


class NewReportAlerts:
    """Counts the days since the last note and sends the next one when a period has passed."""

    def __init__(
        self,
        vault: Vault,
        *,
        chat_id: int,
        period_days: int,
        translator: Translator,
        language: str,
    ) -> None:
        self.vault = vault
        self.chat_id = chat_id
        self.period = timedelta(days=period_days)
        self.translator = translator
        self.language = language
        # Every day before the start counts as told: a note covers whole days the bot ran.
        self.covered_through: date = vault.today() - timedelta(days=1)

    async def maybe_send(self, bot: Bot) -> int | None:
        """Send the note if a period of whole days ended since the last; returns the count sent
        (None when it is not yet time, 0 when there was nothing new and nothing was sent)."""
        first = self.covered_through + timedelta(days=1)
        last = self.vault.today() - timedelta(days=1)
        if last - first + timedelta(days=1) < self.period:
            return None
        count = await self.vault.count_received(first, last)
        self.covered_through = last  # at most once a period, even if the send below fails
        if count == 0:
            return 0
        text = self.translator.text(
            self.language, NEW_REPORTS, {"count": count, "day": first.isoformat()}
        )
        # Not a conversation's message: it must not be recorded for (or wiped by) any session.
        token = UNRECORDED.set(True)
        try:
            await bot.send_message(chat_id=self.chat_id, text=text, disable_notification=False)
        except TelegramAPIError as exc:
            incidents.note("staff alert not sent", exc)
        finally:
            UNRECORDED.reset(token)
        return count
