"""Items, their topics and full-text search, in SQLite.

Queries are assembled from fixed fragments with `?` placeholders only: no value is
ever written into SQL text. Items rank by `sort_ts`, derived when written (migration 7
says how): the source's date, else when the item became news, back catalogue last. A
single-topic query walks `item_topics`' covering index (topic, language, kind, sort_ts)
so the latest N cost O(N) whatever the table size.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any, cast

from wcofeed.models import (
    Deadline,
    Item,
    UpsertOutcome,
    UpsertResult,
    announce_from,
    as_utc,
    attachment_to_dict,
    attachments_from_value,
    parse_iso_date_or_datetime,
)
from wcofeed.store import rarity
from wcofeed.store.interface import Changes, Counts, ItemChange, ItemQuery, ItemState, Version
from wcofeed.store.sqlite.base import SQLiteBase

# An upsert is one job on the writer's thread whose statements all read the batch from
# one JSON parameter (an array per row, in `_STORED` order, then the topics). Changed
# rows are those whose stored hash differs from the batch's.
_STORED = [
    "guid",
    "kind",
    "title",
    "summary",
    "summary_html",
    "url",
    "language",
    "translation_key",
    "content_html",
    "content_text",
    "attachments",
    "published",
    "published_ts",
    "deadline_date",
    "deadline_time",
    "deadline_tz",
    "deadline_ts",
    "deadline_precision",
    "deadline_wording",
    "source",
    "first_seen",
    "first_seen_ts",
    "last_changed",
    "content_hash",
    "announce_ts",
]
# Decided when an item is first seen, kept by every later write.
_FIRST_SIGHT = ("guid", "first_seen", "first_seen_ts", "announce_ts")
_UPDATED = [c for c in _STORED if c not in _FIRST_SIGHT]
# What an `Item` is read back from: the stored columns but the ones kept for indexes and
# change detection, plus the topics from their own table.
_FIELDS = (
    *(c for c in _STORED if not c.endswith("_ts") and c != "content_hash"),
    "announce_ts",
    "topics",
)
_COLUMNS = (
    ", ".join(f"items.{name}" for name in _FIELDS[:-1])
    + ", (SELECT group_concat(topic, ' ') FROM item_topics WHERE item_id = items.id) AS topics"
)


def _from_json(column: str) -> str:
    """A column of the batch row `j` (rows are arrays in `_STORED` order, then topics)."""
    return f"json_extract(j.value, '$[{_STORED.index(column)}]')"


_BATCH = f"json_each(?) AS j JOIN items ON items.guid = {_from_json('guid')}"
_CHANGED = f"{_BATCH} AND items.content_hash <> {_from_json('content_hash')}"

_KNOWN = f"""SELECT json_group_array(json_array(items.guid, items.content_hash,
    items.first_seen, items.last_changed, items.announce_ts)) FROM {_BATCH}"""

_PREVIOUS = (
    "SELECT json_group_array(json_object("
    + ", ".join(f"'{name}', {name}" for name in _FIELDS)
    + f")) FROM (SELECT {_COLUMNS} FROM {_CHANGED})"
)

_DELETE_TOPICS = f"DELETE FROM item_topics WHERE item_id IN (SELECT items.id FROM {_CHANGED})"

_UPDATE = (
    "UPDATE items SET "
    + ", ".join(f"{column} = {_from_json(column)}" for column in _UPDATED)
    + f" FROM json_each(?) AS j WHERE items.guid = {_from_json('guid')}"
    + f" AND items.content_hash <> {_from_json('content_hash')}"
)

_INSERT = (
    f"INSERT INTO items ({', '.join(_STORED)}) "
    f"SELECT {', '.join(map(_from_json, _STORED))} FROM json_each(?) AS j "
    "WHERE true ON CONFLICT (guid) DO NOTHING"
)

# Unchanged items already have these rows (topics are part of the hash); changed ones
# had theirs deleted above.
_INSERT_TOPICS = f"""INSERT INTO item_topics (item_id, topic, language, kind, sort_ts)
    SELECT items.id, t.value, items.language, items.kind, items.sort_ts
    FROM {_BATCH} JOIN json_each(j.value, '$[{len(_STORED)}]') AS t
    WHERE true ON CONFLICT (item_id, topic) DO NOTHING"""

_WORD = re.compile(r"\w+", re.UNICODE)


def _state(row: str) -> str:
    """An items row's `ItemState` as a JSON array (the journal's format, migration 10)."""
    topics = f"SELECT json_group_array(topic) FROM item_topics WHERE item_id = {row}.id"
    return (
        f"json_array({row}.language, {row}.kind, json(({topics})), "
        f"{row}.sort_ts, {row}.deadline_ts, {row}.guid)"
    )


def _versions(row: str) -> str:
    """The states of the other versions sharing the row's translation key (indexed)."""
    return f"""json((SELECT json_group_array(json({_state("v")})) FROM items AS v
        WHERE v.translation_key = {row}.translation_key AND v.id <> {row}.id))"""


