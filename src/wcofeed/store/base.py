"""The storage interface callers program against; `sqlite.SQLiteStore` implements it.

Every method is a coroutine and speaks only in `wcofeed.models` types and the small
query value below, so a PostgreSQL implementation can replace SQLite without a caller
changing. Implementations own their SQL, schema and migrations.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from wcofeed.models import Item, SourceState, UpsertResult


@dataclass(frozen=True, slots=True)
class ItemQuery:
    """Which items to list and in which order; empty tuples mean "any".

    `topics` match when an item has any of them. `q` is full-text over title and
    summary (words, all required). `open_at` keeps only calls still open at that
    instant. `order="deadline"` lists soonest-closing first, else newest first.
    """

    languages: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    q: str = ""
    source: str = ""
    since: datetime | None = None
    seen_since: datetime | None = None
    open_at: datetime | None = None
    order: Literal["published", "deadline"] = "published"
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Counts:
    """How many items there are per language and kind, and per language and topic."""

    by_language_kind: dict[tuple[str, str], int]
    by_language_topic: dict[tuple[str, str], int]


class Store(abc.ABC):
    """Items, their topics and full-text index, and the fetch state of sources."""

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

    @abc.abstractmethod
    async def upsert_items(
        self, items: Iterable[Item], now: datetime | None = None
    ) -> list[UpsertResult]:
        """Store items by guid in one transaction and say what each one did.

        Unchanged content is a no-op; changed content updates `last_changed` and keeps
        `first_seen`. Results come in input order, one per distinct guid (the last
        occurrence of a repeated guid wins).
        """

    async def upsert_item(self, item: Item, now: datetime | None = None) -> UpsertResult:
        (result,) = await self.upsert_items([item], now)
        return result

    @abc.abstractmethod
    async def get_item(self, guid: str) -> Item | None: ...

    @abc.abstractmethod
    async def delete_item(self, guid: str) -> bool:
        """Remove an item; False when there was none."""

    @abc.abstractmethod
    async def query_items(self, query: ItemQuery) -> list[Item]: ...

    @abc.abstractmethod
    async def count_items(self, query: ItemQuery) -> int:
        """How many items match, ignoring limit and offset."""

    @abc.abstractmethod
    async def counts(self) -> Counts: ...

    @abc.abstractmethod
    async def last_change(self) -> datetime | None:
        """The newest `last_changed` of any item: a cheap validator for caches."""

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
    async def explain(self, query: ItemQuery) -> Sequence[str]:
        """The database's plan for a query, one line per step (for tests and tuning)."""
