"""The report quotas keep no chat id, forget what is a day old, and reset each day."""

from __future__ import annotations

from datetime import date

from bot.quota import DAY, HOUR, AccountQuota, DailyAllowance

CHAT = 5_123_456_789


def test_the_table_names_no_chat_id_and_the_hourly_limit_lifts_after_the_hour() -> None:
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
    quota.recent(CHAT + 1, DAY + 30.0)  # any look at the table expires what is a day old
    assert len(quota) == 0


def test_the_daily_allowance_counts_what_was_stored_and_starts_again_each_day() -> None:
    daily = DailyAllowance(per_day=2)
    monday, tuesday = date(2026, 11, 30), date(2026, 12, 1)
    assert daily.take(monday) and daily.take(monday)
    assert not daily.take(monday)
    daily.give_back(monday)  # one was not stored after all
    assert daily.take(monday) and not daily.take(monday)
    assert daily.take(tuesday)


def test_an_account_is_held_to_its_days_worth_and_forgotten_after_24_hours() -> None:
    quota = AccountQuota(per_hour=3, per_day=4)
    for t in (0.0, 2 * HOUR, 4 * HOUR, 6 * HOUR):
        quota.record(CHAT, t)
    now = 8 * HOUR
    assert not quota.full(CHAT, now)  # the hour has room...
    assert quota.full_for_the_day(CHAT, now)  # ...her day does not
    assert not quota.full_for_the_day(CHAT + 1, now)
    assert not quota.full_for_the_day(CHAT, DAY + 0.5)  # the first aged out
    quota.recent(CHAT + 1, DAY + 6 * HOUR + 1)  # any look at the table expires what is old
    assert len(quota) == 0
