"""The attack review's twelve findings, each as the command that showed it, now refused.

Real parts throughout: an aiohttp server on loopback (and, for slow headers, the
service's own server with raw sockets), SQLite files broken by hand as an older wcofeed
could have left them, the `wcofeed` command in a subprocess, feedparser and icalendar
reading the outputs, emails read back from the outbox. The property that any item the
store accepts can be published and reminded is generated in `test_any_door.py`.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import icalendar
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.cli.conftest import wcofeed
from tests.conftest import REPO, break_row, forged_item, make_item
from tests.web.conftest import RecordingActions
from wcofeed.config import ConfigError, Settings, load_settings, with_signing_secret
from wcofeed.digest.run import run_digest
from wcofeed.ingest.kinds import KindGuesser
from wcofeed.ingest.manual import item_from_entry
from wcofeed.ingest.topics import TopicMatcher
from wcofeed.metrics import Metrics
from wcofeed.models import Deadline, Item, ItemError, Subscriber, item_from_dict
from wcofeed.publish.ics import render_ics
from wcofeed.publish.run import publish_all
from wcofeed.store import ItemQuery, SQLiteStore, Store, Version, open_store
from wcofeed.web.app import create_app
from wcofeed.web.auth import ADMIN_FAILURES
from wcofeed.web.server import Runner
from wcofeed.web.subscribe import SUBSCRIBE_LIMITER

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

SECRET = "attack-review-secret-0123456789abcdef"
ADMIN = "attack-review-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
SITE = "http://feeds.example.org"
CONFIG = f"""
[site]
base_url = "{SITE}"
[server]
change_check_seconds = 0
[security]
secret_key = "{SECRET}"
admin_token = "{ADMIN}"
[publish]
feeds_dir = "out"
[email]
send_hour = 0
"""
CRLF_LINK = "https://example.org/x\r\nBEGIN:VEVENT\r\nSUMMARY:injected"
#: Valid per the rules before this review: a deadline no datetime can reach the end of.
FAR_DEADLINE = {
    "deadline_date": "9999-12-31",
    "deadline_time": "23:59:00",
    "deadline_tz": "Pacific/Kiritimati",
}


@pytest.fixture
def review_settings(write_config: Callable[..., Path]) -> Settings:
    return load_settings(write_config(CONFIG), env={})


async def _client(app: web.Application) -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def client(review_settings: Settings, store: Store) -> AsyncIterator[TestClient[Any, Any]]:
    c = await _client(create_app(review_settings, store, RecordingActions()))
    yield c
    await c.close()


def outbox(settings: Settings) -> list[Path]:
    return sorted(settings.email.outbox_dir.glob("*.eml"))


def sent_bodies(settings: Settings) -> list[str]:
    """Each outbox email's text and HTML parts, decoded."""
    bodies = []
    for path in outbox(settings):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        bodies.append(
            "\n".join(
                part.get_content()
                for part in message.walk()
                if part.get_content_type() in ("text/plain", "text/html", "text/calendar")
            )
        )
    return bodies


def metric(text: str, name: str, **labels: str) -> float:
    """One sample's value from Prometheus text, 0 when absent."""
    inside = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name + (f"{{{inside}}}" if labels else "")) + r" ([0-9.e+]+)"
    found = re.search(pattern, text)
    return float(found[1]) if found else 0.0


# --- 1. one bad item stopped publishing and reminders for everyone -------------------


