"""The base of the PostgreSQL store: the connection pool, migrations and transactions,
shared by the entity mixins (`items.py`, `sources.py`, `subscribers.py`), and the
presence of this process among the others sharing the database.

Unlike SQLite's single writer, several connections (and several wcofeed processes)
write at once: every write is one transaction on a pooled connection, and the few
places where two writers could meet (claims of one subscriber, a source's lease) take
row locks. A killed process's open transaction is rolled back by the server.

Presence: each open store holds one more connection for its life, on which it holds a
session advisory lock named by a random number, its `holder` key, and LISTENs for the
change notifications the other processes send. The server releases the lock when the
connection ends, however the process died, so "is the holder of this lease (or claim)
alive?" is a look into `pg_locks` (`alive()`), with no heartbeat to tune.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Self, TypeAlias

import asyncpg

from wcofeed.store.interface import Store
from wcofeed.store.postgres.migrations import MIGRATION_LOCK, MIGRATIONS
from wcofeed.store.sqlite.base import SchemaTooNewError

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    #: A pooled connection, as the entity mixins use it (generic in the stubs only).
    Connection: TypeAlias = PoolConnectionProxy[asyncpg.Record]

log = logging.getLogger("wcofeed.store")

#: The first key of the advisory locks telling which processes are alive, and of the
#: locks `exclusive()` takes (the second key is the holder, or the lock's name hashed).
PRESENCE_LOCK = 0x77636F70  # "wcop"
EXCLUSIVE_LOCK = 0x77636F78  # "wcox"
#: The lock writers of the journal of item changes take to commit (see migrations.py, 5).
JOURNAL_LOCK = 0x77636F6A  # "wcoj"
#: The channel on which item changes are announced (the payload: the schema).
CHANGES = "wcofeed_changes"


def alive(holder: str) -> str:
    """SQL: whether the process whose holder key is the expression `holder` is alive."""
    return f"""EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND classid = {PRESENCE_LOCK} AND objid = ({holder})::bigint::oid AND objsubid = 2)"""


#: The schemes `open_store` hands to this store.
SCHEMES = ("postgresql://", "postgres://")


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}@{host}"


class DatabaseUnavailableError(RuntimeError):
    """The database server cannot be reached or refuses the connection."""


class PostgresBase(Store):
    """Connection handling; `wcofeed.store.postgres.PostgresStore` adds the entities."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pool: asyncpg.Pool | None = None
        self._presence: asyncpg.Connection | None = None
        self._schema = ""
        self._callbacks: list[Callable[[], None]] = []
        #: This process's key among those sharing the database (see the docstring).
        self.holder = 0

    @classmethod
    async def open(cls, url: str, readers: int = 2) -> Self:
        """Connect to the database at `url` (a libpq URL; query parameters that are not
        connection options, e.g. `search_path`, are set on every connection) and
        migrate it."""
        store = cls(url)
        try:
            store._pool = await asyncpg.create_pool(
                url, min_size=1, max_size=max(2, readers + 2), command_timeout=300
            )
            await store._migrate()
            await store._be_present()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            await store.close()
            message = f"{redacted(url)}: cannot open the database: {exc}"
            raise DatabaseUnavailableError(message) from exc
        except BaseException:
            await store.close()
            raise
        return store

    async def _be_present(self) -> None:
        self._presence = db = await asyncpg.connect(self.url)
        while not self.holder:
            key = secrets.randbelow(2**31 - 1) + 1
            if await db.fetchval("SELECT pg_try_advisory_lock($1, $2)", PRESENCE_LOCK, key):
                self.holder = key
        self._schema = str(await db.fetchval("SELECT current_schema()"))
        await db.add_listener(CHANGES, self._notified)

    def _notified(self, _db: object, _pid: int, _channel: str, payload: object) -> None:
        if payload != self._schema:
            return
        for callback in self._callbacks:
            try:
                callback()
            except Exception:
                log.exception("change callback failed")

    def on_change(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        async with self.pool().acquire() as db:
            await db.execute("SELECT pg_advisory_lock($1, hashtext($2))", EXCLUSIVE_LOCK, name)
            try:
                yield
            finally:
                await db.execute(
                    "SELECT pg_advisory_unlock($1, hashtext($2))", EXCLUSIVE_LOCK, name
                )

    async def close(self) -> None:
        if self._presence is not None:
            presence, self._presence = self._presence, None
            await presence.close()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("store is closed")
        return self._pool

    async def schema_version(self) -> int:
        async with self._read() as db:
            return int(await db.fetchval("SELECT version FROM wcofeed_schema"))

    async def _migrate(self) -> None:
        async with self._write() as db:
            await db.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await db.execute("CREATE TABLE IF NOT EXISTS wcofeed_schema (version INTEGER NOT NULL)")
            current = await db.fetchval("SELECT version FROM wcofeed_schema")
            if current is None:
                await db.execute("INSERT INTO wcofeed_schema (version) VALUES (0)")
                current = 0
        if current > len(MIGRATIONS):
            raise SchemaTooNewError(
                f"{redacted(self.url)}: schema version {current} is newer than this wcofeed "
                f"knows ({len(MIGRATIONS)}); upgrade wcofeed"
            )
        for version, script in enumerate(MIGRATIONS, start=1):
            async with self._write() as db:
                await db.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                if await db.fetchval("SELECT version FROM wcofeed_schema") >= version:
                    continue
                await db.execute(script)
                await db.execute("UPDATE wcofeed_schema SET version = $1", version)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[Connection]:
        """One transaction, committed or rolled back whole."""
        async with self.pool().acquire() as db, db.transaction():
            yield db

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[Connection]:
        """A pooled connection for reads (each statement its own snapshot)."""
        async with self.pool().acquire() as db:
            yield db
