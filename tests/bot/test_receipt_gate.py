"""The receipt gate: wrong receipts counted per chat and for everyone within the hour, and
Argon2id run off the event loop, never more at once than the cap, with a bounded queue."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import bot.receipt_gate as gate_module
from bot.receipt_gate import PAUSED, TOO_MANY, GateBusy, ReceiptGate
from storage.receipts import RECEIPT_COST, Receipt, ReceiptCost, ReceiptKeys, derive, new_salt


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_wrong_receipts_are_limited_per_chat_and_for_everyone_for_an_hour() -> None:
    clock = Clock()
    gate = ReceiptGate(per_chat=3, per_hour=5, clock=clock)
    for _ in range(3):
        assert gate.refusal(1) is None
        gate.wrong(1)
    assert gate.refusal(1) == TOO_MANY
    assert gate.refusal(2) is None
    gate.wrong(2)
    gate.wrong(3)
    assert gate.refusal(4) == PAUSED  # five wrong in the hour, from three chats
    clock.now = 3599.0
    assert gate.refusal(1) == TOO_MANY
    clock.now = 3600.5
    assert gate.refusal(1) is None and gate.refusal(4) is None


def test_the_count_does_not_keep_the_chat_id() -> None:
    gate = ReceiptGate()
    gate.wrong(987654321)
    assert all(b"987654321" not in tag for tag in gate._wrong_by_chat)


async def test_derivations_run_off_the_loop_at_most_workers_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running, most, lock = 0, 0, threading.Lock()

    def counted(receipt: Receipt, salt: bytes, cost: ReceiptCost) -> ReceiptKeys:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            return derive(receipt, salt, cost)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(gate_module, "derive", counted)
    gate = ReceiptGate(cost=RECEIPT_COST, workers=2)
    salt = new_salt()
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beating = asyncio.create_task(heartbeat())
    started = time.monotonic()
    keys = await asyncio.gather(*(gate.derive(Receipt(f"{n:016d}"), salt) for n in range(6)))
    took = time.monotonic() - started
    beating.cancel()
    assert most == 2
    assert len({k.lookup_id for k in keys}) == 6
    # The loop kept turning while 64 MiB Argon2id ran: far more beats than a blocked loop gives.
    assert ticks >= took / 0.01 / 4


async def test_past_the_queue_she_is_asked_to_come_back() -> None:
    gate = ReceiptGate(cost=RECEIPT_COST, workers=1, max_waiting=2)
    salt = new_salt()
    first = [asyncio.create_task(gate.derive(Receipt(f"{n:016d}"), salt)) for n in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(GateBusy):
        await gate.derive(Receipt("0" * 16), salt)
    await asyncio.gather(*first)
    await gate.derive(Receipt("0" * 16), salt)  # room again