async def test_1_bad_rows_no_longer_stop_publish_digest_add_or_the_calendar(
    review_settings: Settings, write_config: Callable[..., Path]
) -> None:
    """The review's commands, against a database holding the two items it stored."""
    config = review_settings.path
    database = review_settings.database.path
    soon = Deadline(date.today() + timedelta(days=2))
    good = make_item(kind="call", title="Good call", deadline=soon)
    crlf = make_item(kind="call", title="CRLF call", deadline=soon)
    far = make_item(kind="call", title="Far call", deadline=soon)
    async with await open_store(database) as store:
        await store.upsert_items([good, crlf, far])
        await store.save_subscriber(
            Subscriber("ana@example.org", status="active"), datetime.now(UTC)
        )
    await break_row(database, crlf.guid, url=CRLF_LINK)
    await break_row(database, far.guid, **FAR_DEADLINE)

    published = wcofeed("publish", "--config", str(config))
    assert published.returncode == 0, published.stderr
    calendar = (review_settings.publish.feeds_dir / "en" / "calls.ics").read_text()
    events = icalendar.Calendar.from_ical(calendar).walk("VEVENT")
    assert [str(e["URL"]) for e in events] == [good.url]
    assert "Good call" in str(events[0]["SUMMARY"])
    assert "stored item" in published.stderr and crlf.guid in published.stderr

    digest = wcofeed("digest", "--config", str(config))
    assert digest.returncode == 0, digest.stderr
    (body,) = sent_bodies(review_settings)
    assert "Good call" in body and "CRLF call" not in body and "Far call" not in body

    added = wcofeed(
        "add", "--title", "Typed in", "--url", "https://example.org/typed", "--config", str(config)
    )
    assert added.returncode == 0, added.stderr

    async with await open_store(database) as store:
        client = await _client(create_app(review_settings, store, RecordingActions()))
        try:
            answer = await client.get("/feed.ics")
            assert answer.status == 200
            assert "Good call" in await answer.text()
            metrics = await (await client.get("/metrics")).text()
            assert metric(metrics, "wcofeed_items_skipped_total", stage="read") >= 2
        finally:
            await client.close()


async def test_1_an_email_that_cannot_be_rendered_costs_only_its_subscriber(
    review_settings: Settings,
) -> None:
    """A stored address no header can carry (left by an older version): that one email
    is cancelled, everyone else is reminded."""
    database = review_settings.database.path
    soon = Deadline(date.today() + timedelta(days=2))
    async with await open_store(database) as store:
        await store.upsert_item(make_item(kind="call", title="Good call", deadline=soon))
        for address in ("ana@example.org", "bo@example.org"):
            await store.save_subscriber(Subscriber(address, status="active"), datetime.now(UTC))
    with sqlite3.connect(database) as db:
        db.execute("UPDATE subscribers SET email = ? WHERE email = ?", ("b o@x", "bo@example.org"))
    async with await open_store(database) as store:
        report = await run_digest(store, review_settings)
        assert (report.sent, report.cancelled) == (1, 1)
        assert (await store.delivery_states()).get("cancelled") == 1
    (body,) = sent_bodies(review_settings)
    assert "Good call" in body


class BuggyStore(SQLiteStore):
    """A store with a bug: every item list also holds items the model refuses (a link
    that is not http(s), a deadline whose end no datetime reaches)."""

    LEAKED: tuple[Item, ...] = ()

    def _leaked(self, query: ItemQuery) -> list[Item]:
        return [i for i in self.LEAKED if not query.kinds or i.kind in query.kinds]

    async def query_items(self, query: ItemQuery) -> list[Item]:
        return [*await super().query_items(query), *self._leaked(query)]

    async def query_page(self, query: ItemQuery) -> tuple[list[Item], dict[str, list[Version]]]:
        found, versions = await super().query_page(query)
        return [*found, *self._leaked(query)], versions


def leaked_items() -> tuple[Item, ...]:
    soon = datetime.now(UTC).date() + timedelta(days=2)
    return (
        forged_item(
            guid="https://example.org/leak/js",
            kind="call",
            title="Script call",
            url="javascript:alert(document.cookie)",
            deadline=Deadline(soon),
            last_changed=datetime(2025, 1, 1, tzinfo=UTC),
        ),
        forged_item(
            guid="https://example.org/leak/far",
            kind="call",
            title="Far call",
            url="data:text/html,<script>alert(1)</script>",
            deadline=Deadline(date(9999, 12, 31)),
            last_changed=datetime(2025, 1, 1, tzinfo=UTC),
        ),
        forged_item(
            guid="https://example.org/leak/kiritimati",
            kind="call",
            title="Kiritimati call",
            url="https://example.org/kiritimati",
            deadline=Deadline(date(9999, 12, 31), None, "Pacific/Kiritimati"),
            last_changed=datetime(2025, 1, 1, tzinfo=UTC),
        ),
    )