#: Changes journalled at most: a reader whose cursor falls further behind is told its
#: view is incomplete (and drops every cached answer).
JOURNAL_KEPT = 20_000

# Before a batch's updates: the changed rows' states and their versions', by guid.
_OLD_STATES = f"""SELECT json_group_object(items.guid,
    json_array(json({_state("items")}), {_versions("items")})) FROM {_CHANGED}"""

# After them: a journal row per item the batch wrote (its `last_changed` is the batch's).
# The batch drives the join (CROSS JOIN, `+`): from the `last_changed` index, the planner
# would match every row written now against the whole batch.
_JOURNAL = f"""INSERT INTO item_changes (guid, old, new, versions)
    SELECT items.guid, json_extract(o.value, '$[0]'), {_state("items")},
        (SELECT json_group_array(json(value)) FROM (
            SELECT value FROM json_each(coalesce(o.value, '[0, []]'), '$[1]')
            UNION SELECT value FROM json_each({_versions("items")})))
    FROM json_each(?) AS j CROSS JOIN items ON items.guid = {_from_json("guid")}
    LEFT JOIN json_each(?) AS o ON o.key = items.guid
    WHERE +items.last_changed = ?"""

_JOURNAL_DELETE = f"""INSERT INTO item_changes (guid, old, versions)
    SELECT guid, {_state("items")}, {_versions("items")} FROM items WHERE guid = ?"""

_PRUNE = "DELETE FROM item_changes WHERE id <= (SELECT max(id) FROM item_changes) - ?"


def _upsert_job(payload: str, stamp: str) -> Callable[[sqlite3.Connection], tuple[str, str]]:
    """The batch's writes and their journal; returns the stored state before them (as
    JSON arrays)."""

    def job(db: sqlite3.Connection) -> tuple[str, str]:
        params = (payload,)
        known: str = db.execute(_KNOWN, params).fetchone()[0]
        previous, old_states = "[]", "{}"
        if known != "[]":
            previous = db.execute(_PREVIOUS, params).fetchone()[0]
            if previous != "[]":
                old_states = db.execute(_OLD_STATES, params).fetchone()[0]
                db.execute(_DELETE_TOPICS, params)
                db.execute(_UPDATE, params)
        db.execute(_INSERT, params)
        db.execute(_INSERT_TOPICS, params)
        if db.execute(_JOURNAL, (payload, old_states, stamp)).rowcount:
            db.execute(_PRUNE, (JOURNAL_KEPT,))
        return known, previous

    return job


def _state_of(value: Any) -> ItemState | None:
    if value is None:
        return None
    language, kind, topics, rank, deadline, guid = (
        json.loads(value) if isinstance(value, str) else value
    )
    return ItemState(language, kind, tuple(topics), int(rank), deadline, guid)


