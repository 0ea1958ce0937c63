"""Items, their topics and full-text search, in PostgreSQL.

The same queries as the SQLite store's (`sqlite/items.py`), in PostgreSQL's dialect:
fixed fragments and `$n` placeholders only, rows read back by the SQLite store's own
`_row_to_item` (the columns are the same), so both stores answer alike. A batch is
written as JSON (`jsonb_to_recordset`), one statement per step.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from wcofeed.models import Item, UpsertOutcome, UpsertResult, announce_from, as_utc
from wcofeed.store.interface import Counts, ItemQuery, Version
from wcofeed.store.postgres.base import CHANGES, PostgresBase
from wcofeed.store.sqlite.items import (
    _FIELDS,
    _STORED,
    _WORD,
    _from_micros,
    _micros,
    _row_params,
    _row_to_item,
)

_BIGINT = {"published_ts", "deadline_ts", "first_seen_ts", "announce_ts"}
_RECORD = ", ".join(f"{c} {'bigint' if c in _BIGINT else 'text'}" for c in _STORED)
_FIRST_SIGHT = ("guid", "first_seen", "first_seen_ts", "announce_ts")

_COLUMNS = (
    ", ".join(f"items.{name}" for name in _FIELDS[:-1])
    + ", (SELECT string_agg(topic, ' ') FROM item_topics WHERE item_id = items.id) AS topics"
)

_KNOWN = """SELECT guid, content_hash, first_seen, last_changed, announce_ts FROM items
    WHERE guid = ANY($1::text[]) ORDER BY guid FOR UPDATE"""

_UPDATE = (
    "UPDATE items SET "
    + ", ".join(f"{c} = j.{c}" for c in _STORED if c not in _FIRST_SIGHT)
    + f" FROM jsonb_to_recordset($1::jsonb) AS j({_RECORD}) WHERE items.guid = j.guid"
)

_INSERT = (
    f"INSERT INTO items ({', '.join(_STORED)}) SELECT {', '.join(_STORED)} "
    f"FROM jsonb_to_recordset($1::jsonb) AS j({_RECORD}) ON CONFLICT (guid) DO NOTHING"
)

_INSERT_TOPICS = """INSERT INTO item_topics (item_id, topic, language, kind, sort_ts)
    SELECT items.id, t.topic, items.language, items.kind, items.sort_ts
    FROM unnest($1::text[], $2::text[]) AS t (guid, topic) JOIN items ON items.guid = t.guid
    ON CONFLICT (item_id, topic) DO NOTHING"""


# Sent on commit to every process listening (`PostgresBase.on_change`).
_NOTIFY = f"SELECT pg_notify('{CHANGES}', current_schema())"


class _Params:
    """Values of a query being assembled; calling it adds one and returns its `$n`."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"

    def isin(self, column: str, values: Sequence[str]) -> str:
        if len(values) == 1:
            return f"{column} = {self(values[0])}"
        return f"{column} = ANY({self(list(values))}::text[])"


def _edition(edition: Sequence[str], lang: str, p: _Params) -> str:
    """As SQLite's: items in the edition's languages that no better version replaces
    (one of the same translation key in an earlier language, or in the same language
    stored earlier)."""
    languages = p(list(edition))
    rank = f"array_position({languages}::text[], {{}})"
    return f"""{lang} = ANY({languages}::text[]) AND NOT EXISTS (SELECT 1 FROM items AS v
        WHERE v.translation_key = items.translation_key AND v.language = ANY({languages}::text[])
        AND ({rank.format("v.language")} < {rank.format(lang)}
             OR (v.language = {lang} AND v.id < items.id)))"""


