"""Generated items through every door: whatever the store accepts is published in all
four formats and reminded, with nothing left out.

The doors are the admin API, `wcofeed add --json`, a JSON file of hand-entered items
and a partner's RSS feed. The generated values are the ones that broke the service
before: CR/LF and other controls in links, `javascript:` and `data:` links, lone
surrogates, dates from year 1 to 9999 in time zones from UTC-12 to UTC+14, deadlines
at the end of the last day, huge and malformed values. Items come dated and undated (no
`published`: the source gave no date). A door may refuse an item (a 422, exit code 1, a
warning); an item it lets in must render in Atom, RSS, JSON Feed and iCalendar, be
selected for a reminder and be rendered in an email, none of it skipped.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import html
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import icalendar
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from tests.web.conftest import RecordingActions
from wcofeed.cli import main
from wcofeed.config import Settings, SourceSettings, load_settings
from wcofeed.digest.render import Renderer
from wcofeed.digest.select import DueCall, select_reminders
from wcofeed.digest.send import Outgoing
from wcofeed.digest.tokens import Signer
from wcofeed.ingest.build import PageContext, ParseResult
from wcofeed.ingest.feeds import parse_feed
from wcofeed.ingest.kinds import KindGuesser
from wcofeed.ingest.manual import parse_manual
from wcofeed.ingest.topics import TopicMatcher
from wcofeed.isolate import Skipped
from wcofeed.markup import ascii_url
from wcofeed.models import Subscriber
from wcofeed.publish.build import query_doc
from wcofeed.publish.ics import render_ics
from wcofeed.publish.render import render_feed
from wcofeed.store import Store, open_store
from wcofeed.web.app import create_app

pytestmark = pytest.mark.slow

SECRET = "any-door-secret-0123456789abcdef"
ADMIN = "any-door-admin-token-0123456789abcdef"
CONFIG = f"""
[site]
languages = ["en"]
[security]
secret_key = "{SECRET}"
admin_token = "{ADMIN}"
[publish]
feeds_dir = "out"
"""
NOW = datetime(2025, 2, 15, 9, 0, tzinfo=UTC)
#: Items each door let in (and so were checked); the last test holds them to a floor.
ACCEPTED: Counter[str] = Counter()
_run = hyp_settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# ---- generated item fields ----------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\r\n",
    "\x00\x07\x1b\x7f\x85",
    "\ud800",
    "\udfff tail",
    "\ufffe\uffff",
    "]]>",
    "<script>alert(1)</script>",
    "END:VCALENDAR\r\nBEGIN:VEVENT",
    "a" * 500,
]
text = st.one_of(st.text(max_size=30), st.sampled_from(NASTY))
links = st.one_of(
    st.sampled_from(
        [
            "https://example.org/a",
            "http://example.org/b?x=1&y=2#f",
            "https://example.org/with space",
            "https://example.org/x\r\nBEGIN:VEVENT",
            "https://example.org/\x00",
            "https://example.org/\x85",
            "https://example.org/\uffff",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            " https://example.org/lead",
            "https://",
            "http://[::1",
            "ftp://example.org/",
            "//example.org/",
            "https://例え.jp/パス",
            "https://example.org/\ud800",
        ]
    ),
    text.map(lambda t: "https://example.org/" + t),
)
ZONES = [
    None,
    "UTC",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Etc/GMT+12",
    "Etc/GMT-14",
    "Europe/Brussels",
    "Nowhere/Zone",
]
days = st.one_of(
    st.dates(),
    st.dates(date(1899, 12, 1), date(1900, 1, 31)),
    st.dates(date(2200, 12, 1), date(2201, 1, 31)),
    st.dates(date(2024, 1, 1), date(2030, 1, 1)),
)
offsets = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))])
instants = st.builds(
    lambda day, at, tz: datetime.combine(day, at, tzinfo=tz).isoformat(), days, st.times(), offsets
)
published = st.one_of(days.map(date.isoformat), instants, text)
deadlines = st.one_of(
    st.none(),
    days.map(date.isoformat),
    instants,
    st.fixed_dictionaries(
        {"date": days.map(date.isoformat)},
        optional={
            "time": st.one_of(st.none(), st.times().map(time.isoformat), st.just("23:59")),
            "timezone": st.sampled_from(ZONES),
        },
    ),
    text,
)


def mostly(valid: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]) -> Any:
    """A valid value five times in six: most items then break one or two rules, and the
    doors let enough in for the property to be checked on hostile-but-accepted values."""
    return st.sampled_from([valid] * 5 + [hostile]).flatmap(lambda chosen: chosen)


plain = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs")), min_size=1, max_size=20)
web_links = plain.map(lambda t: "https://example.org/" + t)
in_range = st.one_of(
    st.dates(date(2024, 1, 1), date(2030, 1, 1)),
    st.sampled_from([date(1900, 1, 1), date(2200, 12, 31)]),
)
item_json = st.fixed_dictionaries(
    {
        "guid": mostly(web_links, st.one_of(links, text)),
        "title": mostly(st.text(min_size=1, max_size=30), text),
        "url": mostly(web_links, links),
        "published": mostly(st.one_of(in_range.map(date.isoformat), st.none()), published),
        "language": mostly(st.sampled_from(["en", "fr", "pt-BR"]), st.sampled_from(["EN", ""])),
        "kind": mostly(st.sampled_from(["news", "call", "event"]), st.just("memo")),
    },
    optional={
        "deadline": mostly(
            st.fixed_dictionaries(
                {"date": in_range.map(date.isoformat)},
                optional={"time": st.just("23:59"), "timezone": st.sampled_from(ZONES[:-1])},
            ),
            deadlines,
        ),
        "summary": text,
        "summary_html": st.one_of(
            text, st.just("<p onclick='x()'>hi<script>y()</script><a href='javascript:z'>a</a>")
        ),
        "topics": st.one_of(st.lists(st.sampled_from(["origin", "Not A Slug", "x--y"])), text),
        "source": st.sampled_from(["admin", "manual", "BAD SOURCE"]),
    },
)

# ---- the property -------------------------------------------------------------------------


async def assert_published_and_reminded(settings: Settings, store: Store, guid: str) -> None:
    """The stored item renders in every format and every email, nothing skipped."""
    item = await store.get_item(guid)
    assert item is not None, guid  # what the door stored is readable
    dated = item.published is not None
    ACCEPTED["undated"] += not dated
    skipped: list[Skipped] = []
    doc = query_doc(
        settings,
        what="Generated",
        words="en",
        language=None,
        self_url="http://127.0.0.1:8080/feed.atom",
        items=[item],
        links={},
        skipped=skipped,
    )
    for fmt in ("atom", "rss"):
        read = feedparser.parse(render_feed(fmt, doc, skipped))
        assert not read.bozo, (fmt, read.get("bozo_exception"))
        assert [e.link for e in read.entries] == [ascii_url(item.url)]
        assert ["published" in e for e in read.entries] == [dated]  # no date of our making
    data = json.loads(render_feed("json", doc, skipped))
    assert [i["url"] for i in data["items"]] == [ascii_url(item.url)]
    assert ["date_published" in i for i in data["items"]] == [dated]
    calendar = icalendar.Calendar.from_ical(
        render_ics("Generated", "en", doc.self_url, doc.entries, skipped)
    )
    events = calendar.walk("VEVENT")
    assert [str(e["URL"]) for e in events] == ([ascii_url(item.url)] if item.deadline else [])
    assert skipped == []

    renderer = Renderer(settings, Signer(SECRET))
    subscriber = Subscriber("ana@example.org", language="en", lead_days=(365, 14, 1), id=1)
    calls: list[DueCall] = []
    if item.deadline is not None:
        renderer.prepare(item, NOW, subscriber, call=True)
        due_at = item.deadline.closes_at() - timedelta(days=1)
        calls = select_reminders(subscriber, [item], set(), due_at) or [DueCall(item, (1,))]
        assert all(call.keys for call in calls)
    renderer.prepare(item, NOW, subscriber, call=False)
    window = (NOW - timedelta(days=1), NOW)
    message = renderer.digest(subscriber, calls, [item], window, "<generated@test>", NOW)
    sent = email.message_from_bytes(Outgoing.of(message).data, policy=email.policy.default)
    html_part = sent.get_body(("html",))
    assert html_part is not None
    hrefs = [a.get("href") for a in lxml_html.fromstring(html_part.get_content()).iter("a")]
    assert item.url in hrefs


# ---- the doors ---------------------------------------------------------------------------


@pytest.fixture
def door_settings(write_config: Callable[..., Path]) -> Settings:
    return load_settings(write_config(CONFIG), env={})


@pytest.fixture
async def admin(door_settings: Settings, store: Store) -> AsyncIterator[TestClient[Any, Any]]:
    client: TestClient[Any, Any] = TestClient(
        TestServer(create_app(door_settings, store, RecordingActions()), host="127.0.0.1")
    )
    await client.start_server()
    yield client
    await client.close()


@_run
@given(data=item_json)
async def test_an_item_the_admin_api_accepts_is_published_and_reminded(
    admin: TestClient[Any, Any], store: Store, door_settings: Settings, data: dict[str, Any]
) -> None:
    auth = {"Authorization": f"Bearer {ADMIN}"}
    # an earlier example may have stored this guid: start from none, so a replay agrees
    path = quote(str(data["guid"]).encode("utf-8", "surrogatepass"), safe="")
    gone = await admin.delete(f"/api/items/{path}", headers=auth)
    assert gone.status in (204, 404)
    body = json.dumps(data, ensure_ascii=True)  # lone surrogates travel as \ud800 escapes
    answer = await admin.post(
        "/api/items", data=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert answer.status in (201, 400, 422), (answer.status, await answer.text())
    if answer.status == 201:
        guid = (await answer.json())["guid"]
        await assert_published_and_reminded(door_settings, store, guid)
        ACCEPTED["admin API"] += 1


@hyp_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=item_json)
def test_an_item_wcofeed_add_accepts_is_published_and_reminded(
    door_settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    data: dict[str, Any],
) -> None:
    entry = tmp_path / "item.json"
    entry.write_text(json.dumps(data, ensure_ascii=True), encoding="utf-8")
    code = main(["add", "--json", str(entry), "--config", str(door_settings.path)])
    assert code in (0, 1)  # stored, or refused with a one-line reason; never a traceback
    printed = capsys.readouterr()
    if code == 0:
        # `wcofeed add` prints "<outcome>: <guid>" first (the guid is made when not given)
        guid = printed.out.splitlines()[0].split(": ", 1)[1]

        async def check() -> None:
            async with await open_store(door_settings.database.path) as store:
                await assert_published_and_reminded(door_settings, store, guid)

        asyncio.run(check())
        ACCEPTED["wcofeed add"] += 1


async def _stored(store: Store, result: ParseResult) -> list[str]:
    return [r.item.guid for r in await store.upsert_items(result.items, now=NOW)]


@_run
@given(entries=st.lists(item_json, max_size=4))
async def test_items_a_json_source_accepts_are_published_and_reminded(
    store: Store, door_settings: Settings, entries: list[dict[str, Any]]
) -> None:
    body = json.dumps(entries, ensure_ascii=True).encode()
    result = parse_manual(
        body,
        source="hand",
        language="en",
        topics=TopicMatcher({}),
        kinds=KindGuesser(),
        default_topics=[],
    )
    assert len(result.items) + len(result.warnings) == len(entries)
    for guid in await _stored(store, result):
        await assert_published_and_reminded(door_settings, store, guid)
        ACCEPTED["JSON file"] += 1


def _rss(entries: list[dict[str, Any]]) -> bytes:
    def esc(value: Any) -> str:
        return html.escape(str(value), quote=True).encode("utf-8", "replace").decode()

    def dated(e: dict[str, Any]) -> str:
        return "" if e["published"] is None else f"<pubDate>{esc(e['published'])}</pubDate>"

    items = "".join(
        f"<item><title>{esc(e['title'])}</title><link>{esc(e['url'])}</link>"
        f"<guid>{esc(e['guid'])}</guid>{dated(e)}"
        f"<description>{esc(e.get('summary_html', ''))}</description></item>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>P</title>'
        f"<link>https://partner.example/</link><description>d</description>{items}"
        "</channel></rss>"
    ).encode()


#: Found by CI: a control character makes the feed malformed, its loose parser leaves
#: the link `https://example.org/&lt;0`, and feedparser read that back from our RSS as
#: `&lt0` (fixed in `ascii_url`).
_HALF_DECODED_LINK: dict[str, Any] = {
    "guid": "https://example.org/0",
    "title": "0",
    "url": "https://example.org/<;0",
    "published": None,
    "language": "en",
    "kind": "news",
    "summary": "",
    "deadline": None,
    "topics": [],
    "summary_html": "\x08",
}


@_run
@given(entries=st.lists(item_json, min_size=1, max_size=4))
@example(entries=[_HALF_DECODED_LINK])
async def test_items_a_feed_source_gives_are_published_and_reminded(
    store: Store, door_settings: Settings, entries: list[dict[str, Any]]
) -> None:
    source = SourceSettings(id="partner", url="https://partner.example/feed.xml", type="feed")
    ctx = PageContext(
        source=source,
        now=NOW,
        topics=TopicMatcher({}),
        kinds=KindGuesser(),
        page_url=source.url,
    )
    result = parse_feed(_rss(entries), ctx)
    for guid in await _stored(store, result):
        await assert_published_and_reminded(door_settings, store, guid)
        ACCEPTED["feed source"] += 1


def test_every_door_let_enough_generated_items_in_to_check() -> None:
    """The generators are hostile; this keeps them from refusing nearly everything, and
    undated items among those let in."""
    floors = {
        "admin API": 10,
        "wcofeed add": 3,
        "JSON file": 10,
        "feed source": 10,
        "undated": 10,
    }
    assert {door: ACCEPTED[door] >= floor for door, floor in floors.items()} == dict.fromkeys(
        floors, True
    ), ACCEPTED
