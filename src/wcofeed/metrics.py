"""Prometheus metrics of one wcofeed process.

Counters and durations are recorded by the wiring layer (the service and the web
handlers and hooks), never by ingest, publish or digest themselves, which stay free of
observability concerns. Gauges that describe stored state (items per kind and
language, pending emails) are read from the store at scrape time instead of being
kept in step by hand.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from wcofeed.isolate import Skipped

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

        self.items_skipped = Counter(
            "wcofeed_items_skipped",
            "Items left out of an output because they could not be read or rendered, by "
            "stage (read: a stored row the model refuses; feed, atom, rss, json, ics; email).",
            ["stage"],
            registry=r,
        )
        self.server_errors = Counter(
            "wcofeed_http_server_errors",
            "HTTP answers with a 5xx status (500: an unhandled error), by status.",
            ["status"],
            registry=r,
        )
        self.admin_auth_failures = Counter(
            "wcofeed_admin_auth_failures",
            "Admin API requests refused for a missing or wrong token.",
            registry=r,
        )
        self._reads_skipped = 0

    def skipped(self, records: Iterable[Skipped]) -> None:
        """Count the items a publish, a digest round or a feed answer left out."""
        for record in records:
            self.items_skipped.labels(stage=record.stage).inc()

    def reads_skipped(self, total: int) -> None:
        """Catch up with the store's count of unreadable rows skipped since it opened."""
        if total > self._reads_skipped:
            self.items_skipped.labels(stage="read").inc(total - self._reads_skipped)
            self._reads_skipped = total

    def render(self) -> bytes:
        return generate_latest(self.registry)
