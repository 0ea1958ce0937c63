"""Digest rounds split between the workers sharing the database (see `Cluster` in
`interface.py`, and migration 6).

A round's batches are rows keyed by (round, first id), taken with `FOR UPDATE SKIP
LOCKED` so two workers never take the same one; a batch whose holder died (its presence
lock gone, see `base.py`) or whose hold expired is taken again. The claims of the outbox
still decide, per email, that it is sent once: batches only keep workers from planning
and rendering the same subscribers twice.
"""

from __future__ import annotations

from wcofeed.store.postgres.base import PostgresBase, alive

#: SQL: the batch is held by a live process whose hold has not expired.
_HELD = f"holder IS NOT NULL AND held_until > now() AND {alive('holder')}"


class RoundsPG(PostgresBase):
    async def open_digest_round(self, round_id: int, size: int) -> None:
        async with self._write() as db:
            await db.execute(
                "DELETE FROM digest_batches WHERE round < $1 "
                "AND opened_at < now() - interval '1 day'",
                round_id,
            )
            await db.execute(
                """INSERT INTO digest_batches (round, first_id, end_id)
                   SELECT $1, g * $2, (g + 1) * $2 FROM generate_series(
                       0, (SELECT coalesce(max(id), 0) FROM subscribers) / $2) AS g
                   ON CONFLICT (round, first_id) DO NOTHING""",
                round_id,
                size,
            )

    async def take_digest_batch(self, round_id: int, lease: float) -> tuple[int, int] | None:
        async with self._write() as db:
            row = await db.fetchrow(
                f"""UPDATE digest_batches SET holder = $2,
                        held_until = now() + make_interval(secs => $3)
                    WHERE (round, first_id) = (
                        SELECT round, first_id FROM digest_batches
                        WHERE round = $1 AND NOT done AND NOT ({_HELD})
                        ORDER BY first_id LIMIT 1 FOR UPDATE SKIP LOCKED)
                    RETURNING first_id, end_id""",
                round_id,
                self.holder,
                lease,
            )
        return (int(row["first_id"]), int(row["end_id"])) if row else None

    async def finish_digest_batch(self, round_id: int, first: int, *, done: bool) -> None:
        async with self._write() as db:
            await db.execute(
                """UPDATE digest_batches SET done = $4, holder = NULL, held_until = NULL
                   WHERE round = $1 AND first_id = $2 AND holder = $3 AND NOT done""",
                round_id,
                first,
                self.holder,
                done,
            )

    async def digest_round_done(self, round_id: int) -> bool:
        async with self._read() as db:
            left = await db.fetchval(
                "SELECT EXISTS (SELECT 1 FROM digest_batches WHERE round = $1 AND NOT done)",
                round_id,
            )
        return not left
