"""The report quotas keep no chat id, forget what is an hour old, and reset each day."""

from __future__ import annotations

from datetime import date

from bot.quota import HOUR, AccountQuota, DailyAllowance

CHAT = 5_123_456_789


def test_the_hourly_table_names_no_chat_id_and_forgets_after_the_hour() -> None:
    quota = AccountQuota(per_hour=3)
    for t in (0.0, 10.0, 20.0):
        quota.record(CHAT, t)
    assert quota.full(CHAT, 30.0) and not quota.full(CHAT + 1, 30.0)
    assert quota.minutes_until_next(CHAT, 30.0) == 60
    # Keyed by an HMAC under a key made at start: neither the id nor a plain hash of it.
    (name,) = quota._sent
    assert str(CHAT).encode() not in name and CHAT.to_bytes(8, "big") not in name
    assert name not in AccountQuota()._sent and AccountQuota()._name(CHAT) != name
    assert not quota.full(CHAT, HOUR + 0.5)  # the first aged out
    assert len(quota) == 1
    quota.recent(CHAT + 1, HOUR + 30.0)  # any look at the table expires what is old
    assert len(quota) == 0


def test_the_daily_allowance_counts_what_was_stored_and_starts_again_each_day() -> None:
    daily = DailyAllowance(per_day=2)
    monday, tuesday = date(2026, 11, 30), date(2026, 12, 1)
    assert daily.take(monday) and daily.take(monday)
    assert not daily.take(monday)
    daily.give_back(monday)  # one was not stored after all
    assert daily.take(monday) and not daily.take(monday)
    assert daily.take(tuesday)
