"""Prometheus metrics of one wcofeed process.

Counters and durations are recorded by the wiring layer (the service and the web
middleware), never by ingest, publish or digest themselves, which stay free of
observability concerns. Gauges that describe stored state (items per kind and
language, pending emails) are read from the store at scrape time instead of being
kept in step by hand.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_ROUND_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    """One registry per process (or per test), so tests never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.fetches = Counter(
            "wcofeed_source_fetches",
            "Source fetches by outcome.",
            ["source", "outcome"],
            registry=r,
        )
        self.items = Gauge(
            "wcofeed_items",
            "Stored items by kind and language.",
            ["kind", "language"],
            registry=r,
        )
        self.source_failures = Gauge(
            "wcofeed_source_consecutive_failures",
            "Failed fetches in a row.",
            ["source"],
            registry=r,
        )
        self.feed_requests = Counter(
            "wcofeed_feed_requests", "Feed requests by HTTP status.", ["status"], registry=r
        )
        self.emails = Counter(
            "wcofeed_emails", "Emails by outcome (sent, failed).", ["outcome"], registry=r
        )
        self.emails_pending = Gauge(
            "wcofeed_emails_pending", "Deliveries claimed or due but not yet sent.", registry=r
        )
        self.rounds = Histogram(
            "wcofeed_round_seconds",
            "Duration of ingest, publish and digest rounds.",
            ["round"],
            buckets=_ROUND_BUCKETS,
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
