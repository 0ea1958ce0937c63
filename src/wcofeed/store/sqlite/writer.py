"""The store's write connection: one sqlite3 connection on a thread of its own.

It offers aiosqlite's statement-at-a-time calls and whole jobs run on its thread in
one call; either way, only that thread ever touches the connection.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

#: Set on every connection, the writer's and the readers'.
PRAGMAS = (
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
        for pragma in PRAGMAS:
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
        # the rows are drawn on the writer's thread as they are written, so a generator
        # of many rows is never held in memory whole
        return await self.run(partial(self.connection.executemany, sql, params))

    async def executescript(self, script: str) -> sqlite3.Cursor:
        return await self.run(partial(self.connection.executescript, script))

    async def close(self) -> None:
        if self._db is not None:
            await self.run(self._db.close)
            self._db = None
        self._thread.shutdown(wait=True)