def _where(query: ItemQuery) -> tuple[str, str, str, _Params]:
    """FROM, WHERE and ORDER BY clauses (fixed fragments) plus their parameters."""
    p = _Params()
    clauses: list[str] = []
    if len(query.topics) == 1 and query.order == "published":
        source = "item_topics AS t JOIN items ON items.id = t.item_id"
        clauses.append(p.isin("t.topic", query.topics))
        lang, kind, ts = "t.language", "t.kind", "t.sort_ts"
        order = "t.sort_ts DESC, t.item_id DESC"
    else:
        source = "items"
        lang, kind, ts = "items.language", "items.kind", "items.sort_ts"
        if query.topics:
            inner = p.isin("t.topic", query.topics)
            clauses.append(
                f"EXISTS (SELECT 1 FROM item_topics AS t WHERE t.item_id = items.id AND {inner})"
            )
        order = {
            "deadline": "items.deadline_ts, items.id",
            "deadline-desc": "items.deadline_ts DESC, items.id DESC",
        }.get(query.order, "items.sort_ts DESC, items.id DESC")
    if query.languages:
        clauses.append(p.isin(lang, query.languages))
    if query.edition:
        clauses.append(_edition(query.edition, lang, p))
    if query.kinds:
        clauses.append(p.isin(kind, query.kinds))
    if query.open_at is not None:
        at = p(int(as_utc(query.open_at).timestamp()))
        clauses.append(f"items.kind = 'call' AND items.deadline_ts >= {at}")
    elif query.closed_at is not None:
        at = p(int(as_utc(query.closed_at).timestamp()))
        clauses.append(f"items.kind = 'call' AND items.deadline_ts < {at}")
    elif query.order != "published":
        clauses.append("items.deadline_ts IS NOT NULL")
    if query.since is not None:
        clauses.append(f"{ts} >= {p(int(as_utc(query.since).timestamp()))}")
    if query.seen_since is not None:
        clauses.append(f"items.first_seen_ts >= {p(_micros(as_utc(query.seen_since)))}")
    if query.news_since is not None:
        clauses.append(f"items.announce_ts >= {p(_micros(as_utc(query.news_since)))}")
    if query.source:
        clauses.append(f"items.source = {p(query.source)}")
    if query.q:
        words = " ".join(_WORD.findall(query.q))
        if words:
            clauses.append(f"items.search @@ wcofeed_search_query({p(words)})")
        else:
            clauses.append("false")
    return source, " AND ".join(clauses) or "true", order, p


def _row(item: Item, stamp: str, micros: int, announce: datetime | None) -> dict[str, Any]:
    """An item as a `jsonb_to_recordset` record (the SQLite store's row, by name)."""
    return dict(zip(_STORED, _row_params(item, stamp, micros, announce), strict=False))