async def test_1_2_an_item_a_bug_lets_through_is_left_out_of_each_output_alone(
    review_settings: Settings, tmp_path: Path
) -> None:
    """The isolation itself: publish renders each format, the round each email, without
    the items that fail, and reports them by stage; no other link than http(s) leaves."""
    BuggyStore.LEAKED = leaked_items()
    soon = Deadline(date.today() + timedelta(days=2))
    good = make_item(kind="call", title="Good call", deadline=soon)
    async with await BuggyStore.open(tmp_path / "buggy.db") as store:
        await store.upsert_item(good)
        await store.save_subscriber(
            Subscriber("ana@example.org", status="active"), datetime.now(UTC)
        )
        report = await publish_all(review_settings, store)
        stages = {(s.stage, s.guid.rsplit("/", 1)[1]) for s in report.skipped}
        assert {("feed", "js"), ("feed", "far")} <= stages
        assert {(fmt, "kiritimati") for fmt in ("atom", "rss", "json", "ics")} <= stages
        feeds = review_settings.publish.feeds_dir / "en"
        for name in ("calls.atom", "calls.rss", "calls.json", "calls.ics"):
            text = (feeds / name).read_text()
            assert "Good call" in text, name
            assert "javascript:" not in text and "data:" not in text, name
            assert "Kiritimati call" not in text, name
        assert feedparser.parse((feeds / "calls.atom").read_bytes()).entries[0].link == good.url

        rounds = await run_digest(store, review_settings)
        assert rounds.sent == 1
        assert {s.stage for s in rounds.skipped} == {"email"}
        assert len(rounds.skipped) == 3  # once each, however many emails
        (body,) = sent_bodies(review_settings)
        assert "Good call" in body and "javascript:" not in body and "data:" not in body

        app = create_app(review_settings, store, RecordingActions(), Metrics())
        client = await _client(app)
        try:
            assert (await client.get("/feed.json?kind=call")).status == 200
            metrics = await (await client.get("/metrics")).text()
            assert metric(metrics, "wcofeed_items_skipped_total", stage="feed") == 2
            assert metric(metrics, "wcofeed_items_skipped_total", stage="json") == 1
        finally:
            await client.close()


# --- 2. javascript: and data: links reached the outputs ------------------------------


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "data:text/html,x", " javascript:alert(1)", "JaVaScRiPt:x"]
)
async def test_2_no_door_lets_a_link_in_that_is_not_http(
    client: TestClient[Any, Any], store: Store, review_settings: Settings, link: str
) -> None:
    body = {"guid": "urn:x", "kind": "news", "title": "t", "url": link, "published": "2025-01-01"}
    api = await client.post("/api/items", json={**body, "language": "en"}, headers=AUTH)
    assert api.status == 422 and "url" in (await api.json())["errors"]
    with pytest.raises(ItemError, match="url"):
        item_from_dict({**body, "language": "en", "source": "file"})
    added = wcofeed("add", "--title", "t", "--url", link, "--config", str(review_settings.path))
    assert added.returncode == 1 and "url" in added.stderr
    assert await store.query_items(ItemQuery()) == []


# --- 3. the calendar's name came from ?q= -----------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/feed.ics?q=x%0Ay",
        "/feed.ics?q=x%0D%0ABEGIN:VEVENT",
        "/feed.atom?q=%00",
        "/?q=%1B",
        "/calls?hl=%C2%85",
        "/subscribe?lang=%7F",
        "/unsubscribe?token=a%0Ab",
        "/healthz?x%0Ay=1",
    ],
)
async def test_3_control_characters_in_a_query_are_400(
    client: TestClient[Any, Any], path: str
) -> None:
    answer = await client.get(path)
    assert answer.status == 400, path
    assert "control characters are not allowed" in await answer.text()


INJECTED_NAME = "Calls\r\nEND:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:injected\r\nEND:VEVENT"


