"""Signed links: they work for their purpose and address only, and expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wcofeed.digest.tokens import MissingSecretError, Signer, TokenError

NOW = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)
signer = Signer("a-long-enough-secret-for-tests")


def test_a_token_round_trips_purpose_and_address() -> None:
    token = signer.make("confirm", "Ana@Example.org", NOW)
    claims = signer.check(token, "confirm", NOW + timedelta(days=6))
    assert (claims.purpose, claims.email) == ("confirm", "ana@example.org")
    assert claims.expires == NOW + timedelta(days=7)


def test_unsubscribe_tokens_never_expire() -> None:
    token = signer.make("unsubscribe", "ana@example.org", NOW)
    assert signer.check(token, "unsubscribe", NOW + timedelta(days=3650)).expires is None


def test_expired_token_is_rejected() -> None:
    token = signer.make("confirm", "ana@example.org", NOW)
    with pytest.raises(TokenError, match="expired"):
        signer.check(token, "confirm", NOW + timedelta(days=7, seconds=1))


def test_token_for_another_purpose_is_rejected() -> None:
    token = signer.make("preferences", "ana@example.org", NOW)
    with pytest.raises(TokenError, match="not 'unsubscribe'"):
        signer.check(token, "unsubscribe", NOW)


@pytest.mark.parametrize("part", [1, 2])
def test_swapping_address_or_expiry_breaks_the_signature(part: int) -> None:
    mine = signer.make("preferences", "ana@example.org", NOW).split(".")
    other = signer.make("preferences", "bo@example.org", NOW + timedelta(days=1)).split(".")
    mine[part] = other[part]
    with pytest.raises(TokenError, match="signature"):
        signer.check(".".join(mine), "preferences", NOW)


def test_purpose_cannot_be_relabelled() -> None:
    parts = signer.make("confirm", "ana@example.org", NOW).split(".")
    parts[0] = "unsubscribe"
    with pytest.raises(TokenError, match="signature"):
        signer.check(".".join(parts), "unsubscribe", NOW)


def test_token_signed_with_another_secret_is_rejected() -> None:
    forged = Signer("some-other-secret-of-length").make("unsubscribe", "ana@example.org", NOW)
    with pytest.raises(TokenError, match="signature"):
        signer.check(forged, "unsubscribe", NOW)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c.d.e", "confirm..."])
def test_malformed_tokens_are_rejected(token: str) -> None:
    with pytest.raises(TokenError):
        signer.check(token, "confirm", NOW)


def test_an_empty_secret_refuses_to_sign() -> None:
    with pytest.raises(MissingSecretError, match="WCOFEED_SECURITY_SECRET_KEY"):
        Signer("")
