"""A small, strict Telegram Bot API server for tests, the offline sandbox and the benchmark.

It serves the real aiogram stack over loopback HTTP with Telegram's response shapes and limits,
keeps every chat as its user would see it, injects faults on cue and logs no message content.
See :class:`telegram_emulator.client.Emulator` for the API.
"""

from __future__ import annotations

from telegram_emulator.client import Emulator, LoopbackSession, SettleTimeout, SimGroup, SimUser
from telegram_emulator.clock import Clock
from telegram_emulator.faults import Fault, FaultPlan
from telegram_emulator.server import ApiCall
from telegram_emulator.state import PER_BOT, PER_CHAT, Numbering, StoredMessage

__all__ = [
    "PER_BOT",
    "PER_CHAT",
    "ApiCall",
    "Clock",
    "Emulator",
    "Fault",
    "FaultPlan",
    "LoopbackSession",
    "Numbering",
    "SettleTimeout",
    "SimGroup",
    "SimUser",
    "StoredMessage",
]
