"""Subscribers, reminders sent and the outbox of claimed emails, in SQLite.

SQL text is built only from fixed fragments (column lists, `?` marks); every value is
a parameter.

The outbox is what makes reminders exactly-once: an email's reminders and its outbox
row are written in one transaction *before* the email is sent (state `claimed`), and
the row turns `sent` once the server accepted it. A claim that never turned `sent`
(a crash, SMTP down) is found by `stale_deliveries` and sent again under the same
Message-ID; the primary key of `reminders` makes a second claim of the same reminder
impossible.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from wcofeed.models import Subscriber, SubscriberStatus, as_utc
from wcofeed.store.interface import Claim, Delivery, ReminderKey
from wcofeed.store.sqlite.base import SQLiteBase, parse_stamp

_COLUMNS = """subscribers.id, subscribers.email, subscribers.name, subscribers.language,
    subscribers.content_languages, subscribers.topics, subscribers.kinds,
    subscribers.lead_days, subscribers.digest, subscribers.timezone, subscribers.status,
    subscribers.created_at, subscribers.confirmed_at, subscribers.confirm_sent_at,
    subscribers.last_digest_at, subscribers.hard_bounces, subscribers.last_error"""

_CHUNK = 500


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value else None


def _row_to_subscriber(row: aiosqlite.Row | Mapping[str, Any]) -> Subscriber:
    return Subscriber(
        id=int(row["id"]),
        email=row["email"],
        name=row["name"],
        language=row["language"],
        content_languages=tuple(row["content_languages"].split()),
        topics=tuple(row["topics"].split()),
        kinds=tuple(row["kinds"].split()),
        lead_days=tuple(int(d) for d in row["lead_days"].split()),
        digest=row["digest"],
        timezone=row["timezone"],
        status=row["status"],
        created_at=parse_stamp(row["created_at"]),
        confirmed_at=parse_stamp(row["confirmed_at"]),
        confirm_sent_at=parse_stamp(row["confirm_sent_at"]),
        last_digest_at=parse_stamp(row["last_digest_at"]),
        hard_bounces=int(row["hard_bounces"]),
        last_error=row["last_error"],
    )


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


def _columns(parameter: str, *names: str) -> str:
    """The rows of a JSON array of arrays as a table with columns `names`
    (`json_extract` rather than `->>`, which SQLite before 3.38 does not know)."""
    picked = ", ".join(f"json_extract(value, '$[{n}]') AS {name}" for n, name in enumerate(names))
    return f"(SELECT {picked} FROM json_each(:{parameter}))"


_ROWS = _columns("rows", "mid", "sid", "payload")
_KEYS = _columns("keys", "mid", "sid", "tkey", "dts", "lead")
_DIGESTED = _columns("digested", "mid", "sid", "until")

#: The claims of a page that another claim got first: their Message-ID is in the
#: outbox (refused and cancelled ones are deleted first, so they may be claimed again),
#: or one of their reminder keys is taken. As one JSON array of Message-IDs.
_TAKEN = f"""
    SELECT json_group_array(mid) FROM (
        SELECT j.mid FROM {_ROWS} AS j
        WHERE EXISTS (SELECT 1 FROM outbox WHERE message_id = j.mid)
        UNION ALL
        SELECT k.mid FROM {_KEYS} AS k
        WHERE EXISTS (
            SELECT 1 FROM reminders
            WHERE subscriber_id = k.sid AND translation_key = k.tkey
                AND deadline_ts = k.dts AND lead_days = k.lead))"""

_FREE = "NOT IN (SELECT value FROM json_each(:taken))"

_CLAIM = (
    f"""DELETE FROM outbox WHERE state IN ('failed', 'cancelled')
        AND message_id IN (SELECT mid FROM {_ROWS})""",
    _TAKEN,
    f"""INSERT INTO outbox (message_id, subscriber_id, state, payload, previous_digest_at,
            claimed_at)
        SELECT j.mid, subscribers.id, 'claimed', j.payload, subscribers.last_digest_at, :now
        FROM {_ROWS} AS j JOIN subscribers ON subscribers.id = j.sid
        WHERE j.mid {_FREE}""",
    f"""INSERT INTO reminders (subscriber_id, translation_key, deadline_ts, lead_days,
            message_id)
        SELECT k.sid, k.tkey, k.dts, k.lead, k.mid FROM {_KEYS} AS k WHERE k.mid {_FREE}""",
    f"""UPDATE subscribers SET last_digest_at = d.until FROM {_DIGESTED} AS d
        WHERE subscribers.id = d.sid AND d.mid {_FREE}""",
)


def _claim_job(
    rows: str, keys: str, digested: str, now: str | None
) -> Callable[[sqlite3.Connection], set[str]]:
    """A page of claims as five statements in one transaction; returns the Message-IDs
    refused because another claim got there first.

    Each statement reads the page from JSON, so the writer's thread needs the GIL a few
    times per page rather than for every row: next to a round rendering emails on the
    event loop's thread, each of those hand-overs could wait a switch interval (5 ms)."""

    def job(db: sqlite3.Connection) -> set[str]:
        params: dict[str, Any] = {"rows": rows, "keys": keys, "digested": digested, "now": now}
        drop, taken_sql, *writes = _CLAIM
        db.execute(drop, params)
        params["taken"] = db.execute(taken_sql, params).fetchone()[0]
        for sql in writes:
            db.execute(sql, params)
        return set(json.loads(params["taken"]))

    return job


