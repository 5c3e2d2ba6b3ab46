"""Callback data stays within Telegram's 64 bytes, and user text is never read as markup."""

from __future__ import annotations

from bot.render import QuickExit, Tap, exit_anchor, exit_data, tap_data
from bot.sessions import new_nonce


def test_the_widest_callback_data_fits_in_64_bytes() -> None:
    # The checker allows at most 100 buttons, so an index has at most two digits.
    widest = tap_data(new_nonce(), 99)
    assert len(widest.encode()) <= 64
    widest_exit = exit_data(2**63 - 1)
    assert len(widest_exit.encode()) <= 64
    assert exit_data(41) == QuickExit(a=41).pack() == "x:41"


def test_an_exit_button_gives_back_its_anchor_and_nothing_else_passes_for_one() -> None:
    assert exit_anchor(exit_data(12345)) == 12345
    assert exit_anchor("x") == 0  # a button from before anchors
    for other in (
        None,
        "",
        "x:",
        "x:-1",
        "x:1e3",
        "x:²",
        "x:1٣",
        "t:abc:1",
        "xx:1",
        "x:" + "9" * 20,
    ):
        assert exit_anchor(other) is None


def test_a_tap_is_packed_as_aiogram_packs_it_and_reads_back() -> None:
    for _ in range(500):
        nonce = new_nonce()
        for index in (0, 7, 99):
            data = tap_data(nonce, index)
            assert data == Tap(n=nonce, i=index).pack()
            assert Tap.unpack(data) == Tap(n=nonce, i=index)


def test_nonces_are_unguessable_and_short() -> None:
    nonces = {new_nonce() for _ in range(1000)}
    assert len(nonces) == 1000 and all(len(n) == 8 for n in nonces)