def test_3_calendar_text_is_one_line_even_under_python_O() -> None:
    """icalendar only asserts that a name has no line break, and `-O` drops asserts:
    the name is made one line before icalendar sees it."""
    script = (
        "import sys; from wcofeed.publish.ics import render_ics; "
        "sys.stdout.buffer.write(render_ics(sys.argv[1], 'en', 'https://x.org/f.ics', [], []))"
    )
    run = subprocess.run(
        [sys.executable, "-O", "-c", script, INJECTED_NAME], capture_output=True, check=True
    )
    calendar = icalendar.Calendar.from_ical(run.stdout)
    assert calendar.walk("VEVENT") == []
    assert re.findall(rb"^BEGIN:", run.stdout, re.MULTILINE) == [b"BEGIN:"]
    assert str(calendar["X-WR-CALNAME"]).startswith("Calls END:VCALENDAR BEGIN:VEVENT")
    assert render_ics(INJECTED_NAME, "en", "https://x.org/f.ics", [], []) == run.stdout


# --- 4. RSS <description> carried text that readers render as HTML ----------------------


async def test_4_rss_description_is_sanitised_html_never_renderable_text(
    client: TestClient[Any, Any], store: Store
) -> None:
    await store.upsert_item(
        make_item(
            title="Escaped",
            summary="<script>alert(1)</script> & <b>bold</b>",
            summary_html="",
        )
    )
    body = await (await client.get("/feed.rss")).read()
    (entry,) = feedparser.parse(body).entries
    assert entry.summary_detail.type == "text/html"
    # what a reader renders: the markup shown as text, not run
    assert (
        entry.summary
        == "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;</p>"
    )
    assert "<script" not in entry.summary and "<b>" not in entry.summary


# --- 5. /healthz told the world each source's last error -------------------------------


