"""The PostgreSQL store: the entity mixins over one connection pool."""

from __future__ import annotations

from wcofeed.store.interface import Cluster
from wcofeed.store.postgres.details import DetailsPG
from wcofeed.store.postgres.items import ItemsPG
from wcofeed.store.postgres.rounds import RoundsPG
from wcofeed.store.postgres.sources import SourcesPG
from wcofeed.store.postgres.subscribers import SubscribersPG


class PostgresStore(ItemsPG, DetailsPG, SourcesPG, SubscribersPG, RoundsPG, Cluster):
    """The store in one PostgreSQL database (or schema, by the URL's `search_path`),
    shared by as many processes as needed. Create it with `await PostgresStore.open(url)`."""
