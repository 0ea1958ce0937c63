"""The SQLite schema as an ordered list of forward migrations.

The database's `PRAGMA user_version` is the number of migrations applied; on open,
the store applies the rest in order, each in its own transaction. Never edit a
migration that has shipped: append a new one.

`item_topics` repeats each item's language, kind and rank (`sort_ts`) so that
"latest N for language L, topic T (and kind K)" is a walk down one index, O(N).
"""

from __future__ import annotations


def _translation_key(column: str) -> str:
    """SQL for `models.default_translation_key(column)`: an http(s) link's first path
    folder, when it is one of the WCO's six language codes, replaced by `{lang}`
    (GLOB, not LIKE: the scheme is matched case-sensitively, as in Python)."""
    rest = f"substr({column}, instr({column}, '://') + 3)"
    slash = f"instr({rest}, '/')"
    return f"""CASE WHEN ({column} GLOB 'http://*' OR {column} GLOB 'https://*')
        AND {slash} > 0 AND substr({rest}, 1, {slash} - 1) NOT GLOB '*[?#]*'
        AND substr({rest}, {slash}, 4) IN ('/en/', '/fr/', '/es/', '/ru/', '/zh/', '/ar/')
        THEN substr({column}, 1, instr({column}, '://') + 1 + {slash}) || '/{{lang}}'
            || substr({rest}, {slash} + 3)
        ELSE {column} END"""