async def test_5_public_health_shows_status_and_ages_only(
    write_config: Callable[..., Path], store: Store
) -> None:
    settings = load_settings(
        write_config(
            CONFIG + '[[sources]]\nid = "partner"\nurl = "https://x.org/f?password=hunter2"\n'
        ),
        env={},
    )
    error = "HTTP 500 from https://x.org/f?password=hunter2 (/srv/wcofeed/cache/partner.xml)"
    await store.record_fetch_failure("partner", datetime.now(UTC), error)
    client = await _client(create_app(settings, store, RecordingActions()))
    try:
        public = await client.get("/healthz")
        text = await public.text()
        assert public.status == 503
        assert "hunter2" not in text and "/srv/" not in text and "x.org" not in text
        (source,) = json.loads(text)["sources"]
        assert source == {
            "id": "partner",
            "status": "failing",
            "last_success": None,
            "last_success_age_seconds": None,
        }
        detailed = await (await client.get("/healthz", headers=AUTH)).json()
        assert detailed["sources"][0]["last_error"] == error
        wrong = await client.get("/healthz", headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401
        await store.close()
        gone = await (await client.get("/healthz")).json()
        assert gone["database"] == {"ok": False}
    finally:
        await client.close()


# --- 6. mail bombing by address variants -----------------------------------------------


async def test_6_variants_of_one_mailbox_get_two_confirmations_an_hour(
    client: TestClient[Any, Any], store: Store, review_settings: Settings
) -> None:
    variants = [
        "target@example.org",
        "target+1@example.org",
        "t.arget@example.org",
        "TARGET+2@Example.org",
    ]
    answers = []
    for address in variants:
        response = await client.post("/subscribe", data={"email": address, "language": "en"})
        answers.append(response.status)
    assert answers == [200, 200, 429, 429]
    assert len(outbox(review_settings)) == review_settings.email.confirmations_per_mailbox == 2
    assert await store.get_subscriber("t.arget@example.org") is None  # nothing stored


async def test_6_one_domain_gets_a_bounded_number_of_confirmations_an_hour(
    write_config: Callable[..., Path], store: Store
) -> None:
    settings = load_settings(write_config(CONFIG + "confirmations_per_domain = 3\n"), env={})
    client = await _client(create_app(settings, store, RecordingActions()))
    try:
        statuses = []
        for n in range(4):
            response = await client.post(
                "/subscribe",
                data={"email": f"person{n}@example.org", "language": "en"},
                headers={"X-Forwarded-For": f"192.0.2.{n}"},
            )
            statuses.append(response.status)
        assert statuses == [200, 200, 200, 429]
        assert len(outbox(settings)) == 3
        other = await client.post("/subscribe", data={"email": "x@example.net", "language": "en"})
        assert other.status == 200
    finally:
        await client.close()


async def _post_from(client: TestClient[Any, Any], forwarded: str, n: int) -> int:
    response = await client.post(
        "/subscribe",
        data={"email": f"p{n}-{len(forwarded)}@example.net", "language": "en"},
        headers={"X-Forwarded-For": forwarded},
    )
    return response.status


@pytest.mark.parametrize("trusted", [True, False])
async def test_6_x_forwarded_for_is_believed_from_trusted_proxies_only(
    write_config: Callable[..., Path], store: Store, trusted: bool
) -> None:
    proxies = 'trusted_proxies = ["127.0.0.0/8"]' if trusted else ""
    text = CONFIG.replace("[server]\n", f"[server]\n{proxies}\n")
    settings = load_settings(write_config(text), env={})
    client = await _client(create_app(settings, store, RecordingActions()))
    try:
        limiter = client.app[SUBSCRIBE_LIMITER]
        first = [await _post_from(client, "198.51.100.7", n) for n in range(limiter.limit + 1)]
        # a spoofed first hop does not help: the proxy's view (the last hop) counts
        second = [
            await _post_from(client, f"6.6.6.{n}, 198.51.100.8", n) for n in range(limiter.limit)
        ]
        if trusted:
            assert first == [200] * limiter.limit + [429]
            assert second == [200] * limiter.limit
        else:  # everyone is 127.0.0.1, whatever the header says
            assert first == [200] * limiter.limit + [429]
            assert second == [429] * limiter.limit
    finally:
        await client.close()


# --- 7. no timeout on slow request headers ---------------------------------------------


async def _serve(settings: Settings, store: Store) -> tuple[Runner, int]:
    runner = Runner(create_app(settings, store, RecordingActions()), settings)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    (address,) = runner.addresses
    return runner, int(address[1])


async def _closed_after(reader: asyncio.StreamReader) -> tuple[float, bytes]:
    started = time.monotonic()
    data = await asyncio.wait_for(reader.read(), 10)
    return time.monotonic() - started, data


async def test_7_partial_headers_are_cut_off_and_one_client_holds_few_connections(
    write_config: Callable[..., Path], store: Store
) -> None:
    text = CONFIG.replace(
        "[server]\n", "[server]\nheader_timeout = 0.5\nmax_connections_per_client = 4\n"
    )
    settings = load_settings(write_config(text), env={})
    runner, port = await _serve(settings, store)
    try:
        slow = []
        for _ in range(4):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            await writer.drain()
            slow.append((reader, writer))
        extra_reader, _ = await asyncio.open_connection("127.0.0.1", port)
        refused = await asyncio.wait_for(extra_reader.read(), 5)
        assert refused.startswith(b"HTTP/1.1 503 ")
        waited = [await _closed_after(reader) for reader, _ in slow]
        assert all(data == b"" for _, data in waited)  # closed without an answer
        assert max(seconds for seconds, _ in waited) < 2.0
        # the slots are free again, and a prompt request is served
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await asyncio.wait_for(reader.read(), 5)).startswith(b"HTTP/1.1 200 ")
        for _, w in slow:
            w.close()
    finally:
        await runner.cleanup()


async def test_7_a_trusted_proxy_is_not_held_to_the_per_client_cap(
    write_config: Callable[..., Path], store: Store
) -> None:
    text = CONFIG.replace(
        "[server]\n",
        '[server]\nmax_connections_per_client = 2\ntrusted_proxies = ["127.0.0.1"]\n',
    )
    runner, port = await _serve(load_settings(write_config(text), env={}), store)
    try:
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(5)]
        for _, writer in held:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        for reader, _ in held:
            assert (await asyncio.wait_for(reader.read(), 5)).startswith(b"HTTP/1.1 200 ")
    finally:
        await runner.cleanup()


