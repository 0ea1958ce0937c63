"""Checking what someone asks for (form or command line) before it becomes a Subscriber.

One rule set for the web form, the preferences page and `wcofeed subscribers add`,
reporting every bad field at once so a form can show them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.errors import HeaderParseError
from email.headerregistry import Address
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wcofeed.config import Settings
from wcofeed.models import (
    FREQUENCIES,
    KINDS,
    FieldErrors,
    Subscriber,
    SubscriberStatus,
    is_slug,
)

MAX_LEAD_DAYS = 365


class SubscriptionError(FieldErrors):
    """Bad subscription fields."""


class AddressError(ValueError):
    """An email address that cannot be used."""


def normalise_email(text: str) -> str:
    """A plain `local@domain` address, or AddressError naming what is wrong."""
    value = text.strip()
    if not value or any(ord(c) < 32 or c in '<>,;"() ' for c in value):
        raise AddressError(f"{text!r}: not an email address")
    try:
        address = Address(addr_spec=value)
    except (ValueError, IndexError, HeaderParseError):
        raise AddressError(f"{text!r}: not an email address") from None
    if not address.domain or "." not in address.domain or not address.username:
        raise AddressError(f"{text!r}: not an email address (needs user@domain.tld)")
    return value


def mailbox_key(email: str) -> tuple[str, str]:
    """The mailbox and the domain an address delivers to, as someone flooding an inbox
    would vary it: case, a trailing dot on the domain, a `+tag`, dots in the local part
    (ignored by some providers, so counted as one here) all give the same mailbox."""
    local, _, domain = email.strip().rpartition("@")
    domain = domain.lower().rstrip(".")
    local = local.lower().split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}", domain


def parse_lead_days(text: str) -> tuple[int, ...]:
    """`14,3,1` -> (14, 3, 1); ValueError on anything else."""
    try:
        parts = text.replace(" ", "").split(",")
        days = sorted({int(part) for part in parts if part}, reverse=True)
    except ValueError:
        raise ValueError(f"{text!r}: give whole days separated by commas, e.g. 14,3,1") from None
    if not days or not all(0 < d <= MAX_LEAD_DAYS for d in days):
        raise ValueError(f"{text!r}: each lead time must be 1 to {MAX_LEAD_DAYS} days")
    return tuple(days)


def build_subscriber(
    settings: Settings,
    *,
    email: str,
    language: str,
    topics: Iterable[str] = (),
    kinds: Iterable[str] = (),
    lead_days: str = "",
    digest: str = "off",
    timezone: str = "",
    name: str = "",
    status: SubscriberStatus = "pending",
) -> Subscriber:
    """A valid Subscriber, or SubscriptionError naming every bad field."""
    errors: dict[str, str] = {}
    try:
        email = normalise_email(email)
    except AddressError as exc:
        errors["email"] = str(exc)
    if language not in settings.site.languages:
        errors["language"] = f"{language!r} is not one of {', '.join(settings.site.languages)}"
    topic_list = tuple(sorted(set(topics)))
    known = set(settings.topics)
    bad = [t for t in topic_list if not is_slug(t) or (known and t not in known)]
    if bad:
        errors["topics"] = f"unknown topics: {', '.join(bad)}"
    kind_list = tuple(sorted(set(kinds)))
    if any(k not in KINDS for k in kind_list):
        errors["kinds"] = f"kinds must be among {', '.join(KINDS)}"
    leads: tuple[int, ...] = tuple(settings.email.lead_days)
    if lead_days:
        try:
            leads = parse_lead_days(lead_days)
        except ValueError as exc:
            errors["lead_days"] = str(exc)
    if digest not in FREQUENCIES:
        errors["digest"] = f"{digest!r} is not one of {', '.join(FREQUENCIES)}"
    zone = timezone or settings.site.timezone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = f"unknown time zone {zone!r}"
    if errors:
        raise SubscriptionError(errors)
    return Subscriber(
        email=email,
        language=language,
        topics=topic_list,
        kinds=kind_list,
        lead_days=leads,
        digest=digest,  # type: ignore[arg-type]
        timezone=zone,
        name=" ".join(name.split())[:200],
        status=status,
    )
