"""Checking what someone asks for (form or command line) before it becomes a Subscriber.

One rule set for the web form, the preferences page and `wcofeed subscribers add`,
reporting every bad field at once so a form can show them all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from email.errors import HeaderParseError
from email.headerregistry import Address
from functools import cache
from zoneinfo import available_timezones

from wcofeed.config import Settings
from wcofeed.i18n import N_, LocalisedError, Message
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
    """Bad subscription fields; `messages` says why for each, in any language."""

    def __init__(self, messages: dict[str, Message]) -> None:
        self.messages = messages
        super().__init__({name: str(message) for name, message in messages.items()})

    def in_language(self, language: str) -> dict[str, str]:
        return {name: message.in_language(language) for name, message in self.messages.items()}


class AddressError(LocalisedError):
    """An email address that cannot be used."""


class LeadDaysError(LocalisedError):
    """Reminder lead times that cannot be used."""


def normalise_email(text: str) -> str:
    """A plain `local@domain` address, or AddressError naming what is wrong."""
    value = text.strip()
    if not value or any(ord(c) < 32 or c in '<>,;"() ' for c in value):
        raise AddressError(N_("%(value)s: not an email address"), value=repr(text))
    try:
        address = Address(addr_spec=value)
    except (ValueError, IndexError, HeaderParseError):
        raise AddressError(N_("%(value)s: not an email address"), value=repr(text)) from None
    if not address.domain or "." not in address.domain or not address.username:
        raise AddressError(
            N_("%(value)s: not an email address (needs user@domain.tld)"), value=repr(text)
        )
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
    """`14,3,1` -> (14, 3, 1); LeadDaysError on anything else."""
    try:
        parts = text.replace(" ", "").split(",")
        days = sorted({int(part) for part in parts if part}, reverse=True)
    except ValueError:
        raise LeadDaysError(
            N_("%(value)s: give whole days separated by commas, e.g. 14,3,1"), value=repr(text)
        ) from None
    if not days or not all(0 < d <= MAX_LEAD_DAYS for d in days):
        raise LeadDaysError(
            N_("%(value)s: each lead time must be 1 to %(max)s days"),
            value=repr(text),
            max=MAX_LEAD_DAYS,
        )
    return tuple(days)


def with_content_languages(settings: Settings, subscriber: Subscriber) -> Subscriber:
    """The subscriber with their accepted content languages spelled out: as chosen, or
    by default their language and then its fallbacks as the site configures them now."""
    if subscriber.content_languages:
        return subscriber
    languages = settings.edition(subscriber.language)
    return dataclasses.replace(subscriber, content_languages=languages)


@cache
def time_zones() -> tuple[str, ...]:
    """The IANA time zone names a subscriber can choose, sorted."""
    return tuple(sorted(available_timezones()))


def build_subscriber(
    settings: Settings,
    *,
    email: str,
    language: str,
    content_languages: Iterable[str] = (),
    topics: Iterable[str] = (),
    kinds: Iterable[str] = (),
    lead_days: str = "",
    digest: str = "off",
    timezone: str = "",
    name: str = "",
    status: SubscriberStatus = "pending",
) -> Subscriber:
    """A valid Subscriber, or SubscriptionError naming every bad field.

    `content_languages` are the item languages accepted, best first; none: `language`
    and then its fallbacks, as the site configures them when each email is sent."""
    errors: dict[str, Message] = {}
    try:
        email = normalise_email(email)
    except AddressError as exc:
        errors["email"] = exc.message
    if language not in settings.site.languages:
        errors["language"] = _not_one_of(language, settings.site.languages)
    accepted = tuple(dict.fromkeys(content_languages))
    for code in accepted:
        if code not in settings.site.languages:
            errors["content_languages"] = _not_one_of(code, settings.site.languages)
    topic_list = tuple(sorted(set(topics)))
    known = set(settings.topics)
    bad = [t for t in topic_list if not is_slug(t) or (known and t not in known)]
    if bad:
        errors["topics"] = Message(N_("unknown topics: %(topics)s"), {"topics": ", ".join(bad)})
    kind_list = tuple(sorted(set(kinds)))
    if any(k not in KINDS for k in kind_list):
        errors["kinds"] = Message(N_("kinds must be among %(kinds)s"), {"kinds": ", ".join(KINDS)})
    leads: tuple[int, ...] = tuple(settings.email.lead_days)
    if lead_days:
        try:
            leads = parse_lead_days(lead_days)
        except LeadDaysError as exc:
            errors["lead_days"] = exc.message
    if digest not in FREQUENCIES:
        errors["digest"] = _not_one_of(digest, FREQUENCIES)
    zone = timezone or settings.site.timezone
    if zone not in time_zones():
        errors["timezone"] = Message(N_("unknown time zone %(zone)s"), {"zone": repr(zone)})
    if errors:
        raise SubscriptionError(errors)
    return Subscriber(
        email=email,
        language=language,
        content_languages=accepted,
        topics=topic_list,
        kinds=kind_list,
        lead_days=leads,
        digest=digest,  # type: ignore[arg-type]
        timezone=zone,
        name=" ".join(name.split())[:200],
        status=status,
    )


def _not_one_of(value: str, choices: Iterable[str]) -> Message:
    return Message(
        N_("%(value)s is not one of %(choices)s"),
        {"value": repr(value), "choices": ", ".join(choices)},
    )