# --- 8. the admin API stored summary_html raw ------------------------------------------

HOSTILE_HTML = "<p onclick='x()'>Hi <script>alert(1)</script><a href='javascript:y()'>a</a></p>"


async def test_8_the_admin_api_sanitises_summary_html_as_wcofeed_add_does(
    client: TestClient[Any, Any], store: Store
) -> None:
    data = {
        "guid": "https://example.org/a",
        "kind": "news",
        "title": "Admin item",
        "url": "https://example.org/a",
        "language": "en",
        "published": "2025-01-01",
        "summary_html": HOSTILE_HTML,
    }
    created = await client.post("/api/items", json=data, headers=AUTH)
    assert created.status == 201
    stored = await store.get_item("https://example.org/a")
    assert stored is not None
    added = item_from_entry(
        data, source="admin", language="en", topics=TopicMatcher({}), kinds=KindGuesser()
    )
    assert (
        stored.summary_html == added.summary_html == '<p>Hi <a rel="noopener noreferrer">a</a></p>'
    )
    assert stored.summary == "Hi a"
    assert "<script" not in json.dumps((await created.json())["summary_html"])


# --- 9. world-readable secrets ---------------------------------------------------------


async def test_9_the_outbox_is_private_and_the_feeds_public_whatever_the_umask(
    review_settings: Settings,
) -> None:
    old = os.umask(0o022)
    try:
        async with await open_store(review_settings.database.path) as store:
            await store.save_subscriber(
                Subscriber("ana@example.org", status="active"), datetime.now(UTC)
            )
            await store.upsert_item(
                make_item(kind="call", deadline=Deadline(date.today() + timedelta(days=2)))
            )
            assert (await run_digest(store, review_settings)).sent == 1
            (eml,) = outbox(review_settings)
            assert oct(eml.stat().st_mode & 0o777) == "0o600"
            assert oct(eml.parent.stat().st_mode & 0o777) == "0o700"
            os.umask(0o077)  # as under the systemd unit: the feeds must stay readable
            await publish_all(review_settings, store)
    finally:
        os.umask(old)
    feeds = review_settings.publish.feeds_dir
    assert oct(feeds.stat().st_mode & 0o777) == "0o755"
    for path in feeds.rglob("*"):
        assert oct(path.stat().st_mode & 0o777) == ("0o755" if path.is_dir() else "0o644"), path


def test_9_a_generated_signing_key_is_private(write_config: Callable[..., Path]) -> None:
    old = os.umask(0o022)
    try:
        settings = with_signing_secret(load_settings(write_config(""), env={}))
    finally:
        os.umask(old)
    key = settings.database.path.parent / ".wcofeed-secret"
    assert oct(key.stat().st_mode & 0o777) == "0o600"


# --- 10. 500s from odd input -------------------------------------------------------------

ODD_GETS = [
    ("/feed.atom?since=9999-12-31T23:59:59-14:00", "since:"),
    ("/feed.atom?page=99999999999999999999999", "page:"),
    ("/feed.rss?limit=%C2%B2", "limit:"),
    ("/feed.json?page=" + "9" * 5000, "page:"),
    ("/unsubscribe?token=a.b.c.%C3%A9", "signature"),
    ("/preferences?token=%F0%9F%98%80.a.b.%F0%9F%98%80", "signature"),
    ("/?page=" + "9" * 5000, "page:"),
]


@pytest.mark.parametrize(("path", "words"), ODD_GETS)
async def test_10_odd_queries_are_a_clear_4xx(
    client: TestClient[Any, Any], path: str, words: str
) -> None:
    answer = await client.get(path)
    assert 400 <= answer.status < 500, (path, answer.status)
    assert words in await answer.text()


