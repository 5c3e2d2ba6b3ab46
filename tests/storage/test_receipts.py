"""Receipts: 16 digits from the CSPRNG, read back however she types them, and derived into a
lookup id and a reply key that depend on every digit and on the installation's salt."""

from __future__ import annotations

import pytest

from storage.receipts import (
    BadReceipt,
    Receipt,
    derive,
    insecure_receipt_cost,
    new_receipt,
    new_salt,
    parse_receipt,
)

CHEAP = insecure_receipt_cost()


def test_a_new_receipt_is_sixteen_digits_in_groups_of_four() -> None:
    receipts = {new_receipt().digits for _ in range(200)}
    assert len(receipts) == 200
    for digits in receipts:
        assert len(digits) == 16 and digits.isascii() and digits.isdigit()
    shown = Receipt("0000123456789012").shown
    assert shown == "0000 1234 5678 9012"  # leading zeros kept: every code is 16 digits


def test_repr_never_shows_the_digits() -> None:
    receipt = Receipt("4821773019560342")
    assert "4821" not in repr(receipt)
    keys = derive(receipt, new_salt(), CHEAP)
    assert keys.lookup_id.hex() not in repr(keys)


@pytest.mark.parametrize(
    "typed",
    [
        "4821773019560342",
        "4821 7730 1956 0342",
        "+4821-7730-1956-0342",
        "(4821) 7730.1956\u00a00342",
        " 4821\u20137730\u20141956\u22120342 \n",
        "\uff14\uff18\uff12\uff11 \uff17\uff17\uff13\uff10 \uff11\uff19\uff15\uff16 \uff10\uff13\uff14\uff12",
        "\u0664\u0668\u0662\u0661\u0667\u0667\u0663\u0660\u0661\u0669\u0665\u0666\u0660\u0663\u0664\u0662",
        "\u096a\u096e\u0968\u0967 7730 1956 0342",
    ],
)
def test_typed_receipts_are_normalised(typed: str) -> None:
    assert parse_receipt(typed).digits == "4821773019560342"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "482177301956034",
        "48217730195603421",
        "4821 7730 1956 034O",
        "a" * 16,
        "4821 7730 1956 0342 #",
        "hello",
    ],
)
def test_anything_else_is_not_a_receipt(typed: str) -> None:
    with pytest.raises(BadReceipt):
        parse_receipt(typed)


def test_derivation_depends_on_every_digit_and_the_salt() -> None:
    salt = new_salt()
    base = derive(Receipt("4821773019560342"), salt, CHEAP)
    again = derive(Receipt("4821773019560342"), salt, CHEAP)
    assert base.lookup_id == again.lookup_id and base.public == again.public
    other_digit = derive(Receipt("4821773019560343"), salt, CHEAP)
    other_salt = derive(Receipt("4821773019560342"), new_salt(), CHEAP)
    for other in (other_digit, other_salt):
        assert other.lookup_id != base.lookup_id
        assert other.public != base.public
    assert len(base.lookup_id) == 32
    assert base.public.kind == "mlkem768x25519"
    assert base.lookup_id not in base.public.raw  # the lookup id is not a piece of the key


def test_a_salt_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(Exception, match="salt"):
        derive(Receipt("4821773019560342"), b"short", CHEAP)
