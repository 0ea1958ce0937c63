"""The SQLite store: the entity mixins over one set of connections."""

from __future__ import annotations

from wcofeed.store.items import ItemsSQL
from wcofeed.store.sources import SourcesSQL
from wcofeed.store.subscribers import SubscribersSQL


class SQLiteStore(ItemsSQL, SourcesSQL, SubscribersSQL):
    """The store on one SQLite file. Create it with `await SQLiteStore.open(path)`."""
