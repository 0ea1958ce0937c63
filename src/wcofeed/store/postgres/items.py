"""Items, their topics and full-text search, in PostgreSQL.

The same queries as the SQLite store's (`sqlite/items.py`), in PostgreSQL's dialect:
fixed fragments and `$n` placeholders only, rows read back by the SQLite store's own
`_row_to_item` (the columns are the same), so both stores answer alike. A batch is
written as JSON (`jsonb_to_recordset`), one statement per step. Each write journals its
changes (`item_changes`, as SQLite's) in its transaction, then announces the commit
(NOTIFY) to wake other processes' caches early; the journal, not the announcement, is
what they follow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from wcofeed.models import Item, UpsertResult, announce_from, as_utc
from wcofeed.store import rarity
from wcofeed.store.interface import Changes, Counts, ItemQuery, Version
from wcofeed.store.postgres.base import CHANGES, JOURNAL_LOCK, PostgresBase
from wcofeed.store.sqlite.items import (
    _FIELDS,
    _STORED,
    _WORD,
    JOURNAL_KEPT,
    _change,
    _micros,
    _row_params,
    _row_to_item,
    outcomes,
)

if TYPE_CHECKING:
    from wcofeed.store.postgres.base import Connection

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


def _state(row: str) -> str:
    """An items row's `ItemState` as a JSON array, as SQLite's journal writes it."""
    topics = f"""SELECT coalesce(jsonb_agg(topic ORDER BY topic), '[]'::jsonb)
        FROM item_topics WHERE item_id = {row}.id"""
    return (
        f"jsonb_build_array({row}.language, {row}.kind, ({topics}), "
        f"{row}.sort_ts, {row}.deadline_ts, {row}.guid)"
    )


def _versions(row: str) -> str:
    """The states of the other versions sharing the row's translation key (indexed)."""
    return f"""(SELECT coalesce(jsonb_agg({_state("v")} ORDER BY v.id), '[]'::jsonb)
        FROM items AS v WHERE v.translation_key = {row}.translation_key AND v.id <> {row}.id)"""


# Before a batch's updates: the changed rows' states and their versions'.
_OLD_STATES = f"""SELECT coalesce(jsonb_agg(jsonb_build_object('guid', items.guid,
    'old', {_state("items")}, 'versions', {_versions("items")})), '[]'::jsonb)::text
    FROM items WHERE guid = ANY($1::text[])"""

# After them: a journal row per item the batch wrote (its `last_changed` is the batch's),
# in the batch's order; versions before or after the write, each once.
_JOURNAL = f"""INSERT INTO item_changes (guid, old, new, versions)
    SELECT items.guid, o.old, {_state("items")},
        (SELECT coalesce(jsonb_agg(s.state ORDER BY s.state), '[]'::jsonb) FROM (
            SELECT jsonb_array_elements(coalesce(o.versions, '[]'::jsonb)) AS state
            UNION SELECT jsonb_array_elements({_versions("items")})) AS s)
    FROM unnest($1::text[]) WITH ORDINALITY AS b (guid, n)
    JOIN items ON items.guid = b.guid
    LEFT JOIN jsonb_to_recordset($2::jsonb) AS o (guid text, old jsonb, versions jsonb)
        ON o.guid = items.guid
    WHERE items.last_changed = $3
    ORDER BY b.n"""

# The journal's last committed id (not the sequence's, which may name a row still to
# commit); pruning keeps the latest rows, so it never goes back. 0 before the first write.
_CURSOR = "SELECT coalesce(max(id), 0) FROM item_changes"

_DELETED = f"""SELECT {_state("items")} AS old, {_versions("items")} AS versions
    FROM items WHERE guid = $1 FOR UPDATE"""

_PRUNE = "DELETE FROM item_changes WHERE id <= (SELECT max(id) FROM item_changes) - $1"

# Taken (to commit) just before a transaction's journal rows: see migration 5.
_JOURNAL_ORDER = f"SELECT pg_advisory_xact_lock({JOURNAL_LOCK})"

# The ids of the items matching a text, found in the text search index.
_MATCHING = "SELECT id FROM items WHERE search @@ wcofeed_search_query({})"
_COUNT_MATCHING = f"SELECT count(*) FROM ({_MATCHING.format('$1')} LIMIT $2) AS m"

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


def _words(q: str | None) -> str:
    """The words of a search text, as `wcofeed_search_query` takes them."""
    return " ".join(_WORD.findall(q or ""))


