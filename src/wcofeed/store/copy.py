"""Moving an install between stores: every row of every table, as it is, then checked.

`copy_store(source, target)` copies a SQLite file into an empty PostgreSQL database or
the other way round: items (with their ids, first sights and news times, full text
and documents), topics, the reading state of items' own pages, sources' fetch state,
subscribers, the reminders they were sent, the outbox of claimed emails and the digest
windows (`subscribers.last_digest_at`). Rows move as they are,
not through the model, so a copy is exact: a digest round on the copy sends nothing the
original already sent. Both schemas are brought to their current version first; a
column one side has and the other lacks (a migration not yet ported) stops the copy
before anything is written. At the end, each table's row count and content hash (an
order-free sum of per-row hashes, so the two databases' collations cannot differ) are
compared on both sides.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from wcofeed.store.postgres import PostgresStore
from wcofeed.store.postgres.base import redacted
from wcofeed.store.sqlite import SQLiteStore

#: Tables in an order that satisfies their foreign keys, with the columns identity
#: sequences follow in PostgreSQL.
TABLES = (
    "items",
    "item_topics",
    "item_details",
    "sources",
    "subscribers",
    "outbox",
    "reminders",
    "store_meta",
)
_IDENTITY = {"items": "id", "subscribers": "id"}
#: Columns of one store only, meaningless in the other: which process claimed an email.
_LOCAL = {"claimed_by"}
_CHUNK = 5000
_MODULUS = 2**256


class CopyError(RuntimeError):
    """The copy cannot be made (target not empty, schemas apart) or did not match."""


@dataclass(frozen=True)
class TableCheck:
    """One table on both sides after a copy."""

    table: str
    rows: int
    digest: str


def _row_hash(row: Sequence[Any]) -> int:
    text = "\x1f".join("\x00" if v is None else str(v) for v in row)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())


class _Side:
    """One database, read and written a table at a time."""

    name: str

    async def columns(self, table: str) -> list[str]:
        raise NotImplementedError

    def rows(self, table: str, columns: list[str]) -> AsyncIterator[list[tuple[Any, ...]]]:
        raise NotImplementedError

    async def write(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    async def finish(self) -> None:
        """After the last write: commit (and let identities follow the copied ids)."""

    async def close(self) -> None:
        raise NotImplementedError

    async def check(self, table: str, columns: list[str]) -> TableCheck:
        count, total = 0, 0
        async for chunk in self.rows(table, columns):
            count += len(chunk)
            total = (total + sum(_row_hash(row) for row in chunk)) % _MODULUS
        return TableCheck(table, count, f"{total:064x}")


class _SQLiteSide(_Side):
    def __init__(self, path: Path) -> None:
        self.name = str(path)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA busy_timeout = 10000")
        self._in_transaction = False

    async def columns(self, table: str) -> list[str]:
        info = self._db.execute("SELECT name, hidden FROM pragma_table_xinfo(?)", (table,))
        return [name for name, hidden in info.fetchall() if hidden == 0]

    async def rows(self, table: str, columns: list[str]) -> AsyncIterator[list[tuple[Any, ...]]]:
        cursor = self._db.execute(f"SELECT {', '.join(columns)} FROM {table}")
        while chunk := await asyncio.to_thread(cursor.fetchmany, _CHUNK):
            yield chunk

    async def write(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        if not self._in_transaction:
            self._db.execute("BEGIN IMMEDIATE")
            self._in_transaction = True
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        await asyncio.to_thread(self._db.executemany, sql, rows)

    async def finish(self) -> None:
        if self._in_transaction:
            self._db.execute("COMMIT")
            self._in_transaction = False

    async def close(self) -> None:
        if self._in_transaction:
            self._db.execute("ROLLBACK")
        self._db.close()


class _PostgresSide(_Side):
    def __init__(self, url: str, db: asyncpg.Connection) -> None:
        self.name = redacted(url)
        self._db = db
        self._transaction: Any = None

    @classmethod
    async def connect(cls, url: str) -> _PostgresSide:
        return cls(url, await asyncpg.connect(url))

    async def columns(self, table: str) -> list[str]:
        rows = await self._db.fetch(
            """SELECT column_name FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = $1
                 AND is_generated = 'NEVER' ORDER BY ordinal_position""",
            table,
        )
        return [str(row[0]) for row in rows]

    async def rows(self, table: str, columns: list[str]) -> AsyncIterator[list[tuple[Any, ...]]]:
        async with self._db.transaction(readonly=True, isolation="repeatable_read"):
            cursor = await self._db.cursor(f"SELECT {', '.join(columns)} FROM {table}")
            while chunk := await cursor.fetch(_CHUNK):
                yield [tuple(row) for row in chunk]

    async def write(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        if self._transaction is None:
            self._transaction = self._db.transaction()
            await self._transaction.start()
        await self._db.copy_records_to_table(table, records=rows, columns=columns)

    async def finish(self) -> None:
        if self._transaction is None:
            return
        for table, column in _IDENTITY.items():
            await self._db.execute(
                "SELECT setval(pg_get_serial_sequence($1, $2), coalesce(max_id, 1), "
                "max_id IS NOT NULL) FROM (SELECT max(id) AS max_id FROM "
                f"{table}) AS m",
                table,
                column,
            )
        await self._transaction.commit()
        self._transaction = None

    async def close(self) -> None:
        if self._transaction is not None:
            await self._transaction.rollback()
        await self._db.close()


async def _open(location: Path | str) -> _Side:
    """The raw side of a store, its schema first brought to the current version."""
    if isinstance(location, str):
        await (await PostgresStore.open(location)).close()
        return await _PostgresSide.connect(location)
    await (await SQLiteStore.open(location)).close()
    return _SQLiteSide(location)


async def copy_store(source: Path | str, target: Path | str) -> list[TableCheck]:
    """Copy every table of `source` into the empty `target`; the checks that matched.

    A `str` is a PostgreSQL URL, a `Path` a SQLite file. Raises `CopyError` when the
    target holds data, the schemas differ, or the copy does not match the source."""
    src = await _open(source)
    try:
        dst = await _open(target)
        try:
            return await _copy(src, dst)
        finally:
            await dst.close()
    finally:
        await src.close()


async def _copy(src: _Side, dst: _Side) -> list[TableCheck]:
    plan: list[tuple[str, list[str]]] = []
    for table in TABLES:
        theirs = [c for c in await src.columns(table) if c not in _LOCAL]
        ours = [c for c in await dst.columns(table) if c not in _LOCAL]
        for lacking, having, names, others in ((dst, src, theirs, ours), (src, dst, ours, theirs)):
            missing = [c for c in names if c not in others]
            if missing:
                raise CopyError(
                    f"{lacking.name}: table {table} has no column {', '.join(missing)} that "
                    f"{having.name} has; the two stores' schemas differ (a migration not "
                    "ported to both)"
                )
        async for chunk in dst.rows(table, ours[:1]):
            if chunk:
                raise CopyError(f"{dst.name}: table {table} is not empty; copy into a new one")
        plan.append((table, theirs))
    for table, columns in plan:
        async for chunk in src.rows(table, columns):
            await dst.write(table, columns, chunk)
    await dst.finish()
    checks = []
    for table, columns in plan:
        mine, copied = await src.check(table, columns), await dst.check(table, columns)
        if mine != copied:
            raise CopyError(
                f"{table}: {src.name} has {mine.rows} rows (hash {mine.digest[:12]}), "
                f"{dst.name} {copied.rows} (hash {copied.digest[:12]})"
            )
        checks.append(mine)
    return checks


def tables_in(checks: Sequence[TableCheck]) -> Iterator[str]:
    """One line per table, for the command's report."""
    for check in checks:
        yield f"{check.table:12} {check.rows:>9} rows  hash {check.digest[:16]}"