_MARK_SENT = """UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1,
        last_error = NULL
    WHERE message_id IN (SELECT value FROM json_each(?)) AND state = 'claimed'"""


def _params(subscriber: Subscriber, now: datetime) -> dict[str, object]:
    return {
        "email": subscriber.email.strip(),
        "name": subscriber.name,
        "language": subscriber.language,
        "content_languages": " ".join(subscriber.content_languages),
        "topics": " ".join(subscriber.topics),
        "kinds": " ".join(subscriber.kinds),
        "lead_days": " ".join(str(d) for d in subscriber.lead_days),
        "digest": subscriber.digest,
        "timezone": subscriber.timezone,
        "status": subscriber.status,
        "now": _iso(now),
        "confirmed_at": _iso(now) if subscriber.status == "active" else None,
    }


_INSERT = """INSERT INTO subscribers (email, name, language, content_languages, topics, kinds,
    lead_days, digest, timezone, status, created_at, confirmed_at)
    VALUES (:email, :name, :language, :content_languages, :topics, :kinds, :lead_days, :digest,
    :timezone, :status, :now, :confirmed_at)"""

_UPSERT = (
    _INSERT
    + """ ON CONFLICT (email) DO UPDATE SET name = excluded.name,
    language = excluded.language, content_languages = excluded.content_languages,
    topics = excluded.topics, kinds = excluded.kinds,
    lead_days = excluded.lead_days, digest = excluded.digest, timezone = excluded.timezone,
    status = excluded.status,
    confirmed_at = coalesce(subscribers.confirmed_at, excluded.confirmed_at)"""
)


