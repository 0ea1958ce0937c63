"""Ingest: WCO pages, partner feeds and hand-entered items -> clean `Item`s in the store.

Flow: `run.ingest` -> `fetch.Fetcher` (one aiohttp session, per-host limits, conditional
GET) -> `html` / `feeds` / `manual` (pure parsers: bytes in, items out) -> `Store`.
Parsers never touch the network or the store, so they are tested on fixtures alone.
"""
