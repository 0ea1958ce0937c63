"""The storage interface callers program against; `sqlite.SQLiteStore` and
`postgres.PostgresStore` implement it.

Every method is a coroutine and speaks only in `wcofeed.models` types and the small
values below, so PostgreSQL replaces SQLite without a caller changing. Implementations
own their SQL, schema and migrations. `Store` is the whole interface: the items, the
sources' fetch state and the subscribers, each an abstract part of its own; `Cluster`
is what a store shared by several processes adds.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple, TypeVar

from wcofeed.models import (
    DetailState,
    Item,
    SourceState,
    Subscriber,
    SubscriberStatus,
    UpsertResult,
    as_utc,
)

log = logging.getLogger("wcofeed.store")

Row = TypeVar("Row")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ItemQuery:
    """Which items to list and in which order; empty tuples mean "any".

    `edition` lists content languages, best first: of the versions of one item (those
    sharing a translation key) only the one in the earliest of them is listed (the
    first stored, between two in one language), so the French edition shows an item in
    French when it has a French version, else in English. `languages` is a strict
    filter on the content language, applied on top. `topics` match when an item has
    any of them. `q` is full-text over title and summary (words, all required).
    `open_at` keeps only calls still open at that instant, `closed_at` only calls closed
    by then. `news_since` keeps items that are news (`Item.announce_from`) from that
    instant on. `order="deadline"` lists soonest-closing first, `"deadline-desc"`
    latest-closing first, else newest first: by the source's date when known, else by
    when the item became news, a source's undated back catalogue after every dated
    item. `since` applies to that same rank.
    """

    languages: tuple[str, ...] = ()
    edition: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    q: str = ""
    source: str = ""
    since: datetime | None = None
    seen_since: datetime | None = None
    news_since: datetime | None = None
    open_at: datetime | None = None
    closed_at: datetime | None = None
    order: Literal["published", "deadline", "deadline-desc"] = "published"
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Version:
    """One language version of an item: what a link to it needs."""

    guid: str
    language: str
    url: str


#: Back catalogue (an undated item never announced) ranks after every date a calendar can
#: hold: its first sight minus this many seconds.
BACK_CATALOGUE_SHIFT = 10**12


def item_rank(item: Item) -> int:
    """Where an item ranks in "newest first", in epoch seconds: the source's date, else
    when it became news, else its first sight pushed below every date (back catalogue).
    `ItemQuery.since` and the `rank` of an `ItemState` are on this scale."""
    if item.published_at is not None:
        return int(item.published_at.timestamp())
    if item.announce_from is not None:
        return _whole_seconds(item.announce_from)
    return _whole_seconds(item.first_seen or _EPOCH) - BACK_CATALOGUE_SHIFT


def _whole_seconds(moment: datetime) -> int:
    """Exact (no float rounding), as the stored microseconds divided by 10^6."""
    return (as_utc(moment) - _EPOCH) // timedelta(seconds=1)


def deadline_instant(item: Item) -> int | None:
    """An item's deadline as epoch seconds (what `open_at` and `closed_at` compare)."""
    return int(item.deadline.closes_at().timestamp()) if item.deadline else None


class ItemState(NamedTuple):
    """What a list's filters see of one stored item: enough to tell, without reading
    the item, whether a cached list could show it (`item_rank`, `deadline_instant`).

    A named tuple, not a frozen dataclass: a busy writer's journal holds tens of
    thousands of them a second, and a tuple is made in a third of the time."""

    language: str
    kind: str
    topics: tuple[str, ...]
    rank: int
    deadline: int | None
    #: Which item (a version's state names its own item, which a search may list).
    guid: str = ""


@dataclass(frozen=True, slots=True)
class ItemChange:
    """One item written or deleted: its state before (None: new) and after (None:
    deleted), and the states of the other versions sharing its translation key before
    or after, which an edition may now show or hide because of it."""

    guid: str
    old: ItemState | None
    new: ItemState | None
    versions: tuple[ItemState, ...] = ()
    #: Its place in the journal: the cursor a reader holds once it has read it.
    cursor: int = 0

    @property
    def states(self) -> tuple[ItemState, ...]:
        """Every state a list could have shown or could show because of this change."""
        return tuple(s for s in (self.old, self.new) if s is not None) + self.versions