def _text(words: str, rare: bool, p: _Params) -> str:
    """Items matching `words`, as `rarity` chose. Rare text is searched first: the ids
    the text search index finds (`ARRAY(…)`, run once before the rest), then the other
    filters and the sort of those few. Left to the planner, which guesses a word's
    frequency over six OR-ed configurations (some percent of the table even for a word
    in no item), it walks the order's index testing each row's text: for a rare word,
    nearly every row. Common text is checked row by row along the order's index (`IS
    TRUE` keeps the planner off the text index, whose whole match set would be read
    and sorted)."""
    if rare:
        return f"items.id = ANY(ARRAY({_MATCHING.format(p(words))}))"
    return f"(items.search @@ wcofeed_search_query({p(words)})) IS TRUE"


def _where(query: ItemQuery, rare_text: bool = True) -> tuple[str, str, str, _Params]:
    """FROM, WHERE and ORDER BY clauses (fixed fragments) plus their parameters;
    `rare_text`: `q` matches few items (see `_text`)."""
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
        words = _words(query.q)
        if words:
            clauses.append(_text(words, rare_text, p))
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
            previous_rows, old_states = [], "[]"
            if changed:
                previous_rows = await db.fetch(
                    f"SELECT {_COLUMNS} FROM items WHERE guid = ANY($1::text[])", changed
                )
                old_states = await db.fetchval(_OLD_STATES, changed)
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
                written = [g for g in batch if g in set(changed) or g not in known]
                await db.execute(_JOURNAL_ORDER)
                await db.execute(_JOURNAL, written, old_states, stamp)
                await db.execute(_PRUNE, JOURNAL_KEPT)
                await db.execute(_NOTIFY)
        previous = {
            item.guid: item for item in self._readable(map(dict, previous_rows), _row_to_item)
        }
        return outcomes(batch, known, previous, news, now)

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
            deleted = await db.fetchrow(_DELETED, guid)
            if deleted is None:
                return False
            await db.execute("DELETE FROM items WHERE guid = $1", guid)
            await db.execute(_JOURNAL_ORDER)
            await db.execute(
                "INSERT INTO item_changes (guid, old, versions) VALUES ($1, $2::jsonb, $3::jsonb)",
                guid,
                deleted["old"],
                deleted["versions"],
            )
            await db.execute(
                "INSERT INTO store_meta (key, value) VALUES ('last_delete', $1) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                datetime.now(UTC).isoformat(),
            )
            await db.execute(_NOTIFY)
            return True

    async def query_items(self, query: ItemQuery) -> list[Item]:
        async with self._read() as db:
            sql, params = await self._select_sql(db, query)
            rows = await db.fetch(sql, *params)
        return self._readable(map(dict, rows), _row_to_item)

    async def _rare_text(self, db: Connection, query: ItemQuery) -> bool:
        """Whether `q` matches few items (see `rarity`), counted in the text search index."""
        words = _words(query.q)
        if not words:
            return True

        async def count(cap: int) -> int:
            return int(await db.fetchval(_COUNT_MATCHING, words, cap))

        return await rarity.rare_text(self.url, words, count)

    async def _select_sql(self, db: Connection, query: ItemQuery) -> tuple[str, list[Any]]:
        source, where, order, p = _where(query, await self._rare_text(db, query))
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
        async with self._read() as db:
            source, where, _, p = _where(query, await self._rare_text(db, query))
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

    async def item_changes(self, after: int | None, limit: int = 1000) -> Changes:
        async with self._read() as db:
            if after is None:
                return Changes(int(await db.fetchval(_CURSOR)), ())
            found = await db.fetch(
                "SELECT id, guid, old::text, new::text, versions::text FROM item_changes "
                "WHERE id > $1 ORDER BY id LIMIT $2",
                after,
                max(1, limit),
            )
            if not found:
                return Changes(after, ())
            lowest = int(await db.fetchval("SELECT min(id) FROM item_changes"))
        changes = tuple(_change(dict(row)) for row in found)
        return Changes(int(found[-1]["id"]), changes, after >= lowest - 1)

    async def text_matches(self, guids: Iterable[str], q: str) -> set[str]:
        words = _words(q)
        if not words:
            return set()
        async with self._read() as db:
            rows = await db.fetch(
                "SELECT guid FROM items WHERE guid = ANY($1::text[]) "
                "AND search @@ wcofeed_search_query($2)",
                sorted(set(guids)),
                words,
            )
        return {str(row[0]) for row in rows}

    async def explain(self, query: ItemQuery) -> list[str]:
        async with self._read() as db:
            sql, params = await self._select_sql(db, query)
            rows = await db.fetch(f"EXPLAIN {sql}", *params)
        return [str(row[0]) for row in rows]
