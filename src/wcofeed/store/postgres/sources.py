"""The fetch state of sources, in PostgreSQL, and their leases (several processes
fetch each source once per interval between them: see `Cluster` in `interface.py`)."""

from __future__ import annotations

from datetime import datetime

from wcofeed.models import SourceState
from wcofeed.store.postgres.base import PostgresBase, alive
from wcofeed.store.sqlite.sources import _COLUMNS, _row_to_state


class SourcesPG(PostgresBase):
    async def source_state(self, source_id: str) -> SourceState:
        async with self._read() as db:
            row = await db.fetchrow(f"SELECT {_COLUMNS} FROM sources WHERE id = $1", source_id)
        return _row_to_state(dict(row)) if row else SourceState(id=source_id)

    async def source_states(self) -> list[SourceState]:
        async with self._read() as db:
            rows = await db.fetch(f"SELECT {_COLUMNS} FROM sources ORDER BY id")
        return [_row_to_state(dict(row)) for row in rows]

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
                   VALUES ($1, $2, $3, $4, $4, 0, NULL)
                   ON CONFLICT (id) DO UPDATE SET etag = excluded.etag,
                       last_modified = excluded.last_modified,
                       last_attempt = excluded.last_attempt,
                       last_success = excluded.last_success,
                       consecutive_failures = 0, last_error = NULL""",
                source_id,
                etag,
                last_modified,
                now.isoformat(),
            )

    async def record_fetch_failure(self, source_id: str, now: datetime, error: str) -> None:
        async with self._write() as db:
            await db.execute(
                """INSERT INTO sources (id, last_attempt, consecutive_failures, last_error)
                   VALUES ($1, $2, 1, $3)
                   ON CONFLICT (id) DO UPDATE SET last_attempt = excluded.last_attempt,
                       consecutive_failures = sources.consecutive_failures + 1,
                       last_error = excluded.last_error""",
                source_id,
                now.isoformat(),
                error,
            )

    async def lease_source(self, source_id: str, lease: float) -> float:
        async with self._write() as db:
            await db.execute(
                "INSERT INTO source_leases (id, next_due) VALUES ($1, now()) "
                "ON CONFLICT (id) DO NOTHING",
                source_id,
            )
            row = await db.fetchrow(
                f"""SELECT extract(epoch FROM next_due - now()) AS due_in,
                        CASE WHEN holder IS NOT NULL AND leased_until > now()
                             AND {alive("holder")}
                        THEN extract(epoch FROM leased_until - now()) END AS held_for
                    FROM source_leases WHERE id = $1 FOR UPDATE SKIP LOCKED""",
                source_id,
            )
            if row is None:  # another process is deciding right now
                return 1.0
            wait = max(float(row["due_in"]), float(row["held_for"] or 0))
            if wait > 0:
                return wait
            await db.execute(
                """UPDATE source_leases SET holder = $2,
                       leased_until = now() + make_interval(secs => $3) WHERE id = $1""",
                source_id,
                self.holder,
                lease,
            )
        return 0.0

    async def release_source(self, source_id: str, every: float) -> None:
        async with self._write() as db:
            await db.execute(
                """UPDATE source_leases SET holder = NULL, leased_until = NULL,
                       next_due = now() + make_interval(secs => $3)
                   WHERE id = $1 AND holder = $2""",
                source_id,
                self.holder,
                every,
            )