@dataclass(frozen=True, slots=True)
class Changes:
    """Changes after a reader's cursor, oldest first, and the cursor to ask from next.

    `complete` is False when changes after the asked cursor are no longer kept (the
    journal is pruned): the reader then knows only that anything may have changed."""

    cursor: int
    changes: tuple[ItemChange, ...]
    complete: bool = True


@dataclass(frozen=True, slots=True)
class Counts:
    """How many items there are per language and kind, and per language and topic."""

    by_language_kind: dict[tuple[str, str], int]
    by_language_topic: dict[tuple[str, str], int]


# --- subscribers and deliveries (digest) -----------------------------------------------

#: One reminder ever sent: (the call's translation key, so that its versions in several
#: languages share it; its deadline as a UTC epoch second; lead days).
ReminderKey = tuple[str, int, int]


@dataclass(frozen=True, slots=True)
class Claim:
    """One email about to be sent, claimed before sending so a crash cannot double it.

    `reminders` are the keys the email covers; `digest_until` moves the subscriber's
    last digest time forward; `payload` is what re-renders the same email later.
    """

    message_id: str
    subscriber_id: int
    payload: str
    reminders: tuple[ReminderKey, ...] = ()
    digest_until: datetime | None = None
    #: Where the email's digest window starts: a store shared by several processes
    #: refuses the claim when another one moved the subscriber's window past it.
    digest_from: datetime | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed email not yet confirmed sent (left over from an earlier run)."""

    message_id: str
    subscriber: Subscriber
    payload: str
    claimed_at: datetime
    attempts: int


class SubscriberStore(abc.ABC):
    """Subscribers, the reminders they were sent and the outbox of claimed emails."""

    @abc.abstractmethod
    async def save_subscriber(self, subscriber: Subscriber, now: datetime) -> Subscriber:
        """Insert, or update by email (case-insensitive) keeping history fields."""

    @abc.abstractmethod
    async def import_subscribers(self, subscribers: Iterable[Subscriber], now: datetime) -> int:
        """Insert many new subscribers in one transaction (a consented list); addresses
        already present are left as they are. Returns how many were added."""

    @abc.abstractmethod
    async def get_subscriber(self, email: str) -> Subscriber | None: ...

    @abc.abstractmethod
    async def set_subscriber_status(
        self, email: str, status: SubscriberStatus, now: datetime
    ) -> bool:
        """Change standing (confirming sets `confirmed_at`); False if no such address."""

    @abc.abstractmethod
    async def note_confirmation_sent(self, email: str, now: datetime) -> None:
        """Remember when the last confirmation email went out (to limit resends)."""

    @abc.abstractmethod
    async def delete_subscriber(self, email: str) -> bool:
        """Forget an address and everything sent to it; False if there was none."""

    @abc.abstractmethod
    async def list_subscribers(
        self, statuses: tuple[SubscriberStatus, ...] = (), after_id: int = 0, limit: int = 1000
    ) -> list[Subscriber]:
        """Subscribers by id after `after_id` (keyset paging keeps big lists cheap)."""

    @abc.abstractmethod
    async def reminded_keys(
        self, subscriber_ids: Sequence[int], open_after: datetime
    ) -> dict[int, set[ReminderKey]]:
        """Reminders already claimed for these subscribers, for deadlines after an instant."""

    @abc.abstractmethod
    async def claim_deliveries(self, claims: Sequence[Claim], now: datetime) -> list[str]:
        """Record claims in one transaction; returns the message ids actually claimed.

        A claim whose reminder keys or message id already exist is skipped whole: it
        was claimed before (by another run), so claiming again would double it.
        """

    @abc.abstractmethod
    async def stale_deliveries(self, after: str = "", limit: int = 500) -> list[Delivery]:
        """Claimed emails not recorded as sent, by message id after `after`.

        Called at the start of a run, these are left over from an earlier one."""

    @abc.abstractmethod
    async def mark_sent(self, message_ids: Sequence[str], now: datetime) -> None:
        """The server accepted these emails."""

    @abc.abstractmethod
    async def mark_deferred(self, message_id: str, error: str) -> None:
        """A temporary failure: the claim stays, to be resent with the same Message-ID."""

    @abc.abstractmethod
    async def mark_failed(
        self, message_id: str, error: str, now: datetime, max_bounces: int
    ) -> bool:
        """A permanent failure: release the claim's reminders and digest window so a
        later run may try again, count a hard bounce; True if the subscriber got paused."""

    @abc.abstractmethod
    async def cancel_delivery(self, message_id: str, reason: str) -> None:
        """A claimed email that has nothing left worth sending (its calls all closed)."""

    @abc.abstractmethod
    async def delivery_states(self, subscriber_id: int | None = None) -> dict[str, int]:
        """How many outbox rows are in each state (claimed, sent, failed, cancelled)."""


class ItemStore(abc.ABC):
    """Items, their topics and full-text index.

    A stored row that breaks the model's rules (written by an older wcofeed whose rules
    were looser, or by hand, or by a bug) is skipped wherever items are read, logged
    with its guid and counted in `unreadable_items`: every reader (feeds, pages,
    emails, the admin API) goes through the store, so one bad row never makes the
    store unreadable for them, and nothing downstream sees an item the model refuses.
    """

    #: Rows skipped on reading since the store was opened (see the class docstring).
    unreadable_items: int = 0

    def _readable(self, rows: Iterable[Row], to_item: Callable[[Row], Item]) -> list[Item]:
        """The items of `rows`, skipping (and logging, and counting) those that fail."""
        items = []
        for row in rows:
            try:
                items.append(to_item(row))
            except (ValueError, TypeError) as exc:
                self.unreadable_items += 1
                guid = _guid(row)
                log.error("stored item %s skipped: %s", guid, exc, extra={"fields": {"guid": guid}})
        return items

    @abc.abstractmethod
    async def upsert_items(
        self,
        items: Iterable[Item],
        now: datetime | None = None,
        *,
        baseline: bool = False,
        max_age: timedelta | None = None,
    ) -> list[UpsertResult]:
        """Store items by guid in one transaction and say what each one did.

        Unchanged content is a no-op; changed content updates `last_changed` and keeps
        `first_seen` and `announce_from`. An item seen for the first time gets
        `announce_from` by `models.announce_from`: `baseline` when a source's first
        fetch found it, `max_age` the oldest own date still news (None: any).
        Results come in input order, one per distinct guid (the last occurrence of a
        repeated guid wins).
        """

    async def upsert_item(self, item: Item, now: datetime | None = None) -> UpsertResult:
        """One hand-entered item: never back catalogue, news whatever its date."""
        (result,) = await self.upsert_items([item], now)
        return result

    @abc.abstractmethod
    async def get_item(self, guid: str) -> Item | None: ...

    @abc.abstractmethod
    async def get_items(self, guids: Iterable[str]) -> dict[str, Item]:
        """The stored items among `guids`, by guid, in one query."""

    @abc.abstractmethod
    async def delete_item(self, guid: str) -> bool:
        """Remove an item; False when there was none."""

    @abc.abstractmethod
    async def query_items(self, query: ItemQuery) -> list[Item]: ...

    @abc.abstractmethod
    async def versions(self, translation_keys: Iterable[str]) -> dict[str, list[Version]]:
        """Every stored version of the items with these translation keys, by key, in
        one query (keys with a single version included)."""

    async def query_page(self, query: ItemQuery) -> tuple[list[Item], dict[str, list[Version]]]:
        """The items of `query` and every stored version of those that have another
        (`versions`; an item alone in its language may be left out, it links to no
        other), what a page or feed of items shows; a store that can read both at once
        does so."""
        items = await self.query_items(query)
        return items, await self.versions({item.translation_key for item in items})

    @abc.abstractmethod
    async def count_items(self, query: ItemQuery) -> int:
        """How many items match, ignoring limit and offset."""

    @abc.abstractmethod
    async def counts(self) -> Counts: ...

    @abc.abstractmethod
    async def last_change(self) -> datetime | None:
        """When items last changed (an upsert or a delete): a cheap validator for caches."""

    async def item_changes(self, after: int | None, limit: int = 1000) -> Changes:
        """The changes journalled after cursor `after` (at most `limit`, oldest first),
        with the cursor to ask from next; `after=None` asks for the current cursor only.

        Every upsert that changes an item and every delete journals its changes in its
        own transaction, whichever process writes, so a process serving cached lists
        (each worker of `wcofeed serve --workers N`) learns of writes made by others. A
        store with a way to push (PostgreSQL's LISTEN/NOTIFY) may wake readers early;
        readers ask again on their own schedule either way.

        This default, for a store without a journal, knows only `last_change()`: any
        change is reported as "anything may have changed" (`complete=False`)."""
        last = await self.last_change()
        cursor = 0 if last is None else (as_utc(last) - _EPOCH) // timedelta(microseconds=1)
        if after is None or cursor <= after:
            return Changes(cursor if after is None else after, ())
        return Changes(cursor, (), complete=False)

    async def text_matches(self, guids: Iterable[str], q: str) -> set[str]:
        """The items among `guids` whose title or summary match `q` as `ItemQuery.q`
        does (a cache asks it to tell whether a changed item enters a search). Every
        match is in the answer; a store may add guids that do not match where telling
        would cost more than the cache's re-render of the search.

        This default, for a store that cannot tell, says every one may."""
        return set(guids)

    @abc.abstractmethod
    async def explain(self, query: ItemQuery) -> Sequence[str]:
        """The database's plan for a query, one line per step (for tests and tuning)."""


def _guid(row: object) -> str:
    try:
        return str(row["guid"])  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return "?"


class SourceStore(abc.ABC):
    """The fetch state of sources."""

    @abc.abstractmethod
    async def source_state(self, source_id: str) -> SourceState:
        """The stored state, or a blank one for a source never fetched."""

    @abc.abstractmethod
    async def source_states(self) -> list[SourceState]: ...

    @abc.abstractmethod
    async def record_fetch_success(
        self,
        source_id: str,
        now: datetime,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """A fetch worked (or got a 304): clear failures, keep the cache validators."""

    @abc.abstractmethod
    async def record_fetch_failure(self, source_id: str, now: datetime, error: str) -> None:
        """A fetch failed: count it and keep the reason; validators are kept."""

    @abc.abstractmethod
    async def detail_states(self, guids: Iterable[str]) -> dict[str, DetailState]:
        """The reading state of these items' own pages, for those read or tried before."""

    @abc.abstractmethod
    async def save_detail_states(self, states: Sequence[DetailState]) -> None:
        """Keep these reading states (replacing earlier ones); a state whose item is not
        stored (deleted meanwhile) is dropped. Deleting an item deletes its state."""


class Cluster(abc.ABC):
    """What several processes sharing one store need to work together (PostgreSQL).

    A store that is not shared (SQLite, one process) does not implement it; the
    service then schedules everything itself.
    """

    @abc.abstractmethod
    async def lease_source(self, source_id: str, lease: float) -> float:
        """Take the source's lease when it is due and nobody (alive) holds it: 0.0, and
        the caller fetches, then calls `release_source`. Else the seconds until it is
        due or its lease ends: ask again then (or sooner)."""

    @abc.abstractmethod
    async def release_source(self, source_id: str, every: float) -> None:
        """The fetch is done: the source is due again in `every` seconds."""

    @abc.abstractmethod
    def exclusive(self, name: str) -> AbstractAsyncContextManager[None]:
        """Held by one process at a time across all of them (e.g. writing the feeds)."""

    @abc.abstractmethod
    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` (in this process) whenever any process changed items."""

    @abc.abstractmethod
    async def open_digest_round(self, round_id: int, size: int) -> None:
        """Cut digest round `round_id` into batches of `size` subscriber ids, up to the
        highest id now; idempotent, so every worker calls it as its round starts."""

    @abc.abstractmethod
    async def take_digest_batch(self, round_id: int, lease: float) -> tuple[int, int] | None:
        """Hold a batch of the round that is not done and that nobody alive holds (an
        expired hold counts as none) for `lease` seconds: its ids [first, end). None when
        there is no such batch (see `digest_round_done`)."""

    @abc.abstractmethod
    async def finish_digest_batch(self, round_id: int, first: int, *, done: bool) -> None:
        """The batch starting at `first` is done (its emails claimed), or, `done=False`,
        given up (a failure) for another worker to take."""

    @abc.abstractmethod
    async def digest_round_done(self, round_id: int) -> bool:
        """Whether every batch of the round is done. Else some live process holds one:
        a worker with nothing left to take waits and takes again, in case it dies."""


class Store(ItemStore, SourceStore, SubscriberStore):
    """The whole store, and its life: opened migrated, closed once."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @abc.abstractmethod
    async def schema_version(self) -> int:
        """The schema version the database is at (migrations run on open)."""
