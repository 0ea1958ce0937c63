"""SQLite connections shared by the store's entity mixins: one writer, a few readers.

WAL lets readers run while the writer writes; every write goes through one
connection under an asyncio lock, in a `BEGIN IMMEDIATE` transaction, so writers
never meet "database is locked" and a killed process leaves either all or none of a
transaction. Entity SQL lives in the mixins (`items.py`, `sources.py`); this module
owns connections, pragmas and migrations.

Readers are aiosqlite connections. The writer is a `Writer`: one sqlite3 connection
on its own thread, offering both aiosqlite's statement-at-a-time calls (`_write`)
and whole transactions run on that thread in one call (`_write_job`). A bulk write
wants the latter: each return from SQLite to Python has to win the GIL back, which
takes up to a switch interval (5 ms) while another thread parses a page, so a
transaction of a few statements, one call each, spent more time waiting than
writing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, Self, TypeVar

import aiosqlite

from wcofeed.store.base import Store
from wcofeed.store.migrations import MIGRATIONS

_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
    "PRAGMA cache_size = -32000",  # 32 MB per connection: indexes of 100k items stay hot
    "PRAGMA temp_store = MEMORY",
)


T = TypeVar("T")


class Writer:
    """The write connection, used only from its own thread, one call at a time."""

    def __init__(self, path: Path) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wcofeed-writer")
        self._path = path
        self._db: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._db = await self.run(
            partial(sqlite3.connect, self._path, isolation_level=None, check_same_thread=False)
        )
        self._db.row_factory = sqlite3.Row
        for pragma in _PRAGMAS:
            await self.execute(pragma)

    async def run(self, call: Callable[[], T]) -> T:
        """`call()` on the writer's thread."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def run_with(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """`job(connection)` on the writer's thread."""
        return await self.run(partial(job, self.connection))

    @property
    def connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("store is closed")
        return self._db

    @property
    def total_changes(self) -> int:
        return self.connection.total_changes

    async def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return await self.run(partial(self.connection.execute, sql, params))

    async def execute_fetchall(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        return await self.run(lambda: self.connection.execute(sql, params).fetchall())

    async def executemany(self, sql: str, params: Iterable[Any]) -> sqlite3.Cursor:
        # the rows are drawn on the writer's thread as they are written: a generator of
        # 100,000 subscribers is never held in memory whole
        return await self.run(partial(self.connection.executemany, sql, params))

    async def executescript(self, script: str) -> sqlite3.Cursor:
        return await self.run(partial(self.connection.executescript, script))

    async def close(self) -> None:
        if self._db is not None:
            await self.run(self._db.close)
            self._db = None
        self._thread.shutdown(wait=True)


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer wcofeed; refuse rather than corrupt it."""


class SQLiteBase(Store):
    """Connection handling; `wcofeed.store.sqlite.SQLiteStore` adds the entities."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: Writer | None = None
        self._write_lock = asyncio.Lock()
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []

    @classmethod
    async def open(cls, path: Path | str, readers: int = 2) -> Self:
        """Open (creating if needed) and migrate the database at `path`."""
        store = cls(Path(path))
        try:
            store._writer = Writer(store.path)
            store.path.parent.mkdir(parents=True, exist_ok=True)
            await store._writer.open()
            await store._migrate()
            for _ in range(max(1, readers)):
                reader = await store._connect()
                await reader.execute("PRAGMA query_only = ON")
                store._all_readers.append(reader)
                store._readers.put_nowait(reader)
        except BaseException:
            await store.close()
            raise
        return store

    async def _connect(self) -> aiosqlite.Connection:
        db = await aiosqlite.connect(self.path, isolation_level=None)
        db.row_factory = aiosqlite.Row
        for pragma in _PRAGMAS:
            await db.execute(pragma)
        return db

    async def close(self) -> None:
        for reader in self._all_readers:
            await reader.close()
        self._all_readers.clear()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    async def schema_version(self) -> int:
        async with self._read() as db, db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _migrate(self) -> None:
        assert self._writer is not None
        rows = await self._writer.execute_fetchall("PRAGMA user_version")
        current = int(rows[0][0]) if rows else 0
        if current > len(MIGRATIONS):
            raise SchemaTooNewError(
                f"{self.path}: schema version {current} is newer than this wcofeed "
                f"knows ({len(MIGRATIONS)}); upgrade wcofeed"
            )
        for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
            # executescript runs statements outside Python's transaction handling, so
            # the script carries its own BEGIN/COMMIT and the version moves with it.
            await self._writer.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version:d};\nCOMMIT;"
            )

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[Writer]:
        """One write transaction on the writer connection, committed or rolled back whole."""
        if self._writer is None:
            raise RuntimeError("store is closed")
        async with self._write_lock:
            db = self._writer
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                await asyncio.shield(db.execute("ROLLBACK"))
                raise
            await db.execute("COMMIT")

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A reader connection from the pool (waits while all are busy)."""
        if not self._all_readers:
            raise RuntimeError("store is closed")
        db = await self._readers.get()
        try:
            yield db
        finally:
            self._readers.put_nowait(db)

    async def _write_job(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """`job` in one write transaction, run whole on the writer's thread.

        Cancelling the caller does not stop a job under way: it commits or rolls back
        whole, and the next write queues behind it on the same thread.
        """
        if self._writer is None:
            raise RuntimeError("store is closed")

        def transaction(db: sqlite3.Connection) -> T:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = job(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

        async with self._write_lock:
            return await self._writer.run_with(transaction)
