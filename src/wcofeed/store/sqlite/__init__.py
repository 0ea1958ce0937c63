"""The SQLite store: the entity mixins over one set of connections."""

from __future__ import annotations

from wcofeed.store.sqlite.details import DetailsSQL
from wcofeed.store.sqlite.items import ItemsSQL
from wcofeed.store.sqlite.sources import SourcesSQL
from wcofeed.store.sqlite.subscribers import SubscribersSQL


class SQLiteStore(ItemsSQL, SourcesSQL, DetailsSQL, SubscribersSQL):
    """The store on one SQLite file. Create it with `await SQLiteStore.open(path)`."""
