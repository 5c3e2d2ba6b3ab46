"""A small, strict Telegram Bot API server for tests, the offline sandbox and the benchmark.

It serves the real aiogram stack over loopback HTTP with Telegram's response shapes and limits,
keeps every chat as its user would see it, injects faults on cue and logs no message content.
See :class:`bot.emulator.client.Emulator` for the API.
"""

from __future__ import annotations

from bot.emulator.client import Emulator, LoopbackSession, SettleTimeout, SimGroup, SimUser
from bot.emulator.clock import Clock
from bot.emulator.faults import Fault, FaultPlan
from bot.emulator.server import ApiCall
from bot.emulator.state import StoredMessage

__all__ = [
    "ApiCall",
    "Clock",
    "Emulator",
    "Fault",
    "FaultPlan",
    "LoopbackSession",
    "SettleTimeout",
    "SimGroup",
    "SimUser",
    "StoredMessage",
]