def _change(row: sqlite3.Row | Mapping[str, Any]) -> ItemChange:
    versions = tuple(_state_of(v) for v in json.loads(row["versions"]))
    return ItemChange(
        guid=row["guid"],
        old=_state_of(row["old"]),
        new=_state_of(row["new"]),
        versions=tuple(v for v in versions if v is not None),
        cursor=int(row["id"]),
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def _from_micros(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def outcomes(
    batch: Mapping[str, Item],
    known: Mapping[str, Sequence[Any]],
    previous: Mapping[str, Item],
    news: Mapping[str, datetime | None],
    now: datetime,
) -> list[UpsertResult]:
    """What an upsert did to each item of `batch`, in its order, from what each store
    found before writing: `known` holds a stored item's content hash, first and last
    seen and announce time, `previous` the stored item of those that changed."""
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


def _row_params(item: Item, stamp: str, micros: int, announce: datetime | None) -> list[Any]:
    """The row of an item written at `stamp`, news from `announce` if first seen now (an
    update keeps a stored row's first sight)."""
    deadline = item.deadline
    published = item.published_at
    return [
        item.guid,
        item.kind,
        item.title,
        item.summary,
        item.summary_html,
        item.url,
        item.language,
        item.translation_key,
        item.content_html,
        item.content_text,
        json.dumps([attachment_to_dict(a) for a in item.attachments]),
        item.published.isoformat() if item.published is not None else None,
        int(published.timestamp()) if published is not None else None,
        deadline.day.isoformat() if deadline else None,
        deadline.at.isoformat() if deadline and deadline.at else None,
        deadline.tz if deadline else None,
        int(deadline.closes_at().timestamp()) if deadline else None,
        deadline.precision if deadline else "day",
        deadline.wording if deadline else "",
        item.source,
        stamp,
        micros,
        stamp,
        item.content_hash,
        _micros(announce) if announce is not None else None,
        item.topics,
    ]


def _row_to_item(row: sqlite3.Row | Mapping[str, Any]) -> Item:
    deadline = None
    if row["deadline_date"]:
        deadline = Deadline(
            date.fromisoformat(row["deadline_date"]),
            time.fromisoformat(row["deadline_time"]) if row["deadline_time"] else None,
            row["deadline_tz"],
            row["deadline_precision"],
            row["deadline_wording"],
        )
    return Item(
        guid=row["guid"],
        kind=row["kind"],
        title=row["title"],
        summary=row["summary"],
        summary_html=row["summary_html"],
        url=row["url"],
        language=row["language"],
        translation_key=row["translation_key"],
        content_html=row["content_html"],
        content_text=row["content_text"],
        attachments=attachments_from_value(json.loads(row["attachments"] or "[]")),
        published=parse_iso_date_or_datetime(row["published"]) if row["published"] else None,
        source=row["source"],
        topics=tuple((row["topics"] or "").split()),
        deadline=deadline,
        first_seen=datetime.fromisoformat(row["first_seen"]),
        last_changed=datetime.fromisoformat(row["last_changed"]),
        announce_from=_from_micros(row["announce_ts"]),
    )


#: What a stored row holds beyond its content hash, so that these columns name every
#: value of the row: the store rewrites a row only with a new hash and `last_changed`,
#: and the hash leaves out the guid, the source and a day deadline's wording. A page
#: reads these first, and the rest of a row only when no item is kept for them.
_STAMP = (
    "items.id, items.guid, items.content_hash, items.source, items.deadline_wording, "
    "items.first_seen, items.last_changed, items.announce_ts"
)
_STAMPED = f"{_STAMP}, {_COLUMNS}"
_STAMP_WIDTH = _STAMP.count(",") + 1
#: A page's stamps, with whether each item has another version: most have none (most
#: items exist in one language), and looking that up in the translation key's index
#: costs a fifth of reading every item's versions.
_PAGE_STAMP = f"""{_STAMP}, items.translation_key, EXISTS (SELECT 1 FROM items AS v
    WHERE v.translation_key = items.translation_key AND v.id <> items.id) AS shared"""

#: Items made from rows lately read, by the row's stamp: a list read again (a feed
#: polled, a page turned) reuses them instead of validating and hashing each row anew.
_MADE_KEPT = 4096


class _MadeItems:
    """`_row_to_item`, remembering what it made by the row's stamp (`_STAMP`, least
    recently made dropped first). A row the store rewrites has another stamp, so a kept
    item is the row's as the store wrote it; a row edited by hand, outside the store,
    is read afresh by the next store opened (each store keeps its own)."""

    def __init__(self) -> None:
        self._made: dict[tuple[Any, ...], Item] = {}

    def kept(self, stamp: Sequence[Any]) -> Item | None:
        """The item kept for a stamp (a row whose first columns are `_STAMP`). Called
        on readers' threads: a dict's `get` is one step under the GIL, and only the
        event loop's thread changes the dict."""
        return self._made.get(tuple(stamp[:_STAMP_WIDTH]))

    def __call__(self, entry: Item | sqlite3.Row) -> Item:
        if isinstance(entry, Item):
            return entry
        key = tuple(entry[:_STAMP_WIDTH])
        item = self._made.get(key)
        if item is None:
            item = _row_to_item(entry)
            if len(self._made) >= _MADE_KEPT:
                del self._made[next(iter(self._made))]
            self._made[key] = item
        return item


def _in(column: str, values: Sequence[Any], params: list[Any]) -> str:
    params.extend(values)
    if len(values) == 1:
        return f"{column} = ?"
    return f"{column} IN ({', '.join('?' * len(values))})"


def fts_phrase(text: str) -> str:
    """User text as an FTS5 query: every word required, FTS operators taken literally."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in _WORD.findall(text))


def _edition(edition: Sequence[str], lang: str, params: list[Any]) -> str:
    """Items in the edition's languages that no better version replaces: none of the
    same translation key in an earlier language, nor in the same language stored
    earlier. The versions of one key are a few rows of `items_translation`.

    With several languages, `+` keeps the planner off the language indexes, so it walks
    the index of the sort order and filters (O(N) for the latest N) instead of sorting
    every item of those languages."""
    member = _in(lang if len(edition) == 1 else f"+{lang}", edition, params)
    marks = ", ".join("?" * len(edition))
    params.extend(edition)
    rank = "CASE {} " + " ".join(f"WHEN ? THEN {n}" for n in range(len(edition))) + " END"
    params.extend([*edition, *edition])
    return f"""{member} AND NOT EXISTS (SELECT 1 FROM items AS v
        WHERE v.translation_key = items.translation_key AND v.language IN ({marks})
        AND ({rank.format("v.language")} < {rank.format(lang)}
             OR (v.language = {lang} AND v.id < items.id)))"""


def _where(query: ItemQuery, rare_text: bool = True) -> tuple[str, str, str, list[Any]]:
    """FROM, WHERE and ORDER BY clauses (fixed fragments) plus their parameters;
    `rare_text`: `q` matches few items (`rarity.RARE_TEXT`): its matches are looked up
    first (`IN`), else checked row by row along the order's index."""
    params: list[Any] = []
    clauses: list[str] = []
    via_topics = len(query.topics) == 1 and query.order == "published"
    if via_topics:
        source = "item_topics AS t JOIN items ON items.id = t.item_id"
        clauses.append(_in("t.topic", query.topics, params))
        lang, kind, ts = "t.language", "t.kind", "t.sort_ts"
        order = "t.sort_ts DESC, t.item_id DESC"
    else:
        source = "items"
        lang, kind, ts = "items.language", "items.kind", "items.sort_ts"
        if query.topics:
            inner = _in("t.topic", query.topics, params)
            clauses.append(
                f"EXISTS (SELECT 1 FROM item_topics AS t WHERE t.item_id = items.id AND {inner})"
            )
        if query.order == "deadline":
            order = "items.deadline_ts, items.id"
        elif query.order == "deadline-desc":
            order = "items.deadline_ts DESC, items.id DESC"
        else:
            order = "items.sort_ts DESC, items.id DESC"
    if query.languages:
        clauses.append(_in(lang, query.languages, params))
    if query.edition:
        clauses.append(_edition(query.edition, lang, params))
    if query.kinds:
        clauses.append(_in(kind, query.kinds, params))
    if query.open_at is not None:
        clauses.append("items.kind = 'call' AND items.deadline_ts >= ?")
        params.append(int(as_utc(query.open_at).timestamp()))
    elif query.closed_at is not None:
        clauses.append("items.kind = 'call' AND items.deadline_ts < ?")
        params.append(int(as_utc(query.closed_at).timestamp()))
    elif query.order != "published":
        clauses.append("items.deadline_ts IS NOT NULL")
    if query.since is not None:
        clauses.append(f"{ts} >= ?")
        params.append(int(as_utc(query.since).timestamp()))
    if query.seen_since is not None:
        clauses.append("items.first_seen_ts >= ?")
        params.append(_micros(as_utc(query.seen_since)))
    if query.news_since is not None:
        clauses.append("items.announce_ts >= ?")
        params.append(_micros(as_utc(query.news_since)))
    if query.source:
        clauses.append("items.source = ?")
        params.append(query.source)
    if query.q:
        phrase = fts_phrase(query.q)
        if not phrase:
            clauses.append("0")
        elif rare_text:
            clauses.append("items.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)")
            params.append(phrase)
        else:
            clauses.append(
                "EXISTS (SELECT 1 FROM items_fts WHERE items_fts MATCH ? AND rowid = items.id)"
            )
            params.append(phrase)
    where = " AND ".join(clauses) or "1"
    return source, where, order, params


#: A window of ids checked for a common `q` in one read of the text index spans at most
#: this many ids per row of the window (else each row is checked alone): reading the
#: index costs about 0.2 µs an id, checking a row 30-40 µs.
_SPAN_PER_ROW = 150
# `+rowid`: offered to FTS5 as a constraint, the window's ids would be looked up one by
# one (a cursor each, the cost the window avoids); as a filter, the range is read once.
_WINDOW_MATCHES = (
    "SELECT rowid FROM items_fts WHERE items_fts MATCH ? "
    "AND rowid BETWEEN ? AND ? AND +rowid IN (SELECT value FROM json_each(?))"
)


def _next_window(need: int, matched: int, size: int) -> int:
    """How many rows the next window of a common `q` walks for `need` matches, when the
    last one (`size` rows, none at first) held `matched`: a quarter more than the
    rate seen says, and at least twice as long."""
    rate = matched / size if size else 1.0
    wanted = need / rate if rate else 4.0 * size
    return max(2 * size, int(wanted * 1.25) + 8)


def _window(query: ItemQuery) -> tuple[str, list[Any]]:
    """The ids of the query's first rows, `q` aside, in its order (LIMIT: the last
    parameter, left to add)."""
    source, where, order, params = _where(dataclasses.replace(query, q=""))
    return f"SELECT items.id FROM {source} WHERE {where} ORDER BY {order} LIMIT ?", params


# The reads below are jobs run whole on a reader's thread (`SQLiteBase._read_job`): a
# statement awaited alone costs a round trip to that thread, about 80 µs, and a cache
# miss of a feed with a common `q` is four statements with its versions. Jobs keep their
# Python short: on a reader's thread it takes the GIL from the event loop in slices
# (see `item_changes`).


def _rare_text(db: sqlite3.Connection, database: str, query: ItemQuery) -> bool:
    """Whether `q` matches few items (see `rarity`), counted in the FTS index."""
    return _rare_phrase(db, database, fts_phrase(query.q) if query.q else "")


def _rare_phrase(db: sqlite3.Connection, database: str, phrase: str) -> bool:
    if not phrase:
        return True

    def count(cap: int) -> int:
        sql = "SELECT count(*) FROM (SELECT 1 FROM items_fts WHERE items_fts MATCH ? LIMIT ?)"
        return int(db.execute(sql, (phrase, cap)).fetchone()[0])

    return rarity.rare_text_now(database, phrase, count)


def _common_text(db: sqlite3.Connection, database: str, query: ItemQuery) -> bool:
    """Whether the query asks for a page of a common `q` (see `rarity`; no `q`, or one
    with no word, counts as rare)."""
    return query.limit > 0 and not _rare_text(db, database, query)


def _common_text_rows(
    db: sqlite3.Connection, query: ItemQuery, columns: str = _STAMP
) -> list[sqlite3.Row] | None:
    """The stamps (`columns`) of the page of a query whose `q` is common, None when this
    way would cost more than the row-by-row plan.

    Checking one row's text costs FTS5 a cursor (30-40 µs), while reading its index
    over a range of ids costs about 0.2 µs an id. So the query without `q` walks its
    order's index for a window of ids, a quarter more than the page needs; their text
    is checked in one read of the index between the window's lowest and highest id;
    the page is the window's matches in the window's order. A window holding fewer
    matches than the page needs (and not the last rows) is walked again, longer by the
    share of matches it held (`_next_window`). Items mostly get ids in the order they
    are dated, so a window's ids are close together; when they are not (more than
    `_SPAN_PER_ROW` ids apart per row), the row-by-row plan costs less, and None says
    to run it."""
    walk, params = _window(query)
    phrase = fts_phrase(query.q or "")
    offset = max(0, query.offset)
    need = offset + query.limit
    size = _next_window(need, need, 0)
    while True:
        window = [int(row[0]) for row in db.execute(walk, [*params, size])]
        if not window:
            return []
        low, high = min(window), max(window)
        if high - low >= _SPAN_PER_ROW * len(window):
            return None
        found = {
            int(row[0])
            for row in db.execute(_WINDOW_MATCHES, (phrase, low, high, json.dumps(window)))
        }
        matches = [item_id for item_id in window if item_id in found]
        if len(matches) >= need or len(window) < size:
            break
        size = _next_window(need, len(matches), size)
    return db.execute(
        f"SELECT {columns} FROM json_each(?) AS page CROSS JOIN items "
        "ON items.id = page.value ORDER BY page.key",
        (json.dumps(matches[offset:need]),),
    ).fetchall()


def _select_sql(
    db: sqlite3.Connection, database: str, query: ItemQuery, columns: str = _STAMP
) -> tuple[str, list[Any]]:
    source, where, order, params = _where(query, _rare_text(db, database, query))
    sql = f"SELECT {columns} FROM {source} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
    return sql, [*params, max(0, query.limit), max(0, query.offset)]


def _stamps(
    database: str, query: ItemQuery, db: sqlite3.Connection, columns: str = _STAMP
) -> list[sqlite3.Row]:
    """The stamps (`columns`) of the query's page, by its cheapest plan."""
    stamps = _common_text_rows(db, query, columns) if _common_text(db, database, query) else None
    if stamps is None:
        stamps = db.execute(*_select_sql(db, database, query, columns)).fetchall()
    return stamps


def _query_rows(
    database: str, query: ItemQuery, made: _MadeItems, db: sqlite3.Connection
) -> list[Item | sqlite3.Row]:
    """The page's kept items, and the rows of the others (`_MadeItems` makes them)."""
    return _kept_or_read(db, _stamps(database, query, db), made)


def _kept_or_read(
    db: sqlite3.Connection, stamps: Sequence[sqlite3.Row], made: _MadeItems
) -> list[Item | sqlite3.Row]:
    """Each stamp's kept item, else its row: on a feed polled or a page turned most
    items are kept, and reading a whole row costs three times its stamp (the topics'
    subquery, the text). A row rewritten or deleted since its stamp was read (each
    statement sees the latest commit) is given as it is now, or left out."""
    kept = [made.kept(stamp) for stamp in stamps]
    missing = [stamp[0] for stamp, item in zip(stamps, kept, strict=True) if item is None]
    if not missing:
        return cast(list[Item | sqlite3.Row], kept)
    rows = {
        row[0]: row
        for row in db.execute(
            f"SELECT {_STAMPED} FROM items WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(missing),),
        )
    }
    page: list[Item | sqlite3.Row] = []
    for stamp, item in zip(stamps, kept, strict=True):
        entry = item if item is not None else rows.get(stamp[0])
        if entry is not None:
            page.append(entry)
    return page


def _versions_of(translation_keys: set[str], db: sqlite3.Connection) -> dict[str, list[Version]]:
    rows = db.execute(
        "SELECT translation_key, guid, language, url FROM items "
        "WHERE translation_key IN (SELECT value FROM json_each(?)) "
        "ORDER BY translation_key, language, id",
        (json.dumps(sorted(translation_keys)),),
    )
    found: dict[str, list[Version]] = {}
    for key, guid, language, url in rows:
        found.setdefault(key, []).append(Version(guid, language, url))
    return found


def _page(
    database: str, query: ItemQuery, made: _MadeItems, db: sqlite3.Connection
) -> tuple[list[Item | sqlite3.Row], dict[str, list[Version]]]:
    stamps = _stamps(database, query, db, _PAGE_STAMP)
    shared = {stamp["translation_key"] for stamp in stamps if stamp["shared"]}
    return _kept_or_read(db, stamps, made), _versions_of(shared, db) if shared else {}


def _count_rows(database: str, query: ItemQuery, db: sqlite3.Connection) -> int:
    source, where, _, params = _where(query, _rare_text(db, database, query))
    return int(db.execute(f"SELECT count(*) FROM {source} WHERE {where}", params).fetchone()[0])


def _counts(db: sqlite3.Connection) -> Counts:
    kinds = db.execute("SELECT language, kind, count(*) FROM items GROUP BY language, kind")
    by_kind = {(r[0], r[1]): int(r[2]) for r in kinds}
    topics = db.execute(
        "SELECT language, topic, count(*) FROM item_topics GROUP BY language, topic"
    )
    return Counts(by_kind, {(r[0], r[1]): int(r[2]) for r in topics})


def _journal_end(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'item_changes'").fetchone()
    return int(row[0]) if row else 0


def _journal_rows(
    after: int, limit: int, db: sqlite3.Connection
) -> tuple[list[sqlite3.Row], int | None]:
    """The journal's rows after `after`, and its lowest id (None when it is empty)."""
    found = db.execute(
        "SELECT id, guid, old, new, versions FROM item_changes WHERE id > ? ORDER BY id LIMIT ?",
        (after, limit),
    ).fetchall()
    return found, db.execute("SELECT min(id) FROM item_changes").fetchone()[0]


def _text_matches(database: str, wanted: set[str], phrase: str, db: sqlite3.Connection) -> set[str]:
    if not _rare_phrase(db, database, phrase):
        return wanted
    rows = db.execute(
        "SELECT guid FROM items WHERE id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)",
        (phrase,),
    )
    return wanted.intersection(str(row[0]) for row in rows)


def _explain(database: str, query: ItemQuery, db: sqlite3.Connection) -> list[str]:
    if _common_text(db, database, query):
        walk, params = _window(query)
        steps = [(walk, [*params, 1]), (_WINDOW_MATCHES, ["x", 0, 0, "[]"])]
    else:
        steps = [_select_sql(db, database, query)]
    return [
        str(row[3])
        for sql, params in steps
        for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params)
    ]


class ItemsSQL(SQLiteBase):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._made_items = _MadeItems()

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
        rows = [_row_params(item, stamp, micros, news[item.guid]) for item in batch.values()]
        known_json, previous_json = await self._write_job(_upsert_job(json.dumps(rows), stamp))
        known = {row[0]: row[1:] for row in json.loads(known_json)}
        # A stored row the model refuses is no `previous`, but is still replaced.
        previous = {
            item.guid: item for item in self._readable(json.loads(previous_json), _row_to_item)
        }
        return outcomes(batch, known, previous, news, now)

    async def get_item(self, guid: str) -> Item | None:
        return (await self.get_items([guid])).get(guid)

    async def get_items(self, guids: Iterable[str]) -> dict[str, Item]:
        async with self._read() as db:
            rows = await db.execute_fetchall(
                f"SELECT {_COLUMNS} FROM items WHERE guid IN (SELECT value FROM json_each(?))",
                (json.dumps(list(guids)),),
            )
        return {item.guid: item for item in self._readable(rows, _row_to_item)}

    async def delete_item(self, guid: str) -> bool:
        async with self._write() as db:
            await db.execute(_JOURNAL_DELETE, (guid,))
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
        rows = await self._read_job(partial(_query_rows, str(self.path), query, self._made_items))
        return self._readable(rows, self._made_items)

    async def versions(self, translation_keys: Iterable[str]) -> dict[str, list[Version]]:
        return await self._read_job(partial(_versions_of, set(translation_keys)))

    async def query_page(self, query: ItemQuery) -> tuple[list[Item], dict[str, list[Version]]]:
        job = partial(_page, str(self.path), query, self._made_items)
        rows, versions = await self._read_job(job)
        return self._readable(rows, self._made_items), versions

    async def count_items(self, query: ItemQuery) -> int:
        return await self._read_job(partial(_count_rows, str(self.path), query))

    async def counts(self) -> Counts:
        return await self._read_job(_counts)

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

    async def item_changes(self, after: int | None, limit: int = 1000) -> Changes:
        if after is None:
            return Changes(await self._read_job(_journal_end), ())
        found, lowest = await self._read_job(partial(_journal_rows, after, max(1, limit)))
        if not found or lowest is None:
            return Changes(after, ())
        # Made here rather than in the job: Python on a reader's thread takes the GIL
        # from the event loop in slices, which cost the load benchmark more than the
        # round trip saved (bench/README.md, "Cache misses").
        complete = after >= int(lowest) - 1
        return Changes(int(found[-1]["id"]), tuple(map(_change, found)), complete)

    async def text_matches(self, guids: Iterable[str], q: str) -> set[str]:
        """A rare `q` is searched first and its few matches intersected with `guids`;
        for a common one every guid is said to match. Checking each guid's text costs
        FTS5 a cursor per row (0.1-0.4 ms): 2,000 changed items took seconds per
        search, held a reader connection all along, and a common word matches most of
        them anyway (the cache re-renders a search it was wrong about)."""
        phrase, wanted = fts_phrase(q), set(guids)
        if not phrase or not wanted:
            return set()
        return await self._read_job(partial(_text_matches, str(self.path), wanted, phrase))

    async def explain(self, query: ItemQuery) -> list[str]:
        """For a common `q`, the plans of a window's walk and of its text check."""
        return await self._read_job(partial(_explain, str(self.path), query))
