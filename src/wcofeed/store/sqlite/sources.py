"""The fetch state of sources, in SQLite."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import aiosqlite

from wcofeed.models import SourceState
from wcofeed.store.sqlite.base import SQLiteBase, parse_stamp

_COLUMNS = "id, etag, last_modified, last_attempt, last_success, consecutive_failures, last_error"


def _row_to_state(row: aiosqlite.Row | Mapping[str, Any]) -> SourceState:
    return SourceState(
        id=row["id"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_attempt=parse_stamp(row["last_attempt"]),
        last_success=parse_stamp(row["last_success"]),
        consecutive_failures=int(row["consecutive_failures"]),
        last_error=row["last_error"],
    )


class SourcesSQL(SQLiteBase):
    async def source_state(self, source_id: str) -> SourceState:
        async with self._read() as db:
            rows = list(
                await db.execute_fetchall(
                    f"SELECT {_COLUMNS} FROM sources WHERE id = ?", (source_id,)
                )
            )
        return _row_to_state(rows[0]) if rows else SourceState(id=source_id)

    async def source_states(self) -> list[SourceState]:
        async with self._read() as db:
            rows = await db.execute_fetchall(f"SELECT {_COLUMNS} FROM sources ORDER BY id")
        return [_row_to_state(row) for row in rows]

    async def record_fetch_success(
        self,
        source_id: str,
        now: datetime,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        async with self._write() as db:
            await db.execute(
                """INSERT INTO sources (id, etag, last_modified, last_attempt, last_success,
                       consecutive_failures, last_error)
                   VALUES (?, ?, ?, ?, ?, 0, NULL)
                   ON CONFLICT (id) DO UPDATE SET etag = excluded.etag,
                       last_modified = excluded.last_modified,
                       last_attempt = excluded.last_attempt,
                       last_success = excluded.last_success,
                       consecutive_failures = 0, last_error = NULL""",
                (source_id, etag, last_modified, now.isoformat(), now.isoformat()),
            )

    async def record_fetch_failure(self, source_id: str, now: datetime, error: str) -> None:
        async with self._write() as db:
            await db.execute(
                """INSERT INTO sources (id, last_attempt, consecutive_failures, last_error)
                   VALUES (?, ?, 1, ?)
                   ON CONFLICT (id) DO UPDATE SET last_attempt = excluded.last_attempt,
                       consecutive_failures = sources.consecutive_failures + 1,
                       last_error = excluded.last_error""",
                (source_id, now.isoformat(), error),
            )