MIGRATIONS: list[str] = [
    # 1: items, their topics, sources' fetch state
    """
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        guid TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        summary TEXT NOT NULL,
        summary_html TEXT NOT NULL,
        url TEXT NOT NULL,
        language TEXT NOT NULL,
        published TEXT NOT NULL,
        published_ts INTEGER NOT NULL,
        deadline_date TEXT,
        deadline_time TEXT,
        deadline_tz TEXT,
        deadline_ts INTEGER,
        source TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        first_seen_ts INTEGER NOT NULL,
        last_changed TEXT NOT NULL,
        content_hash TEXT NOT NULL
    );
    CREATE INDEX items_published ON items (published_ts);
    CREATE INDEX items_language ON items (language, published_ts);
    CREATE INDEX items_language_kind ON items (language, kind, published_ts);
    CREATE INDEX items_kind ON items (kind, published_ts);
    CREATE INDEX items_deadline ON items (kind, deadline_ts);
    CREATE INDEX items_first_seen ON items (first_seen_ts);
    CREATE INDEX items_source ON items (source);

    CREATE TABLE item_topics (
        item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
        topic TEXT NOT NULL,
        language TEXT NOT NULL,
        kind TEXT NOT NULL,
        published_ts INTEGER NOT NULL,
        PRIMARY KEY (item_id, topic)
    );
    CREATE INDEX item_topics_topic ON item_topics (topic, published_ts, item_id);
    CREATE INDEX item_topics_language ON item_topics (topic, language, published_ts, item_id);
    CREATE INDEX item_topics_language_kind
        ON item_topics (topic, language, kind, published_ts, item_id);

    CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        last_attempt TEXT,
        last_success TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    """,
    # 2: full-text search over title and summary, kept in sync by triggers
    """
    CREATE VIRTUAL TABLE items_fts USING fts5 (
        title, summary, content = 'items', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO items_fts (items_fts) VALUES ('rebuild');
    CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
        INSERT INTO items_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
    END;
    CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
        INSERT INTO items_fts (items_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
    END;
    CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary ON items BEGIN
        INSERT INTO items_fts (items_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
        INSERT INTO items_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
    END;
    """,
    # 3: subscribers, the reminders each was sent (ever), and the outbox of claimed emails
    """
    CREATE TABLE subscribers (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT NOT NULL DEFAULT '',
        language TEXT NOT NULL,
        topics TEXT NOT NULL DEFAULT '',
        kinds TEXT NOT NULL DEFAULT '',
        lead_days TEXT NOT NULL,
        digest TEXT NOT NULL DEFAULT 'off',
        timezone TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        confirm_sent_at TEXT,
        confirmed_at TEXT,
        last_digest_at TEXT,
        hard_bounces INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    CREATE INDEX subscribers_status ON subscribers (status, id);

    CREATE TABLE outbox (
        message_id TEXT PRIMARY KEY,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
        state TEXT NOT NULL,
        payload TEXT NOT NULL,
        previous_digest_at TEXT,
        claimed_at TEXT NOT NULL,
        sent_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    CREATE INDEX outbox_state ON outbox (state, message_id);
    CREATE INDEX outbox_subscriber ON outbox (subscriber_id, state);

    CREATE TABLE reminders (
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
        item_guid TEXT NOT NULL,
        deadline_ts INTEGER NOT NULL,
        lead_days INTEGER NOT NULL,
        message_id TEXT NOT NULL REFERENCES outbox (message_id) ON DELETE CASCADE,
        PRIMARY KEY (subscriber_id, item_guid, deadline_ts, lead_days)
    ) WITHOUT ROWID;
    CREATE INDEX reminders_message ON reminders (message_id);
    """,
    # 4: when items were last deleted, so caches keyed by last_change() see deletions
    """
    CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 5: last_change() is asked by every feed cache check: max() must not scan the table
    """
    CREATE INDEX items_last_changed ON items (last_changed);
    """,
    # 6: how exactly a deadline is given (day, month, approximate) and the source's words
    """
    ALTER TABLE items ADD COLUMN deadline_precision TEXT NOT NULL DEFAULT 'day';
    ALTER TABLE items ADD COLUMN deadline_wording TEXT NOT NULL DEFAULT '';
    """,
    # 7: no invented dates. `published` is NULL when the source gives no date, and items
    # rank by `sort_ts`: the source's date (seconds) when known, else when the item became
    # news, else (a source's undated back catalogue) its first sight minus 10^12 seconds,
    # which puts it after every date a calendar can hold. `announce_ts` (microseconds) is
    # from when the item may be announced as new (`models.announce_from`); NULL: never.
    # SQLite cannot drop NOT NULL in place, so `items` is rebuilt with the same ids (the
    # FTS index stays valid) and `item_topics`, whose rows would cascade away with the old
    # table, is copied aside and rebuilt too.
    # Rows stored before: the old code gave an undated item `published` = the instant it
    # was first seen, to the microsecond, and no parsed date ever equals that, so those
    # rows become undated. A row is back catalogue when its source has fetch state (a
    # page or feed, not `wcofeed add` or the admin API) and it was first seen with that
    # source's first items. Their announce_ts follows `announce_from` with the default age
    # of 7 days (the configured one is not known here).
    """
    CREATE TABLE items_v7 (
        id INTEGER PRIMARY KEY,
        guid TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        summary TEXT NOT NULL,
        summary_html TEXT NOT NULL,
        url TEXT NOT NULL,
        language TEXT NOT NULL,
        published TEXT,
        published_ts INTEGER,
        deadline_date TEXT,
        deadline_time TEXT,
        deadline_tz TEXT,
        deadline_ts INTEGER,
        deadline_precision TEXT NOT NULL DEFAULT 'day',
        deadline_wording TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        first_seen_ts INTEGER NOT NULL,
        last_changed TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        announce_ts INTEGER,
        sort_ts INTEGER NOT NULL GENERATED ALWAYS AS (
            coalesce(published_ts, announce_ts / 1000000,
                     first_seen_ts / 1000000 - 1000000000000)
        ) STORED
    );
    WITH firsts (source, first_seen_ts) AS (
        SELECT source, min(first_seen_ts) FROM items
        WHERE source IN (SELECT id FROM sources) GROUP BY source
    ), old AS (
        SELECT items.*, items.published = items.first_seen AS undated,
               items.first_seen_ts = firsts.first_seen_ts AS baseline
        FROM items LEFT JOIN firsts ON firsts.source = items.source
    )
    INSERT INTO items_v7 (id, guid, kind, title, summary, summary_html, url, language,
        published, published_ts, deadline_date, deadline_time, deadline_tz, deadline_ts,
        deadline_precision, deadline_wording, source, first_seen, first_seen_ts,
        last_changed, content_hash, announce_ts)
    SELECT id, guid, kind, title, summary, summary_html, url, language,
        CASE WHEN undated THEN NULL ELSE published END,
        CASE WHEN undated THEN NULL ELSE published_ts END,
        deadline_date, deadline_time, deadline_tz, deadline_ts, deadline_precision,
        deadline_wording, source, first_seen, first_seen_ts, last_changed, content_hash,
        CASE
            WHEN undated THEN CASE WHEN baseline THEN NULL ELSE first_seen_ts END
            WHEN date(published_ts, 'unixepoch')
                < date(first_seen_ts / 1000000, 'unixepoch', '-7 days') THEN NULL
            WHEN baseline THEN published_ts * 1000000
            ELSE first_seen_ts
        END
    FROM old;
    CREATE TABLE item_topics_v7 AS SELECT item_id, topic FROM item_topics;
    DROP TABLE item_topics;
    DROP TABLE items;
    ALTER TABLE items_v7 RENAME TO items;
    CREATE INDEX items_sort ON items (sort_ts);
    CREATE INDEX items_language ON items (language, sort_ts);
    CREATE INDEX items_language_kind ON items (language, kind, sort_ts);
    CREATE INDEX items_kind ON items (kind, sort_ts);
    CREATE INDEX items_deadline ON items (kind, deadline_ts);
    CREATE INDEX items_first_seen ON items (first_seen_ts);
    CREATE INDEX items_source ON items (source);
    CREATE INDEX items_last_changed ON items (last_changed);

    CREATE TABLE item_topics (
        item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
        topic TEXT NOT NULL,
        language TEXT NOT NULL,
        kind TEXT NOT NULL,
        sort_ts INTEGER NOT NULL,
        PRIMARY KEY (item_id, topic)
    );
    INSERT INTO item_topics (item_id, topic, language, kind, sort_ts)
    SELECT t.item_id, t.topic, items.language, items.kind, items.sort_ts
    FROM item_topics_v7 AS t JOIN items ON items.id = t.item_id;
    DROP TABLE item_topics_v7;
    CREATE INDEX item_topics_topic ON item_topics (topic, sort_ts, item_id);
    CREATE INDEX item_topics_language ON item_topics (topic, language, sort_ts, item_id);
    CREATE INDEX item_topics_language_kind
        ON item_topics (topic, language, kind, sort_ts, item_id);

    CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
        INSERT INTO items_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
    END;
    CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
        INSERT INTO items_fts (items_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
    END;
    CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary ON items BEGIN
        INSERT INTO items_fts (items_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
        INSERT INTO items_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
    END;
    """,
    # 8: the versions of one item in several languages share a translation key (the
    # guid's language folder replaced, as `models.default_translation_key` does); a
    # subscriber's accepted content languages ('' : their language, then its fallbacks);
    # reminders are kept per translation key, so one call in several versions is reminded
    # once, and a call reminded under its guid is not reminded again.
    f"""
    ALTER TABLE items ADD COLUMN translation_key TEXT NOT NULL DEFAULT '';
    UPDATE items SET translation_key = {_translation_key("guid")};
    CREATE INDEX items_translation ON items (translation_key, language);
    ALTER TABLE subscribers ADD COLUMN content_languages TEXT NOT NULL DEFAULT '';
    UPDATE OR REPLACE reminders SET item_guid = {_translation_key("item_guid")};
    ALTER TABLE reminders RENAME COLUMN item_guid TO translation_key;
    """,
    # 9: the full text and documents read from an item's own page, and the state of
    # reading it (when next due, what the list looked like then, why it last failed, what
    # the last good read found, as JSON in `models.findings_to_dict` form).
    """
    ALTER TABLE items ADD COLUMN content_html TEXT NOT NULL DEFAULT '';
    ALTER TABLE items ADD COLUMN content_text TEXT NOT NULL DEFAULT '';
    ALTER TABLE items ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
    CREATE TABLE item_details (
        guid TEXT PRIMARY KEY REFERENCES items (guid) ON DELETE CASCADE,
        url TEXT NOT NULL,
        list_hash TEXT NOT NULL,
        due TEXT NOT NULL,
        fetched_at TEXT,
        etag TEXT,
        last_modified TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        findings TEXT
    );
    """,
    # 10: a journal of item changes, written in the same transaction as each upsert or
    # delete, so every process serving from this file (not only the writer) learns what
    # changed and drops only the cached answers those changes can touch. A row holds each
    # state's filter fields as a JSON array [language, kind, [topics], rank, deadline_ts,
    # guid]: `old` (NULL for a new item), `new` (NULL for a deletion), and `versions`, the other
    # versions of its translation keys (an edition shows one version per key, so a change
    # can hide or show another). AUTOINCREMENT: ids never come back after pruning, so a
    # reader's cursor stays meaningful.
    """
    CREATE TABLE item_changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        guid TEXT NOT NULL,
        old TEXT,
        new TEXT,
        versions TEXT NOT NULL DEFAULT '[]'
    );
    """,
    # 11: keep the text index in few segments. A common word is checked row by row
    # along the order's index (`rarity.RARE_TEXT`), one look-up per segment each time;
    # batches of upserts left several segments per level (FTS5 merges at 4), which made
    # that check 2-6x slower than on one segment. Merging at 2 keeps at most one
    # segment per level (log2 of the items); the index is merged once now.
    """
    INSERT INTO items_fts (items_fts, rank) VALUES ('automerge', 2);
    INSERT INTO items_fts (items_fts, rank) VALUES ('usermerge', 2);
    INSERT INTO items_fts (items_fts) VALUES ('optimize');
    """,
]
