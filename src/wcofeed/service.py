"""`wcofeed run`: one asyncio process that serves HTTP, fetches, publishes and mails.

Each enabled source has its own loop (its `every`, with jitter so sources sharing a
host do not fire together), over one shared fetcher so per-host limits hold across
sources; after an ingest, only the feeds its new and changed items touch are
rewritten. Digest rounds run at the top of every hour and serve the subscribers whose
local time has reached the send hour; deliveries are recorded, so a round run twice,
or after a restart, sends nothing twice.

SIGTERM or SIGINT stop the loops. A round in progress gets a grace period to finish;
one still running after it is cancelled, which rolls back its open transaction.
Nothing is lost either way: a source is fetched again at the next start, and a claimed
but unrecorded email is resent with the same Message-ID. One failing part (a source,
the SMTP server) is logged with its reason and retried on its schedule; it never stops
the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from wcofeed.config import Settings, SourceSettings
from wcofeed.digest.run import run_digest
from wcofeed.ingest.fetch import Fetcher
from wcofeed.ingest.run import Parsers, SourceReport, ingest_source
from wcofeed.metrics import Metrics
from wcofeed.models import Item, UpsertOutcome, UpsertResult
from wcofeed.publish import publish_all
from wcofeed.store import Store
from wcofeed.web.app import create_app
from wcofeed.web.server import Runner

log = logging.getLogger("wcofeed.service")

#: Fraction of a source's interval its fetch time may drift by, either way.
JITTER = 0.1
#: Seconds a round in progress may take to finish after a stop signal.
SHUTDOWN_GRACE = 20.0
DIGEST_EVERY = timedelta(hours=1)


class Service:
    """The parts of a running wcofeed; also the actions the admin API may ask for."""

    def __init__(self, settings: Settings, store: Store, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics or Metrics()
        self._fetcher = Fetcher(settings.fetch)
        self._parsers = Parsers.from_settings(settings)
        self._publish_lock = asyncio.Lock()
        self._source_locks: dict[str, asyncio.Lock] = {}
        self._stopping = False
        self._busy: set[asyncio.Task[Any]] = set()

    # --- actions (web.state.Actions) ---------------------------------------------------

    async def ingest_source(self, source_id: str) -> dict[str, Any]:
        return dataclasses.asdict(await self._ingest(self.settings.source(source_id)))

    async def republish(self, items: Sequence[Item]) -> None:
        await self._publish([UpsertResult(UpsertOutcome.CHANGED, item) for item in items])

    # --- rounds ------------------------------------------------------------------------

    async def _ingest(self, source: SourceSettings) -> SourceReport:
        lock = self._source_locks.setdefault(source.id, asyncio.Lock())
        async with lock:
            started = time.perf_counter()
            report, results = await ingest_source(
                self.settings, self.store, source, self._fetcher, parsers=self._parsers
            )
            self.metrics.rounds.labels(round="ingest").observe(time.perf_counter() - started)
        outcome = "failed" if report.failed else "not_modified" if report.not_modified else "ok"
        self.metrics.fetches.labels(source=source.id, outcome=outcome).inc()
        if results:
            await self._publish(results)
        return report

    async def _publish(self, touched: Sequence[UpsertResult] | None) -> None:
        async with self._publish_lock:
            started = time.perf_counter()
            report = await publish_all(self.settings, self.store, touched)
            self.metrics.rounds.labels(round="publish").observe(time.perf_counter() - started)
            self.metrics.skipped(report.skipped)

    async def _digest(self) -> None:
        started = time.perf_counter()
        report = await run_digest(self.store, self.settings, datetime.now(UTC), at_send_hour=True)
        self.metrics.rounds.labels(round="digest").observe(time.perf_counter() - started)
        self.metrics.emails.labels(outcome="sent").inc(report.sent)
        self.metrics.emails.labels(outcome="failed").inc(report.failed)
        self.metrics.skipped(report.skipped)

    # --- loops -------------------------------------------------------------------------

    async def _round(self, what: str, job: Callable[[], Awaitable[object]]) -> None:
        """Run one round, marked busy so a stop lets it finish; a failure is logged."""
        task = asyncio.current_task()
        assert task is not None
        self._busy.add(task)
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed", what)
        finally:
            self._busy.discard(task)

    async def _source_loop(self, source: SourceSettings) -> None:
        await asyncio.sleep(random.uniform(0, min(5.0, source.every * JITTER)))  # noqa: S311
        while not self._stopping:
            await self._round(f"ingest of {source.id}", lambda: self._ingest(source))
            if self._stopping:
                break
            spread = random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311
            await asyncio.sleep(source.every * spread)

    async def _digest_loop(self) -> None:
        while not self._stopping:
            await self._round("digest round", self._digest)
            if self._stopping:
                break
            now = datetime.now(UTC)
            next_round = (now + DIGEST_EVERY).replace(minute=0, second=5, microsecond=0)
            await asyncio.sleep((next_round - now).total_seconds())

    async def run(self, port: int | None = None, stop: asyncio.Event | None = None) -> None:
        """Serve and schedule until `stop` is set; SIGTERM and SIGINT set it."""
        await self.serve(port, stop, schedule=True)

    async def serve(
        self,
        port: int | None = None,
        stop: asyncio.Event | None = None,
        *,
        schedule: bool,
        reuse_port: bool = False,
    ) -> None:
        """The HTTP server, with (`wcofeed run`) or without (`wcofeed serve`) the loops;
        `reuse_port`: other processes serve on the same port (`--workers`)."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        app = create_app(self.settings, self.store, self, self.metrics)
        runner = Runner(app, self.settings)
        await runner.setup()
        tasks: list[asyncio.Task[None]] = []
        try:
            site = web.TCPSite(
                runner,
                self.settings.server.host,
                port or self.settings.server.port,
                reuse_port=reuse_port or None,
            )
            await site.start()
            address = _address(runner)
            log.info(
                "serving on %s (feeds: %s/feeds/index.html, health: %s/healthz)",
                address,
                address,
                address,
            )
            if schedule:
                await self._round("first publish", lambda: self._publish(None))
                tasks = [
                    asyncio.create_task(self._source_loop(src), name=f"source:{src.id}")
                    for src in self.settings.sources
                    if src.enabled
                ]
                tasks.append(asyncio.create_task(self._digest_loop(), name="digest"))
            await stop.wait()
            log.info("stopping: letting rounds in progress finish")
        finally:
            self._stopping = True
            await self._stop(tasks)
            await runner.cleanup()
            await self._fetcher.close()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        log.info("stopped cleanly")

    async def _stop(self, tasks: list[asyncio.Task[None]]) -> None:
        idle = [t for t in tasks if t not in self._busy]
        for task in idle:
            task.cancel()
        busy = [t for t in tasks if t in self._busy]
        if busy:
            _, late = await asyncio.wait(busy, timeout=SHUTDOWN_GRACE)
            for task in late:
                log.warning("cancelling %s after %.0f s", task.get_name(), SHUTDOWN_GRACE)
                task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)


def _address(runner: web.AppRunner) -> str:
    for address in runner.addresses:
        return f"http://{address[0]}:{address[1]}"
    return "(no address)"
