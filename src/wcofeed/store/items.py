"""Items, their topics and full-text search, in SQLite.

Queries are assembled from fixed fragments with `?` placeholders only: no value is
ever written into SQL text. A single-topic query walks `item_topics`' covering index
(topic, language, kind, published) so the latest N cost O(N) whatever the table size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import aiosqlite

from wcofeed.models import (
    Deadline,
    Item,
    UpsertOutcome,
    UpsertResult,
    as_utc,
    parse_iso_date_or_datetime,
)
from wcofeed.store.base import Counts, ItemQuery
from wcofeed.store.connection import SQLiteBase

_COLUMNS = """items.guid, items.kind, items.title, items.summary, items.summary_html,
    items.url, items.language, items.published, items.deadline_date, items.deadline_time,
    items.deadline_tz, items.source, items.first_seen, items.last_changed,
    (SELECT group_concat(topic, ' ') FROM item_topics WHERE item_id = items.id) AS topics"""

_INSERT = """INSERT INTO items (guid, kind, title, summary, summary_html, url, language,
    published, published_ts, deadline_date, deadline_time, deadline_tz, deadline_ts, source,
    first_seen, first_seen_ts, last_changed, content_hash)
    VALUES (:guid, :kind, :title, :summary, :summary_html, :url, :language, :published,
    :published_ts, :deadline_date, :deadline_time, :deadline_tz, :deadline_ts, :source,
    :first_seen, :first_seen_ts, :last_changed, :content_hash)"""

_UPDATE = """UPDATE items SET kind = :kind, title = :title, summary = :summary,
    summary_html = :summary_html, url = :url, language = :language, published = :published,
    published_ts = :published_ts, deadline_date = :deadline_date,
    deadline_time = :deadline_time, deadline_tz = :deadline_tz, deadline_ts = :deadline_ts,
    source = :source, last_changed = :last_changed, content_hash = :content_hash
    WHERE guid = :guid"""

_INSERT_TOPIC = """INSERT INTO item_topics (item_id, topic, language, kind, published_ts)
    SELECT id, ?, language, kind, published_ts FROM items WHERE guid = ?"""

_CHUNK = 500
_WORD = re.compile(r"\w+", re.UNICODE)


def _chunks(values: list[str]) -> Iterator[list[str]]:
    """Slices small enough for SQLite's limit on bound parameters."""
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _micros(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000)


def _row_params(item: Item) -> dict[str, Any]:
    assert item.first_seen is not None and item.last_changed is not None
    deadline = item.deadline
    return {
        "guid": item.guid,
        "kind": item.kind,
        "title": item.title,
        "summary": item.summary,
        "summary_html": item.summary_html,
        "url": item.url,
        "language": item.language,
        "published": item.published.isoformat(),
        "published_ts": int(item.published_at.timestamp()),
        "deadline_date": deadline.day.isoformat() if deadline else None,
        "deadline_time": deadline.at.isoformat() if deadline and deadline.at else None,
        "deadline_tz": deadline.tz if deadline else None,
        "deadline_ts": int(deadline.closes_at().timestamp()) if deadline else None,
        "source": item.source,
        "first_seen": item.first_seen.isoformat(),
        "first_seen_ts": _micros(item.first_seen),
        "last_changed": item.last_changed.isoformat(),
        "content_hash": item.content_hash,
    }


def _row_to_item(row: aiosqlite.Row) -> Item:
    deadline = None
    if row["deadline_date"]:
        deadline = Deadline(
            date.fromisoformat(row["deadline_date"]),
            time.fromisoformat(row["deadline_time"]) if row["deadline_time"] else None,
            row["deadline_tz"],
        )
    return Item(
        guid=row["guid"],
        kind=row["kind"],
        title=row["title"],
        summary=row["summary"],
        summary_html=row["summary_html"],
        url=row["url"],
        language=row["language"],
        published=parse_iso_date_or_datetime(row["published"]),
        source=row["source"],
        topics=tuple((row["topics"] or "").split()),
        deadline=deadline,
        first_seen=datetime.fromisoformat(row["first_seen"]),
        last_changed=datetime.fromisoformat(row["last_changed"]),
    )