async def test_10_an_address_with_a_trailing_dot_is_a_form_error(
    client: TestClient[Any, Any], review_settings: Settings
) -> None:
    answer = await client.post(
        "/subscribe", data={"email": "target@example.org.", "language": "en"}
    )
    assert answer.status == 400
    assert "not an email address" in await answer.text()
    assert outbox(review_settings) == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"guid": ' + b"9" * 5000 + b"}", "integer string conversion"),
        (b"[" * 30000 + b"]" * 30000, "nested too deeply"),
        (b'{"title": "\\ud800"}', "lone surrogate"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
async def test_10_odd_admin_bodies_are_a_clear_4xx(
    client: TestClient[Any, Any], body: bytes, words: str
) -> None:
    data = (
        body.replace(
            b'{"title"',
            b'{"kind": "news", "url": "https://x.org/", "published": '
            b'"2025-01-01", "language": "en", "guid": "g", "title"',
        )
        if b"ud800" in body
        else body
    )
    answer = await client.post(
        "/api/items", data=data, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert answer.status in (400, 422), answer.status
    assert words in await answer.text()


async def test_10_a_500_is_counted_in_metrics(review_settings: Settings, tmp_path: Path) -> None:
    metrics = Metrics()
    store = await open_store(tmp_path / "closing.db")
    client = await _client(create_app(review_settings, store, RecordingActions(), metrics))
    try:
        await store.close()  # every query now fails: the feed answer is a 500
        assert (await client.get("/feed.atom?q=anything")).status == 500
        assert (
            metric(metrics.render().decode(), "wcofeed_http_server_errors_total", status="500") == 1
        )
    finally:
        await client.close()


# --- 11. the admin token --------------------------------------------------------------


def test_11_a_short_admin_token_stops_start_up(write_config: Callable[..., Path]) -> None:
    short = CONFIG.replace(ADMIN, "x" * 31)
    with pytest.raises(ConfigError, match=r"security\.admin_token: shorter than 32"):
        load_settings(write_config(short), env={})
    with pytest.raises(ConfigError, match=r"security\.admin_token"):
        load_settings(write_config(""), env={"WCOFEED_SECURITY_ADMIN_TOKEN": "short"})


async def test_11_failed_admin_logins_are_logged_counted_and_limited(
    review_settings: Settings, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    client = await _client(create_app(review_settings, store, RecordingActions(), metrics))
    caplog.set_level(logging.WARNING, logger="wcofeed")
    try:
        for n in range(ADMIN_FAILURES):
            wrong = await client.get("/api/sources", headers={"Authorization": f"Bearer {n}"})
            assert wrong.status == 401
        limited = await client.get("/api/sources", headers=AUTH)  # even the right token
        assert limited.status == 429 and int(limited.headers["Retry-After"]) > 0
        failures = "admin login failed from 127.0.0.1 on /api/sources"
        assert caplog.text.count(failures) == ADMIN_FAILURES
        text = metrics.render().decode()
        assert metric(text, "wcofeed_admin_auth_failures_total") == ADMIN_FAILURES
    finally:
        await client.close()


# --- 12. security headers on every HTML answer ----------------------------------------


async def test_12_every_html_answer_carries_the_security_headers(
    client: TestClient[Any, Any], review_settings: Settings, store: Store
) -> None:
    await store.upsert_item(make_item())
    await publish_all(review_settings, store)
    pages = ["/", "/calls", "/subscribe", "/confirm?token=bad", "/feeds/index.html", "/nowhere"]
    for path in pages:
        answer = await client.get(path)
        assert answer.headers["X-Content-Type-Options"] == "nosniff", path
        if answer.content_type != "text/html":
            continue
        policy = answer.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, path
        assert "unsafe-inline" not in policy and "default-src 'none'" in policy, path
        assert answer.headers["Referrer-Policy"] == "same-origin", path
    feed = await client.get("/feed.atom")
    assert feed.headers["X-Content-Type-Options"] == "nosniff"


def test_12_page_templates_hold_no_inline_script_or_style() -> None:
    """What the policy forbids must not be in the pages (emails are not served)."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", re.IGNORECASE)
    found = [
        str(path.relative_to(REPO))
        for path in (REPO / "templates").rglob("*.html")
        if "email" not in path.parts and inline.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
