"""Subscribers, reminders sent and the outbox of claimed emails, in PostgreSQL.

The outbox works as in SQLite (see `sqlite/subscribers.py`). Several processes may
claim at once here: a claim first locks its subscribers' rows (in id order, so two
claimers never deadlock), then reads what they were already sent, so the reminders'
primary key is never raced and "exactly once per subscriber, call and lead time" holds
across processes; a digest whose window starts before the subscriber's last digest
(another process sent one meanwhile) is refused too. An outbox row keeps the key of the
process that claimed it: another process resends it only once that one is gone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from wcofeed.models import Subscriber, SubscriberStatus, as_utc
from wcofeed.store.interface import Claim, Delivery, ReminderKey
from wcofeed.store.postgres.base import PostgresBase, alive
from wcofeed.store.sqlite.subscribers import _COLUMNS, _iso, _params, _row_to_subscriber

_RECORD = """email text, name text, language text, content_languages text, topics text,
    kinds text, lead_days text, digest text, timezone text, status text, now text,
    confirmed_at text"""

_INSERT = f"""INSERT INTO subscribers (email, name, language, content_languages, topics, kinds,
    lead_days, digest, timezone, status, created_at, confirmed_at)
    SELECT email, name, language, content_languages, topics, kinds, lead_days, digest,
        timezone, status, now, confirmed_at
    FROM jsonb_to_recordset($1::jsonb) AS j ({_RECORD})"""

_UPSERT = (
    _INSERT
    + """ ON CONFLICT ((lower(email))) DO UPDATE SET name = excluded.name,
    language = excluded.language, content_languages = excluded.content_languages,
    topics = excluded.topics, kinds = excluded.kinds,
    lead_days = excluded.lead_days, digest = excluded.digest, timezone = excluded.timezone,
    status = excluded.status,
    confirmed_at = coalesce(subscribers.confirmed_at, excluded.confirmed_at)"""
)

_BY_EMAIL = f"SELECT {_COLUMNS} FROM subscribers WHERE lower(email) = lower($1)"


def _window_moved(claim: Claim, last_digest: str | None) -> bool:
    """Whether the subscriber's digest window moved past where the claim's starts."""
    if claim.digest_from is None or last_digest is None:
        return False
    return datetime.fromisoformat(last_digest) > as_utc(claim.digest_from)


def _count(status: str) -> int:
    """The row count of a command status ("UPDATE 3", "INSERT 0 3")."""
    return int(status.rsplit(" ", 1)[-1])


class SubscribersPG(PostgresBase):
    async def save_subscriber(self, subscriber: Subscriber, now: datetime) -> Subscriber:
        params = _params(subscriber, now)
        async with self._write() as db:
            await db.execute(_UPSERT, json.dumps([params]))
            row = await db.fetchrow(_BY_EMAIL, params["email"])
        assert row is not None  # just written in this transaction
        return _row_to_subscriber(dict(row))

    async def import_subscribers(self, subscribers: Iterable[Subscriber], now: datetime) -> int:
        rows = [_params(s, now) for s in subscribers]
        async with self._write() as db:
            status = await db.execute(
                _INSERT + " ON CONFLICT ((lower(email))) DO NOTHING", json.dumps(rows)
            )
        return _count(status)

    async def get_subscriber(self, email: str) -> Subscriber | None:
        async with self._read() as db:
            row = await db.fetchrow(_BY_EMAIL, email.strip())
        return _row_to_subscriber(dict(row)) if row else None

    async def set_subscriber_status(
        self, email: str, status: SubscriberStatus, now: datetime
    ) -> bool:
        confirmed = _iso(now) if status == "active" else None
        async with self._write() as db:
            result = await db.execute(
                """UPDATE subscribers SET status = $1,
                       confirmed_at = coalesce(confirmed_at, $2),
                       hard_bounces = CASE WHEN $1 = 'active' THEN 0 ELSE hard_bounces END
                   WHERE lower(email) = lower($3)""",
                status,
                confirmed,
                email.strip(),
            )
        return _count(result) > 0

    async def note_confirmation_sent(self, email: str, now: datetime) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE subscribers SET confirm_sent_at = $1 WHERE lower(email) = lower($2)",
                _iso(now),
                email.strip(),
            )

    async def delete_subscriber(self, email: str) -> bool:
        async with self._write() as db:
            result = await db.execute(
                "DELETE FROM subscribers WHERE lower(email) = lower($1)", email.strip()
            )
        return _count(result) > 0

    async def list_subscribers(
        self, statuses: tuple[SubscriberStatus, ...] = (), after_id: int = 0, limit: int = 1000
    ) -> list[Subscriber]:
        where = "id > $1 AND (cardinality($2::text[]) = 0 OR status = ANY($2::text[]))"
        async with self._read() as db:
            rows = await db.fetch(
                f"SELECT {_COLUMNS} FROM subscribers WHERE {where} ORDER BY id LIMIT $3",
                after_id,
                list(statuses),
                limit,
            )
        return [_row_to_subscriber(dict(row)) for row in rows]

    async def reminded_keys(
        self, subscriber_ids: Sequence[int], open_after: datetime
    ) -> dict[int, set[ReminderKey]]:
        found: dict[int, set[ReminderKey]] = {sid: set() for sid in subscriber_ids}
        async with self._read() as db:
            rows = await db.fetch(
                """SELECT subscriber_id, translation_key, deadline_ts, lead_days FROM reminders
                   WHERE subscriber_id = ANY($1::bigint[]) AND deadline_ts >= $2""",
                list(subscriber_ids),
                int(as_utc(open_after).timestamp()),
            )
        for row in rows:
            found[int(row[0])].add((row[1], int(row[2]), int(row[3])))
        return found

    async def claim_deliveries(self, claims: Sequence[Claim], now: datetime) -> list[str]:
        if not claims:
            return []
        ids = sorted({c.subscriber_id for c in claims})
        mids = [c.message_id for c in claims]
        async with self._write() as db:
            await db.execute(
                "SELECT id FROM subscribers WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
                ids,
            )
            # A refused or cancelled email may be claimed again under its Message-ID.
            await db.execute(
                "DELETE FROM outbox WHERE message_id = ANY($1::text[]) "
                "AND state IN ('failed', 'cancelled')",
                mids,
            )
            windows = {
                int(r[0]): r[1]
                for r in await db.fetch(
                    "SELECT id, last_digest_at FROM subscribers WHERE id = ANY($1::bigint[])", ids
                )
            }
            taken_keys = {
                (int(r[0]), r[1], int(r[2]), int(r[3]))
                for r in await db.fetch(
                    """SELECT subscriber_id, translation_key, deadline_ts, lead_days
                       FROM reminders WHERE subscriber_id = ANY($1::bigint[])""",
                    ids,
                )
            }
            taken_mids = {
                r[0]
                for r in await db.fetch(
                    "SELECT message_id FROM outbox WHERE message_id = ANY($1::text[])", mids
                )
            }
            fresh = [
                c
                for c in claims
                if c.message_id not in taken_mids
                and not any((c.subscriber_id, *key) in taken_keys for key in c.reminders)
                and not _window_moved(c, windows.get(c.subscriber_id))
            ]
            await db.executemany(
                """INSERT INTO outbox (message_id, subscriber_id, state, payload,
                       previous_digest_at, claimed_at, claimed_by)
                   SELECT $1, id, 'claimed', $2, last_digest_at, $3, $5 FROM subscribers
                   WHERE id = $4""",
                [(c.message_id, c.payload, _iso(now), c.subscriber_id, self.holder) for c in fresh],
            )
            await db.executemany(
                """INSERT INTO reminders (subscriber_id, translation_key, deadline_ts, lead_days,
                       message_id) VALUES ($1, $2, $3, $4, $5)""",
                [(c.subscriber_id, *key, c.message_id) for c in fresh for key in c.reminders],
            )
            await db.executemany(
                "UPDATE subscribers SET last_digest_at = $1 WHERE id = $2",
                [(_iso(c.digest_until), c.subscriber_id) for c in fresh if c.digest_until],
            )
        return [c.message_id for c in fresh]

    async def stale_deliveries(self, after: str = "", limit: int = 500) -> list[Delivery]:
        async with self._read() as db:
            rows = await db.fetch(
                f"""SELECT {_COLUMNS}, outbox.message_id, outbox.payload, outbox.claimed_at,
                        outbox.attempts
                    FROM outbox JOIN subscribers ON subscribers.id = outbox.subscriber_id
                    WHERE outbox.state = 'claimed' AND outbox.message_id > $1
                      AND (outbox.claimed_by IS NULL OR outbox.claimed_by = $3
                           OR NOT {alive("outbox.claimed_by")})
                    ORDER BY outbox.message_id LIMIT $2""",
                after,
                limit,
                self.holder,
            )
        return [
            Delivery(
                message_id=row["message_id"],
                subscriber=_row_to_subscriber(dict(row)),
                payload=row["payload"],
                claimed_at=datetime.fromisoformat(row["claimed_at"]),
                attempts=int(row["attempts"]),
            )
            for row in rows
        ]

    async def mark_sent(self, message_ids: Sequence[str], now: datetime) -> None:
        if not message_ids:
            return
        # One statement, committed on its own: a round marks a few accepted emails at a
        # time, and BEGIN, SET LOCAL and COMMIT were three more round trips per call,
        # most of what PostgreSQL's round spent beyond SQLite's. Not waiting for the
        # commit to reach the disk (set_config(..., true) lasts until this statement's
        # own commit): losing it in a crash only resends these emails under their
        # Message-IDs, as losing the acceptance does; waiting cost an fsync per call.
        async with self.pool().acquire() as db:
            await db.execute(
                """WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
                   UPDATE outbox SET state = 'sent', sent_at = $1, attempts = attempts + 1,
                       last_error = NULL
                   FROM relaxed
                   WHERE message_id = ANY($2::text[]) AND state = 'claimed'""",
                _iso(now),
                list(message_ids),
            )

    async def mark_deferred(self, message_id: str, error: str) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE message_id = $2",
                error,
                message_id,
            )

    async def mark_failed(
        self, message_id: str, error: str, now: datetime, max_bounces: int
    ) -> bool:
        async with self._write() as db:
            row = await db.fetchrow(
                "SELECT subscriber_id, previous_digest_at FROM outbox "
                "WHERE message_id = $1 AND state = 'claimed' FOR UPDATE",
                message_id,
            )
            if row is None:
                return False
            subscriber_id, previous_digest = row
            await db.execute(
                """UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = $1,
                       sent_at = $2 WHERE message_id = $3""",
                error,
                _iso(now),
                message_id,
            )
            await db.execute("DELETE FROM reminders WHERE message_id = $1", message_id)
            status = await db.fetchval(
                """UPDATE subscribers SET hard_bounces = hard_bounces + 1, last_error = $1,
                       last_digest_at = $2,
                       status = CASE WHEN hard_bounces + 1 >= $3 AND status = 'active'
                                     THEN 'paused' ELSE status END
                   WHERE id = $4 RETURNING status""",
                error,
                previous_digest,
                max_bounces,
                subscriber_id,
            )
        return bool(status == "paused")

    async def cancel_delivery(self, message_id: str, reason: str) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE outbox SET state = 'cancelled', last_error = $1 "
                "WHERE message_id = $2 AND state = 'claimed'",
                reason,
                message_id,
            )

    async def delivery_states(self, subscriber_id: int | None = None) -> dict[str, int]:
        async with self._read() as db:
            rows = await db.fetch(
                "SELECT state, count(*) FROM outbox "
                "WHERE $1::bigint IS NULL OR subscriber_id = $1 GROUP BY state",
                subscriber_id or None,
            )
        return {row[0]: int(row[1]) for row in rows}
