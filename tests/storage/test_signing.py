"""The signed-request contract's pieces that the API tests do not reach: the nonce cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.signing import BadSignature, NonceCache

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_a_nonce_is_refused_while_its_signature_could_still_be_accepted() -> None:
    cache = NonceCache()
    cache.check_and_remember("a" * 20, NOW + timedelta(seconds=60), NOW)
    with pytest.raises(BadSignature, match="replayed"):
        cache.check_and_remember("a" * 20, NOW + timedelta(seconds=60), NOW + timedelta(seconds=64))
    # Past expiry plus skew, the signature itself is refused as stale: the nonce can be forgotten.
    cache.check_and_remember("b" * 20, NOW + timedelta(seconds=200), NOW + timedelta(seconds=66))
    assert len(cache) == 1


def test_the_cache_is_bounded_and_fails_closed() -> None:
    cache = NonceCache(capacity=3)
    for n in range(3):
        cache.check_and_remember(f"nonce-{n:016d}", NOW + timedelta(seconds=60), NOW)
    with pytest.raises(BadSignature, match="full"):
        cache.check_and_remember("one-more-nonce-000", NOW + timedelta(seconds=60), NOW)
    later = NOW + timedelta(seconds=70)
    cache.check_and_remember("one-more-nonce-000", later + timedelta(seconds=60), later)
    assert len(cache) == 1
