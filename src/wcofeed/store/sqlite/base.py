"""The base of the SQLite store: connections, pragmas, migrations and transactions,
shared by the entity mixins (`items.py`, `sources.py`, `subscribers.py`).

WAL lets readers run while the writer writes; every write goes through one
connection under an asyncio lock, in a `BEGIN IMMEDIATE` transaction, so writers
never meet "database is locked" and a killed process leaves either all or none of a
transaction. Readers are pooled aiosqlite connections, whose reads of several
statements run whole on the reader's thread (`_read_job`); the writer is a `Writer`
(`writer.py`), whose whole-transaction calls (`_write_job`) suit bulk writes and whose
statement-at-a-time calls (`_write`) suit the rest.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Self, TypeVar, cast

import aiosqlite

from wcofeed.store.interface import Store
from wcofeed.store.sqlite.migrations import MIGRATIONS
from wcofeed.store.sqlite.writer import PRAGMAS, Writer

T = TypeVar("T")


def parse_stamp(value: str | None) -> datetime | None:
    """A stored ISO 8601 timestamp column, NULL as None."""
    return datetime.fromisoformat(value) if value else None


def keep_private(path: Path) -> None:
    """Make the database file readable and writable by its owner only (0600), creating
    it if needed, whatever the umask: it holds subscribers' addresses. SQLite creates
    the -wal and -shm files with the database file's mode; ones left by a looser
    earlier run are tightened too."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists() and companion.stat().st_mode & 0o077:
            companion.chmod(0o600)


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
            keep_private(store.path)
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
        for pragma in PRAGMAS:
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

    async def _read_job(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """`job(connection)` on a reader's thread, in one hand-over however many
        statements it runs: each statement awaited alone is a round trip to the thread
        (about 80 µs, more than most of the statements a feed query runs). aiosqlite
        queues a function on its connection's thread only through `_execute`, the same
        from 0.20 to 0.22, the versions pyproject allows; the store's item tests all
        go through here."""
        async with self._read() as db:
            return cast(T, await db._execute(job, db._conn))  # type: ignore[no-untyped-call]

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
