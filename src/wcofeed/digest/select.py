"""Who gets which calls and new items in this run: pure functions, no I/O.

A call is due at lead time L when it closes within L days of `now` and is still open.
When several lead times are due at once (a call first seen 2 days before closing is
inside both its 14- and 3-day windows) the email shows the call once and all those
lead times are recorded, so the next reminder is the next smaller lead time. The
deadline is part of every reminder key: a deadline the source moves is a new key,
so the call re-enters the schedule. So is the call's translation key rather than the
guid of one version: a call published in several languages is reminded once.

A digest tells only what is new and open: items that became news (`Item.announce_from`,
decided when the store first saw them) and were first seen in its window, never a call
that has closed, grouped under their topics' labels.

A subscriber's `content_languages` are taken as resolved here (their language and its
fallbacks filled in by the round): items arrive one version per translation key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from wcofeed.models import Item, Subscriber
from wcofeed.store import ReminderKey

Group = Literal["today", "week", "later"]
GROUPS: tuple[Group, ...] = ("today", "week", "later")

PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
#: A digest is due a little before a full period, so a run that starts a few minutes
#: earlier than yesterday's still sends.
SLACK = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class DueCall:
    """A call to remind now, and the lead times this reminder covers."""

    item: Item
    leads: tuple[int, ...]
    #: The closing instant as a Unix time, part of each reminder key.
    deadline_ts: int = field(init=False, compare=False)
    #: The reminder keys this email records (the claim, its Message-ID).
    keys: tuple[ReminderKey, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        assert self.item.deadline is not None
        deadline_ts = int(self.item.deadline.closes_at().timestamp())
        keys = tuple((self.item.translation_key, deadline_ts, lead) for lead in self.leads)
        object.__setattr__(self, "deadline_ts", deadline_ts)
        object.__setattr__(self, "keys", keys)


def accepted_languages(subscriber: Subscriber) -> tuple[str, ...]:
    """The content languages a subscriber accepts, best first (their own language when
    nothing else is given)."""
    return subscriber.content_languages or (subscriber.language,)


def matches(subscriber: Subscriber, item: Item) -> bool:
    """Whether an item is in a language, kind and topic the subscriber accepts."""
    accepted = {code.split("-")[0] for code in accepted_languages(subscriber)}
    if item.language.split("-")[0] not in accepted:
        return False
    if subscriber.kinds and item.kind not in subscriber.kinds:
        return False
    return not subscriber.topics or bool(set(subscriber.topics) & set(item.topics))


def due_leads(closes_at: datetime, now: datetime, leads: Iterable[int]) -> tuple[int, ...]:
    """The lead times whose window the deadline is in; none once it has closed."""
    remaining = closes_at - now
    if remaining <= timedelta(0):
        return ()
    return tuple(sorted(lead for lead in set(leads) if remaining <= timedelta(days=lead)))


def select_reminders(
    subscriber: Subscriber,
    calls: Iterable[Item],
    reminded: set[ReminderKey],
    now: datetime,
) -> list[DueCall]:
    """The subscriber's open calls with at least one due lead time not reminded yet."""
    return unreminded(due_calls(subscriber, calls, now), reminded)


def due_calls(subscriber: Subscriber, calls: Iterable[Item], now: datetime) -> list[DueCall]:
    """The subscriber's open calls with the lead times due now, reminded or not: the
    same for every subscriber with the same languages, kinds, topics and lead times, so
    a round works them out once for all of them."""
    due: list[DueCall] = []
    if subscriber.kinds and "call" not in subscriber.kinds:
        return due
    for item in calls:
        if item.kind != "call" or item.deadline is None or not matches(subscriber, item):
            continue
        leads = due_leads(item.deadline.closes_at(), now, subscriber.lead_days)
        if leads:
            due.append(DueCall(item, leads))
    return due