def _in(column: str, values: Sequence[Any], params: list[Any]) -> str:
    params.extend(values)
    if len(values) == 1:
        return f"{column} = ?"
    return f"{column} IN ({', '.join('?' * len(values))})"


def fts_phrase(text: str) -> str:
    """User text as an FTS5 query: every word required, FTS operators taken literally."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in _WORD.findall(text))


def _where(query: ItemQuery) -> tuple[str, str, str, list[Any]]:
    """FROM, WHERE and ORDER BY clauses (fixed fragments) plus their parameters."""
    params: list[Any] = []
    clauses: list[str] = []
    via_topics = len(query.topics) == 1 and query.order == "published"
    if via_topics:
        source = "item_topics AS t JOIN items ON items.id = t.item_id"
        clauses.append(_in("t.topic", query.topics, params))
        lang, kind, ts = "t.language", "t.kind", "t.published_ts"
        order = "t.published_ts DESC, t.item_id DESC"
    else:
        source = "items"
        lang, kind, ts = "items.language", "items.kind", "items.published_ts"
        if query.topics:
            inner = _in("t.topic", query.topics, params)
            clauses.append(
                f"EXISTS (SELECT 1 FROM item_topics AS t WHERE t.item_id = items.id AND {inner})"
            )
        if query.order == "deadline":
            order = "items.deadline_ts, items.id"
        else:
            order = "items.published_ts DESC, items.id DESC"
    if query.languages:
        clauses.append(_in(lang, query.languages, params))
    if query.kinds:
        clauses.append(_in(kind, query.kinds, params))
    if query.open_at is not None:
        clauses.append("items.kind = 'call' AND items.deadline_ts >= ?")
        params.append(int(as_utc(query.open_at).timestamp()))
    elif query.order == "deadline":
        clauses.append("items.deadline_ts IS NOT NULL")
    if query.since is not None:
        clauses.append(f"{ts} >= ?")
        params.append(int(as_utc(query.since).timestamp()))
    if query.seen_since is not None:
        clauses.append("items.first_seen_ts >= ?")
        params.append(_micros(as_utc(query.seen_since)))
    if query.source:
        clauses.append("items.source = ?")
        params.append(query.source)
    if query.q:
        phrase = fts_phrase(query.q)
        if phrase:
            clauses.append("items.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)")
            params.append(phrase)
        else:
            clauses.append("0")
    where = " AND ".join(clauses) or "1"
    return source, where, order, params


class ItemsSQL(SQLiteBase):
    async def upsert_items(
        self, items: Iterable[Item], now: datetime | None = None
    ) -> list[UpsertResult]:
        now = as_utc(now or datetime.now(UTC))
        batch: dict[str, Item] = {}
        for item in items:
            batch.pop(item.guid, None)
            batch[item.guid] = item
        if not batch:
            return []
        guids = list(batch)
        async with self._write() as db:
            # Most re-ingested items are unchanged: compare hashes first and load whole
            # rows only for the changed ones, whose previous version callers need.
            known: dict[str, tuple[str, datetime, datetime]] = {}
            for chunk in _chunks(guids):
                marks = ", ".join("?" * len(chunk))
                sql = (
                    "SELECT guid, content_hash, first_seen, last_changed FROM items "
                    f"WHERE guid IN ({marks})"
                )
                for row in await db.execute_fetchall(sql, chunk):
                    known[row[0]] = (
                        row[1],
                        datetime.fromisoformat(row[2]),
                        datetime.fromisoformat(row[3]),
                    )
            changed = [g for g, (h, _, _) in known.items() if h != batch[g].content_hash]
            previous: dict[str, Item] = {}
            for chunk in _chunks(changed):
                marks = ", ".join("?" * len(chunk))
                sql = f"SELECT {_COLUMNS} FROM items WHERE guid IN ({marks})"
                for row in await db.execute_fetchall(sql, chunk):
                    previous[row["guid"]] = _row_to_item(row)
            results: list[UpsertResult] = []
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            for guid, item in batch.items():
                if guid not in known:
                    stored = item.with_times(now, now)
                    inserts.append(_row_params(stored))
                    results.append(UpsertResult(UpsertOutcome.NEW, stored))
                elif guid in previous:
                    stored = item.with_times(known[guid][1], now)
                    updates.append(_row_params(stored))
                    results.append(UpsertResult(UpsertOutcome.CHANGED, stored, previous[guid]))
                else:
                    stored = item.with_times(known[guid][1], known[guid][2])
                    results.append(UpsertResult(UpsertOutcome.UNCHANGED, stored, stored))
            await db.executemany(_INSERT, inserts)
            await db.executemany(_UPDATE, updates)
            await db.executemany(
                "DELETE FROM item_topics WHERE item_id = (SELECT id FROM items WHERE guid = ?)",
                [(row["guid"],) for row in updates],
            )
            topic_rows = [
                (topic, r.item.guid)
                for r in results
                if r.outcome is not UpsertOutcome.UNCHANGED
                for topic in r.item.topics
            ]
            await db.executemany(_INSERT_TOPIC, topic_rows)
        return results

    async def get_item(self, guid: str) -> Item | None:
        async with self._read() as db:
            rows = await db.execute_fetchall(
                f"SELECT {_COLUMNS} FROM items WHERE guid = ?", (guid,)
            )
        return _row_to_item(next(iter(rows))) if rows else None

    async def delete_item(self, guid: str) -> bool:
        async with self._write() as db:
            cursor = await db.execute("DELETE FROM items WHERE guid = ?", (guid,))
            if cursor.rowcount == 0:
                return False
            await db.execute(
                "INSERT INTO store_meta (key, value) VALUES ('last_delete', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (datetime.now(UTC).isoformat(),),
            )
            return True

    async def query_items(self, query: ItemQuery) -> list[Item]:
        sql, params = self._select_sql(query)
        async with self._read() as db:
            rows = await db.execute_fetchall(sql, params)
        return [_row_to_item(row) for row in rows]

    def _select_sql(self, query: ItemQuery) -> tuple[str, list[Any]]:
        source, where, order, params = _where(query)
        sql = f"SELECT {_COLUMNS} FROM {source} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
        return sql, [*params, max(0, query.limit), max(0, query.offset)]

    async def count_items(self, query: ItemQuery) -> int:
        source, where, _, params = _where(query)
        async with self._read() as db:
            rows = list(
                await db.execute_fetchall(f"SELECT count(*) FROM {source} WHERE {where}", params)
            )
        return int(rows[0][0])

    async def counts(self) -> Counts:
        async with self._read() as db:
            kinds = await db.execute_fetchall(
                "SELECT language, kind, count(*) FROM items GROUP BY language, kind"
            )
            topics = await db.execute_fetchall(
                "SELECT language, topic, count(*) FROM item_topics GROUP BY language, topic"
            )
        return Counts(
            by_language_kind={(r[0], r[1]): int(r[2]) for r in kinds},
            by_language_topic={(r[0], r[1]): int(r[2]) for r in topics},
        )

    async def last_change(self) -> datetime | None:
        async with self._read() as db:
            rows = list(
                await db.execute_fetchall(
                    "SELECT (SELECT max(last_changed) FROM items), "
                    "(SELECT value FROM store_meta WHERE key = 'last_delete')"
                )
            )
        moments = [datetime.fromisoformat(v) for v in rows[0] if v] if rows else []
        return max(moments, default=None)

    async def explain(self, query: ItemQuery) -> list[str]:
        sql, params = self._select_sql(query)
        async with self._read() as db:
            rows = await db.execute_fetchall(f"EXPLAIN QUERY PLAN {sql}", params)
        return [str(row[3]) for row in rows]
