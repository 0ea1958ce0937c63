"""Storage for wcofeed: the only package that speaks SQL.

Callers use the abstract `Store` (see `interface.py`) and get one from `open_store`:

    async with await open_store(settings.database.location) as store:
        results = await store.upsert_items(items)         # new / changed / unchanged each
        latest = await store.query_items(ItemQuery(languages=("en",), topics=("origin",)))

Interface, all coroutines:

- `upsert_items(items, now, baseline=, max_age=)` / `upsert_item(item, now)`: store by
  guid in one transaction; returns an `UpsertResult` per guid (outcome, stored item,
  previous). A first sight decides once whether the item is news (`announce_from`).
- `get_item(guid)`, `get_items(guids)` (one query for many), `delete_item(guid)`.
- `query_items(ItemQuery)`, `count_items(ItemQuery)`: filter by languages, topics, kinds,
  full-text `q`, source, `since` (the rank: source's date, else first seen), `seen_since`
  (first seen), `news_since` (announceable), calls `open_at` or `closed_at` an instant;
  an `edition` (languages best first: one version per translation key); newest first
  (undated back catalogue last) or by deadline; limit and offset.
- `versions(translation_keys)`: every language version of those items (for links to them).
- `counts()`: items per (language, kind) and per (language, topic); `last_change()`.
- `item_changes(after)`: the journal of item changes after a cursor (what each changed
  item looked like to a list's filters, before and after, and its other versions), so
  every process caching lists drops only what a write, its own or another's, touched.
- `source_state(id)`, `source_states()`, `record_fetch_success(...)`,
  `record_fetch_failure(...)`: fetch state of sources (ETag, Last-Modified, failures).
- Subscribers (`SubscriberStore` in `interface.py`): `save_subscriber`, `import_subscribers`,
  `get_subscriber`, `list_subscribers`, `set_subscriber_status`, `note_confirmation_sent`,
  `delete_subscriber`; the exactly-once outbox: `reminded_keys`, `claim_deliveries` (reminder
  keys and the email claimed in one transaction, before sending), `stale_deliveries`
  (claimed, never recorded: resent under the same Message-ID), `mark_sent`,
  `mark_deferred`, `mark_failed`, `cancel_delivery`, `delivery_states`.
- `explain(ItemQuery)`: the query plan, so tests can hold the indexes to their promise.
- `schema_version()`, `close()`; the store is an async context manager.

Two implementations answer alike (one test suite runs against both):

- SQLite (`sqlite.SQLiteStore`, the package `sqlite/`), the embedded default: WAL,
  foreign keys on, schema migrated forward on open (`sqlite/migrations.py`), FTS5 over
  title and summary kept in sync by triggers.
- PostgreSQL (`postgres.PostgresStore`, the package `postgres/`), for several processes
  sharing one database: an asyncpg pool, its own migrations (`postgres/migrations.py`),
  text search per item language over a GIN index.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeGuard

from wcofeed.store.interface import (
    Changes,
    Claim,
    Counts,
    Delivery,
    ItemChange,
    ItemQuery,
    ItemState,
    ReminderKey,
    Store,
    Version,
    deadline_instant,
    item_rank,
)
from wcofeed.store.postgres import PostgresStore
from wcofeed.store.postgres.base import SCHEMES, DatabaseUnavailableError, redacted
from wcofeed.store.sqlite import SQLiteStore
from wcofeed.store.sqlite.base import SchemaTooNewError

__all__ = [
    "Changes",
    "Claim",
    "Counts",
    "DatabaseUnavailableError",
    "Delivery",
    "ItemChange",
    "ItemQuery",
    "ItemState",
    "PostgresStore",
    "ReminderKey",
    "SQLiteStore",
    "SchemaTooNewError",
    "Store",
    "Version",
    "deadline_instant",
    "describe",
    "is_postgres",
    "item_rank",
    "open_store",
]


def is_postgres(location: Path | str) -> TypeGuard[str]:
    """Whether `location` names a PostgreSQL database (else it is a SQLite file)."""
    return isinstance(location, str) and location.startswith(SCHEMES)


def describe(location: Path | str) -> str:
    """A store's location for messages: the file, or the URL without its password."""
    return redacted(location) if is_postgres(location) else str(location)


async def open_store(location: Path | str, readers: int = 2) -> Store:
    """Open the configured store, migrated to the current schema: PostgreSQL for a
    `postgresql://` URL, else the SQLite file at `location`."""
    if is_postgres(location):
        return await PostgresStore.open(str(location), readers=readers)
    return await SQLiteStore.open(location, readers=readers)