def unreminded(due: Iterable[DueCall], reminded: set[ReminderKey]) -> list[DueCall]:
    """`due` without the lead times already reminded, and without the calls left with none."""
    if not reminded:
        return list(due)
    kept: list[DueCall] = []
    for call in due:
        key, deadline_ts = call.item.translation_key, call.deadline_ts
        fresh = tuple(lead for lead in call.leads if (key, deadline_ts, lead) not in reminded)
        if fresh == call.leads:
            kept.append(call)
        elif fresh:
            kept.append(DueCall(call.item, fresh))
    return kept


def digest_window(subscriber: Subscriber, now: datetime) -> tuple[datetime, datetime] | None:
    """The first-seen window of the new-item digest due now, or None.

    The first digest covers one period back from now (not the whole archive); later
    ones start where the previous one ended, so no item is skipped or repeated.
    """
    period = PERIODS.get(subscriber.digest)
    if period is None:
        return None
    last = subscriber.last_digest_at
    if last is None:
        return now - period, now
    if now - last < period - SLACK:
        return None
    return last, now


def news_start(window: tuple[datetime, datetime]) -> datetime:
    """The earliest `announce_from` a digest of `window` tells: the start of the window's
    first day (UTC), so a source's back catalogue dated that day is news in it."""
    return datetime.combine(window[0].astimezone(UTC).date(), time(0), tzinfo=UTC)


def select_new_items(
    subscriber: Subscriber, items: Iterable[Item], window: tuple[datetime, datetime]
) -> list[Item]:
    """Items first seen inside the window, news from within it, and still open (a call
    that closed by the window's end is never announced), that the subscriber follows."""
    start, end = window
    oldest = news_start(window)
    return [
        item
        for item in items
        if item.first_seen is not None
        and start <= item.first_seen < end
        and item.announce_from is not None
        and item.announce_from >= oldest
        and not (
            item.kind == "call" and item.deadline is not None and item.deadline.closes_at() <= end
        )
        and matches(subscriber, item)
    ]


def group_of(closes_at: datetime, now: datetime, timezone: str) -> Group:
    """closes today / this week / later, by the subscriber's calendar."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    day = closes_at.astimezone(zone).date()
    if day <= today:
        return "today"
    if day < today + timedelta(days=7):
        return "week"
    return "later"


def group_calls(
    calls: Sequence[DueCall], now: datetime, timezone: str
) -> dict[Group, list[DueCall]]:
    grouped: dict[Group, list[DueCall]] = {group: [] for group in GROUPS}
    for call in calls:
        assert call.item.deadline is not None
        grouped[group_of(call.item.deadline.closes_at(), now, timezone)].append(call)
    return grouped


def group_by_topic(
    items: Iterable[Item], subscriber: Subscriber, label: Callable[[str], str]
) -> list[tuple[str, list[Item]]]:
    """New items under the `label` of each followed topic (or each of their topics when
    following all), in the order of the labels; items without a topic come last, under
    ""."""
    grouped: dict[str, list[Item]] = {}
    for item in items:
        topics = [t for t in item.topics if not subscriber.topics or t in subscriber.topics]
        for topic in topics or [""]:
            grouped.setdefault(label(topic) if topic else "", []).append(item)
    return sorted(grouped.items(), key=lambda kv: (kv[0] == "", kv[0].casefold()))


def message_id(
    subscriber: Subscriber,
    calls: Sequence[DueCall],
    window: tuple[datetime, datetime] | None,
    domain: str,
) -> str:
    """A Message-ID fixed by what the email covers, so a resend carries the same one."""
    content = {
        "to": subscriber.email.lower(),
        "reminders": sorted(key for call in calls for key in call.keys),
        "digest": [t.isoformat() for t in window] if window else None,
    }
    raw = json.dumps(content, separators=(",", ":"), sort_keys=True).encode()
    return f"<{hashlib.sha256(raw).hexdigest()[:32]}@{domain}>"