class SubscribersSQL(SQLiteBase):
    async def save_subscriber(self, subscriber: Subscriber, now: datetime) -> Subscriber:
        params = _params(subscriber, now)
        async with self._write() as db:
            await db.execute(_UPSERT, params)
            rows = list(
                await db.execute_fetchall(
                    f"SELECT {_COLUMNS} FROM subscribers WHERE email = ?",
                    (params["email"],),
                )
            )
        return _row_to_subscriber(rows[0])

    async def import_subscribers(self, subscribers: Iterable[Subscriber], now: datetime) -> int:
        async with self._write() as db:
            before = db.total_changes
            await db.executemany(
                _INSERT + " ON CONFLICT (email) DO NOTHING",
                (_params(s, now) for s in subscribers),
            )
            return db.total_changes - before

    async def get_subscriber(self, email: str) -> Subscriber | None:
        async with self._read() as db:
            rows = list(
                await db.execute_fetchall(
                    f"SELECT {_COLUMNS} FROM subscribers WHERE email = ?",
                    (email.strip(),),
                )
            )
        return _row_to_subscriber(rows[0]) if rows else None

    async def set_subscriber_status(
        self, email: str, status: SubscriberStatus, now: datetime
    ) -> bool:
        confirmed = _iso(now) if status == "active" else None
        async with self._write() as db:
            cursor = await db.execute(
                """UPDATE subscribers SET status = ?,
                       confirmed_at = coalesce(confirmed_at, ?),
                       hard_bounces = CASE WHEN ? = 'active' THEN 0 ELSE hard_bounces END
                   WHERE email = ?""",
                (status, confirmed, status, email.strip()),
            )
            return cursor.rowcount > 0

    async def note_confirmation_sent(self, email: str, now: datetime) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE subscribers SET confirm_sent_at = ? WHERE email = ?",
                (_iso(now), email.strip()),
            )

    async def delete_subscriber(self, email: str) -> bool:
        async with self._write() as db:
            cursor = await db.execute("DELETE FROM subscribers WHERE email = ?", (email.strip(),))
            return cursor.rowcount > 0

    async def list_subscribers(
        self, statuses: tuple[SubscriberStatus, ...] = (), after_id: int = 0, limit: int = 1000
    ) -> list[Subscriber]:
        params: list[object] = [after_id]
        where = "id > ?"
        if statuses:
            where += f" AND status IN ({_marks(statuses)})"
            params.extend(statuses)
        params.append(limit)
        async with self._read() as db:
            rows = await db.execute_fetchall(
                f"SELECT {_COLUMNS} FROM subscribers WHERE {where} ORDER BY id LIMIT ?",
                params,
            )
        return [_row_to_subscriber(row) for row in rows]

    async def reminded_keys(
        self, subscriber_ids: Sequence[int], open_after: datetime
    ) -> dict[int, set[ReminderKey]]:
        found: dict[int, set[ReminderKey]] = {sid: set() for sid in subscriber_ids}
        ids = list(subscriber_ids)
        cutoff = int(as_utc(open_after).timestamp())
        async with self._read() as db:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                rows = await db.execute_fetchall(
                    f"""SELECT subscriber_id, translation_key, deadline_ts, lead_days FROM reminders
                        WHERE subscriber_id IN ({_marks(chunk)}) AND deadline_ts >= ?""",
                    [*chunk, cutoff],
                )
                for row in rows:
                    found[int(row[0])].add((row[1], int(row[2]), int(row[3])))
        return found

    async def claim_deliveries(self, claims: Sequence[Claim], now: datetime) -> list[str]:
        if not claims:
            return []
        # Every statement reads the whole page from one JSON parameter: while the round
        # renders on the event loop's thread, each row handed between SQLite and Python
        # on the writer's thread would wait for the GIL (see `_claim_job`).
        rows = json.dumps([[c.message_id, c.subscriber_id, c.payload] for c in claims])
        keys = json.dumps(
            [[c.message_id, c.subscriber_id, *key] for c in claims for key in c.reminders]
        )
        digested = json.dumps(
            [
                [c.message_id, c.subscriber_id, _iso(c.digest_until)]
                for c in claims
                if c.digest_until
            ]
        )
        taken = await self._write_job(_claim_job(rows, keys, digested, _iso(now)))
        return [c.message_id for c in claims if c.message_id not in taken]

    async def stale_deliveries(self, after: str = "", limit: int = 500) -> list[Delivery]:
        async with self._read() as db:
            rows = await db.execute_fetchall(
                f"""SELECT {_COLUMNS}, outbox.message_id, outbox.payload, outbox.claimed_at,
                        outbox.attempts
                    FROM outbox JOIN subscribers ON subscribers.id = outbox.subscriber_id
                    WHERE outbox.state = 'claimed' AND outbox.message_id > ?
                    ORDER BY outbox.message_id LIMIT ?""",
                (after, limit),
            )
        return [
            Delivery(
                message_id=row["message_id"],
                subscriber=_row_to_subscriber(row),
                payload=row["payload"],
                claimed_at=datetime.fromisoformat(row["claimed_at"]),
                attempts=int(row["attempts"]),
            )
            for row in rows
        ]

    async def mark_sent(self, message_ids: Sequence[str], now: datetime) -> None:
        if not message_ids:
            return
        params = (_iso(now), json.dumps(list(message_ids)))
        await self._write_job(lambda db: db.execute(_MARK_SENT, params))

    async def mark_deferred(self, message_id: str, error: str) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE message_id = ?",
                (error, message_id),
            )

    async def mark_failed(
        self, message_id: str, error: str, now: datetime, max_bounces: int
    ) -> bool:
        async with self._write() as db:
            rows = list(
                await db.execute_fetchall(
                    "SELECT subscriber_id, previous_digest_at FROM outbox "
                    "WHERE message_id = ? AND state = 'claimed'",
                    (message_id,),
                )
            )
            if not rows:
                return False
            subscriber_id, previous_digest = rows[0]
            await db.execute(
                """UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?,
                       sent_at = ? WHERE message_id = ?""",
                (error, _iso(now), message_id),
            )
            await db.execute("DELETE FROM reminders WHERE message_id = ?", (message_id,))
            await db.execute(
                """UPDATE subscribers SET hard_bounces = hard_bounces + 1, last_error = ?,
                       last_digest_at = ?,
                       status = CASE WHEN hard_bounces + 1 >= ? AND status = 'active'
                                     THEN 'paused' ELSE status END
                   WHERE id = ?""",
                (error, previous_digest, max_bounces, subscriber_id),
            )
            status_rows = list(
                await db.execute_fetchall(
                    "SELECT status FROM subscribers WHERE id = ?", (subscriber_id,)
                )
            )
        return bool(status_rows) and status_rows[0][0] == "paused"

    async def cancel_delivery(self, message_id: str, reason: str) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE outbox SET state = 'cancelled', last_error = ? "
                "WHERE message_id = ? AND state = 'claimed'",
                (reason, message_id),
            )

    async def delivery_states(self, subscriber_id: int | None = None) -> dict[str, int]:
        where, params = ("WHERE subscriber_id = ?", [subscriber_id]) if subscriber_id else ("", [])
        async with self._read() as db:
            rows = await db.execute_fetchall(
                f"SELECT state, count(*) FROM outbox {where} GROUP BY state",
                params,
            )
        return {row[0]: int(row[1]) for row in rows}