class ItemsPG(PostgresBase):
    async def upsert_items(
        self,
        items: Iterable[Item],
        now: datetime | None = None,
        *,
        baseline: bool = False,
        max_age: timedelta | None = None,
    ) -> list[UpsertResult]:
        now = as_utc(now or datetime.now(UTC))
        batch: dict[str, Item] = {}
        for item in items:
            batch.pop(item.guid, None)
            batch[item.guid] = item
        if not batch:
            return []
        stamp, micros = now.isoformat(), _micros(now)
        news = {
            guid: announce_from(item.published, now, baseline=baseline, max_age=max_age)
            for guid, item in batch.items()
        }
        async with self._write() as db:
            known = {row[0]: tuple(row[1:]) for row in await db.fetch(_KNOWN, list(batch))}
            changed = [
                g for g, item in batch.items() if g in known and known[g][0] != item.content_hash
            ]
            fresh = [g for g in batch if g not in known]
            previous_rows = []
            if changed:
                previous_rows = await db.fetch(
                    f"SELECT {_COLUMNS} FROM items WHERE guid = ANY($1::text[])", changed
                )
                await db.execute(
                    "DELETE FROM item_topics WHERE item_id IN "
                    "(SELECT id FROM items WHERE guid = ANY($1::text[]))",
                    changed,
                )
                rows = [_row(batch[g], stamp, micros, None) for g in changed]
                await db.execute(_UPDATE, json.dumps(rows))
            if fresh:
                rows = [_row(batch[g], stamp, micros, news[g]) for g in fresh]
                await db.execute(_INSERT, json.dumps(rows))
            pairs = [(g, t) for g in (*changed, *fresh) for t in batch[g].topics]
            if pairs:
                await db.execute(_INSERT_TOPICS, [g for g, _ in pairs], [t for _, t in pairs])
            if changed or fresh:
                await db.execute(_NOTIFY)
        previous = {
            item.guid: item for item in self._readable(map(dict, previous_rows), _row_to_item)
        }
        results: list[UpsertResult] = []
        for guid, item in batch.items():
            if guid not in known:
                stored = item.with_times(now, now, news[guid])
                results.append(UpsertResult(UpsertOutcome.NEW, stored))
                continue
            digest, seen, last, announce = known[guid]
            first_seen, announced = datetime.fromisoformat(seen), _from_micros(announce)
            if digest != item.content_hash:
                stored = item.with_times(first_seen, now, announced)
                results.append(UpsertResult(UpsertOutcome.CHANGED, stored, previous.get(guid)))
            else:
                stored = item.with_times(first_seen, datetime.fromisoformat(last), announced)
                results.append(UpsertResult(UpsertOutcome.UNCHANGED, stored, stored))
        return results

    async def get_item(self, guid: str) -> Item | None:
        return (await self.get_items([guid])).get(guid)

    async def get_items(self, guids: Iterable[str]) -> dict[str, Item]:
        async with self._read() as db:
            rows = await db.fetch(
                f"SELECT {_COLUMNS} FROM items WHERE guid = ANY($1::text[])", list(guids)
            )
        return {item.guid: item for item in self._readable(map(dict, rows), _row_to_item)}

    async def delete_item(self, guid: str) -> bool:
        async with self._write() as db:
            status = await db.execute("DELETE FROM items WHERE guid = $1", guid)
            if status == "DELETE 0":
                return False
            await db.execute(
                "INSERT INTO store_meta (key, value) VALUES ('last_delete', $1) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                datetime.now(UTC).isoformat(),
            )
            await db.execute(_NOTIFY)
            return True

    async def query_items(self, query: ItemQuery) -> list[Item]:
        sql, params = self._select_sql(query)
        async with self._read() as db:
            rows = await db.fetch(sql, *params)
        return self._readable(map(dict, rows), _row_to_item)

    def _select_sql(self, query: ItemQuery) -> tuple[str, list[Any]]:
        source, where, order, p = _where(query)
        limit, offset = p(max(0, query.limit)), p(max(0, query.offset))
        sql = f"SELECT {_COLUMNS} FROM {source} WHERE {where} ORDER BY {order} "
        return sql + f"LIMIT {limit} OFFSET {offset}", p.values

    async def versions(self, translation_keys: Iterable[str]) -> dict[str, list[Version]]:
        async with self._read() as db:
            rows = await db.fetch(
                "SELECT translation_key, guid, language, url FROM items "
                "WHERE translation_key = ANY($1::text[]) ORDER BY translation_key, language, id",
                sorted(set(translation_keys)),
            )
        found: dict[str, list[Version]] = {}
        for key, guid, language, url in rows:
            found.setdefault(key, []).append(Version(guid, language, url))
        return found

    async def count_items(self, query: ItemQuery) -> int:
        source, where, _, p = _where(query)
        async with self._read() as db:
            return int(await db.fetchval(f"SELECT count(*) FROM {source} WHERE {where}", *p.values))

    async def counts(self) -> Counts:
        async with self._read() as db:
            kinds = await db.fetch(
                "SELECT language, kind, count(*) FROM items GROUP BY language, kind"
            )
            topics = await db.fetch(
                "SELECT language, topic, count(*) FROM item_topics GROUP BY language, topic"
            )
        return Counts(
            by_language_kind={(r[0], r[1]): int(r[2]) for r in kinds},
            by_language_topic={(r[0], r[1]): int(r[2]) for r in topics},
        )

    async def last_change(self) -> datetime | None:
        async with self._read() as db:
            row = await db.fetchrow(
                "SELECT (SELECT max(last_changed) FROM items), "
                "(SELECT value FROM store_meta WHERE key = 'last_delete')"
            )
        moments = [datetime.fromisoformat(v) for v in row if v] if row else []
        return max(moments, default=None)

    async def explain(self, query: ItemQuery) -> list[str]:
        sql, params = self._select_sql(query)
        async with self._read() as db:
            rows = await db.fetch(f"EXPLAIN {sql}", *params)
        return [str(row[0]) for row in rows]
