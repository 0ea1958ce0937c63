"""Signed tokens for the links in emails: confirm, unsubscribe, preferences.

A token carries its purpose, the address and an expiry (none for unsubscribe, which
must keep working in an old email), signed with HMAC-SHA256 under a key derived from
`security.secret_key` and the purpose. Changing any part, or using a token for
another purpose or address, breaks the signature; comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from wcofeed.config import SECRET_MIN_LENGTH
from wcofeed.i18n import N_, LocalisedError

Purpose = Literal["confirm", "unsubscribe", "preferences"]
PURPOSES: tuple[Purpose, ...] = ("confirm", "unsubscribe", "preferences")

#: How long a link stays valid; None: forever.
LIFETIMES: dict[Purpose, timedelta | None] = {
    "confirm": timedelta(days=7),
    "unsubscribe": None,
    "preferences": timedelta(days=90),
}


class TokenError(LocalisedError):
    """A token that is malformed, forged, expired or meant for something else."""


class MissingSecretError(RuntimeError):
    """Signing was needed but `security.secret_key` is empty."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    purpose: Purpose
    email: str
    expires: datetime | None


class Signer:
    """Makes and checks tokens under one secret."""

    def __init__(self, secret: str) -> None:
        if not secret or len(secret) < SECRET_MIN_LENGTH:
            raise MissingSecretError(
                f"security.secret_key is empty or shorter than {SECRET_MIN_LENGTH} characters: set "
                "WCOFEED_SECURITY_SECRET_KEY (e.g. to the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        self._key = hashlib.sha256(b"wcofeed-email-links\0" + secret.encode()).digest()
        # Keyed once and copied per token: `hmac.digest` releases the GIL, and taking it
        # back next to the store's threads cost a round more than all its rendering.
        self._mac = hmac.new(self._key, digestmod=hashlib.sha256)

    def make(self, purpose: Purpose, email: str, now: datetime) -> str:
        lifetime = LIFETIMES[purpose]
        expires = "" if lifetime is None else str(int((now + lifetime).timestamp()))
        address = _b64(email.strip().lower().encode())
        body = f"{purpose}.{address}.{expires}"
        return f"{body}.{self._sign(body)}"

    def check(self, token: str, purpose: Purpose, now: datetime) -> TokenClaims:
        """The claims of a valid token for `purpose`, else TokenError saying why."""
        parts = token.split(".")
        if len(parts) != 4:
            raise TokenError(N_("malformed link"))
        got_purpose, address, expires, signature = parts
        body = f"{got_purpose}.{address}.{expires}"
        # compared as bytes: compare_digest refuses str with non-ASCII characters
        given = signature.encode(errors="surrogateescape")
        if not hmac.compare_digest(self._sign(body).encode(), given):
            raise TokenError(N_("the link's signature is not valid"))
        if got_purpose != purpose:
            raise TokenError(
                N_("this link is for %(got)s, not %(wanted)s"),
                got=repr(got_purpose),
                wanted=repr(purpose),
            )
        expiry = datetime.fromtimestamp(int(expires), UTC) if expires else None
        if expiry is not None and now >= expiry:
            raise TokenError(N_("the link has expired"))
        try:
            email = base64.urlsafe_b64decode(address + "=" * (-len(address) % 4)).decode()
        except ValueError:
            raise TokenError(N_("malformed link")) from None
        return TokenClaims(purpose, email, expiry)

    def _sign(self, body: str) -> str:
        mac = self._mac.copy()
        mac.update(body.encode())
        return _b64(mac.digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
