"""Checking what someone asks for (form or command line) before it becomes a Subscriber.

One rule set for the web form, the preferences page and `wcofeed subscribers add`,
reporting every bad field at once so a form can show them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wcofeed.config import Settings
from wcofeed.digest.render import AddressError, normalise_email
from wcofeed.models import KINDS, DigestFrequency, Subscriber, SubscriberStatus

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FREQUENCIES: tuple[DigestFrequency, ...] = ("off", "daily", "weekly")
MAX_LEAD_DAYS = 365


class SubscriptionError(ValueError):
    """Bad subscription fields; `errors` maps each field to what is wrong."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


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
    bad = [t for t in topic_list if not _SLUG.match(t) or (known and t not in known)]
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
