"""Reading items' own pages during ingest (`ingest.details`): a loopback server with a
list and the items' pages (the fixture pages of tests/fixtures/ingest/details/), a real
SQLite store, runs at chosen instants."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import BaseTestServer, TestServer

from tests.conftest import make_item
from wcofeed.config import Settings, SourceSettings, load_settings
from wcofeed.ingest.details import RETRY_AFTER, due, snapshot_path, with_findings
from wcofeed.ingest.run import ingest
from wcofeed.models import Deadline, DetailState, PageFindings, UpsertOutcome
from wcofeed.store import ItemQuery, Store

from .conftest import FIXTURES, SAMPLES

T0 = datetime(2025, 2, 15, 9, 0, tzinfo=UTC)
DETAILS = FIXTURES / "details"


def list_page(entries: list[tuple[str, str, str]]) -> str:
    """A list of items (path of its page, title, date line or ""), in the CSS profile's
    terms below."""
    blocks = "".join(
        f'<div class="entry"><a href="/{path}">{title}</a><span class="when">{when}</span>'
        f'<p class="lead">{title}: the list\'s one line.</p></div>'
        for path, title, when in entries
    )
    return f"<html><body>{blocks}</body></html>"


class Site:
    """The list page and the item pages, editable between runs; counts every request
    and answers a matching If-None-Match with 304."""

    def __init__(self) -> None:
        self.list = list_page(
            [
                ("es/becas", "Call for applications: becas", "3 February 2025"),
                ("fr/omd-japon", "L'OMD et le Japon", ""),
                ("ar/cdp", "Career Development Programme (Arabic)", ""),
            ]
        )
        self.pages = {
            "es/becas": (DETAILS / "call-es.html").read_text("utf-8"),
            "fr/omd-japon": (DETAILS / "news-fr.html").read_text("utf-8"),
            "ar/cdp": (DETAILS / "call-ar.html").read_text("utf-8"),
        }
        self.hits: Counter[str] = Counter()
        self.stall: set[str] = set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self.hits[path] += 1
        if path in self.stall:
            await asyncio.sleep(5)
        body = self.list if path == "list" else self.pages.get(path)
        if body is None:
            return web.Response(status=404)
        etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304)
        return web.Response(text=body, content_type="text/html", headers={"ETag": etag})


@pytest.fixture
def site() -> Site:
    return Site()


@pytest.fixture
async def server(site: Site) -> AsyncIterator[BaseTestServer]:
    app = web.Application()
    app.router.add_get("/{path:.+}", site.handle)
    async with TestServer(app, host="127.0.0.1") as srv:
        yield srv


@pytest.fixture
def make_settings(
    write_config: Callable[[str], Path], server: BaseTestServer
) -> Callable[..., Settings]:
    def make(**source: object) -> Settings:
        source.setdefault("details", "always")
        keys = "\n".join(
            f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in source.items()
        )
        text = f"""
            [fetch]
            retries = 0
            per_host_delay = 0.0
            read_timeout = 0.5
            [[sources]]
            id = "list"
            url = "{server.make_url("/list")}"
            profile = "css"
            {keys}
            selectors = {{ item = ".entry", title = "a", date = ".when", summary = ".lead" }}
        """
        return load_settings(write_config(text), env={})

    return make


async def test_new_items_get_their_pages_text_date_deadline_and_documents(
    make_settings: Callable[..., Settings], store: Store, site: Site
) -> None:
    report = await ingest(make_settings(), store, now=T0)
    (source,) = report.sources
    assert (source.new, source.details.read, source.details.failed) == (3, 3, 0)
    assert all(r.outcome is UpsertOutcome.NEW for r in report.results)
    items = {r.item.url.rsplit("/", 1)[-1]: r.item for r in report.results}
    becas, omd, cdp = items["becas"], items["omd-japon"], items["cdp"]
    assert "seis semanas de formación" in becas.content_text
    assert becas.summary == "Call for applications: becas: the list's one line."  # kept
    assert [a.title for a in becas.attachments] == [
        "Formulario de candidatura",
        "Términos de referencia (PDF, 310 KB)",
    ]
    # The list dates this one: its date stays; the others take the page's.
    assert becas.published == date(2025, 2, 3)
    assert omd.published == date(2025, 2, 12) and cdp.published == date(2025, 2, 3)
    # A call's deadline, to the minute, from its page (the list gives none).
    assert becas.kind == "call"
    assert becas.deadline == Deadline(date(2025, 3, 14), time(17, 0), "Europe/Brussels")
    stored = await store.get_item(becas.guid)
    assert stored is not None and stored.content_html == becas.content_html
    assert stored.attachments == becas.attachments


async def test_a_page_is_read_once_then_only_on_a_list_change_or_the_slow_schedule(
    make_settings: Callable[..., Settings], store: Store, site: Site
) -> None:
    settings = make_settings()
    await ingest(settings, store, now=T0)
    site.list += " "  # the list changes, none of its items do
    report = await ingest(settings, store, now=T0 + timedelta(hours=1))
    assert report.sources[0].details.read == report.sources[0].details.unchanged == 0
    assert site.hits["es/becas"] == 1
    # An item the list shows changed: its page is asked again (conditionally: 304).
    site.list = site.list.replace(
        ">Call for applications: becas<", ">Call for applications: becas 2025<"
    )
    report = await ingest(settings, store, now=T0 + timedelta(hours=2))
    (changed,) = report.results
    assert changed.item.title == "Call for applications: becas 2025"
    assert "seis semanas" in changed.item.content_text  # the page's text is kept
    assert site.hits["es/becas"] == 2 and site.hits["fr/omd-japon"] == 1
    assert report.sources[0].details.unchanged == 1
    # A week later, the list unchanged (304): every page again, on schedule.
    later = T0 + timedelta(seconds=settings.sources[0].details_every, hours=3)
    report = await ingest(settings, store, now=later)
    assert report.sources[0].not_modified
    assert [site.hits[p] for p in ("es/becas", "fr/omd-japon", "ar/cdp")] == [3, 2, 2]


async def test_a_page_that_changes_changes_its_item(
    make_settings: Callable[..., Settings], store: Store, site: Site
) -> None:
    settings = make_settings()
    first = await ingest(settings, store, now=T0)
    before = {r.item.guid: r.item for r in first.results}
    site.pages["fr/omd-japon"] = site.pages["fr/omd-japon"].replace("trois ans", "quatre ans")
    later = T0 + timedelta(seconds=settings.sources[0].details_every + 60)
    report = await ingest(settings, store, now=later)
    (changed,) = report.results
    assert changed.outcome is UpsertOutcome.CHANGED
    assert "quatre ans" in changed.item.content_text
    assert changed.previous is not None and "trois ans" in changed.previous.content_text
    assert changed.item.first_seen == before[changed.item.guid].first_seen == T0
    assert report.sources[0].changed == 1


async def test_details_per_run_leaves_the_rest_for_the_next_run(
    make_settings: Callable[..., Settings], store: Store, site: Site
) -> None:
    settings = make_settings(details_per_run=2)
    report = await ingest(settings, store, now=T0)
    assert report.sources[0].details.read == 2
    assert sum(1 for r in report.results if r.item.content_text) == 2
    # The list has not changed (304): the page left over is read now.
    report = await ingest(settings, store, now=T0 + timedelta(hours=1))
    assert report.sources[0].not_modified and report.sources[0].details.read == 1
    (read,) = report.results
    assert read.item.content_text
    assert sum(site.hits[p] for p in site.pages) == 3


async def test_a_missing_page_keeps_the_lists_item_and_records_why(
    make_settings: Callable[..., Settings], store: Store, site: Site
) -> None:
    del site.pages["fr/omd-japon"]
    settings = make_settings()
    report = await ingest(settings, store, now=T0)
    (source,) = report.sources
    assert (source.new, source.details.read, source.details.failed) == (3, 2, 1)
    assert "HTTP 404" in source.details.errors[0] and "omd-japon" in source.details.errors[0]
    assert not source.failed
    item = next(r.item for r in report.results if r.item.url.endswith("omd-japon"))
    assert item.title == "L'OMD et le Japon" and item.content_text == ""
    assert item.published is None  # nothing invented
    (state,) = (await store.detail_states([item.guid])).values()
    assert state.failures == 1 and "HTTP 404" in (state.error or "")
    assert state.due == T0 + RETRY_AFTER
    # Not asked again before its retry; then asked, and it is back.
    await ingest(settings, store, now=T0 + RETRY_AFTER / 2)
    assert site.hits["fr/omd-japon"] == 1
    site.pages["fr/omd-japon"] = (DETAILS / "news-fr.html").read_text("utf-8")
    report = await ingest(settings, store, now=T0 + RETRY_AFTER)
    (back,) = report.results
    assert "Programme de sécurité" in back.item.content_text
    (state,) = (await store.detail_states([item.guid])).values()
    assert (state.failures, state.error) == (0, None)


async def test_a_page_that_times_out_keeps_earlier_findings(
    make_settings: Callable[..., Settings], store: Store, site: Site
) -> None:
    settings = make_settings()
    await ingest(settings, store, now=T0)
    site.stall.add("ar/cdp")
    later = T0 + timedelta(seconds=settings.sources[0].details_every + 60)
    report = await ingest(settings, store, now=later)
    (source,) = report.sources
    assert source.details.failed == 1 and "timed out" in source.details.errors[0]
    assert report.results == []
    guid = next(g for g in await _guids(store) if g.endswith("ar/cdp"))
    item = await store.get_item(guid)
    assert item is not None and "الموعد النهائي" in item.content_text
    (state,) = (await store.detail_states([guid])).values()
    assert state.failures == 1 and state.findings is not None


async def _guids(store: Store) -> list[str]:
    return [i.guid for i in await store.query_items(ItemQuery(limit=50))]


async def test_versions_in_other_languages_share_the_pages_translation_key(
    make_settings: Callable[..., Settings], store: Store, site: Site
) -> None:
    english = site.pages["fr/omd-japon"].replace('<html lang="fr">', '<html lang="en">')
    site.pages["en/the-wco-and-japan"] = english
    site.list = list_page(
        [("fr/omd-japon", "L'OMD et le Japon", ""), ("en/the-wco-and-japan", "WCO and Japan", "")]
    )
    await ingest(make_settings(), store, now=T0)
    key = "https://www.wcoomd.org/{lang}/media/newsroom/2025/february/the-wco-and-japan.aspx"
    versions = await store.versions([key])
    assert sorted(v.url.rsplit("/", 1)[-1] for v in versions[key]) == [
        "omd-japon",
        "the-wco-and-japan",
    ]


async def test_never_and_auto_for_non_wco_sources_read_no_page(
    make_settings: Callable[..., Settings], store: Store, site: Site
) -> None:
    for mode in ("never", "auto"):  # auto: this css source is no WCO profile
        report = await ingest(make_settings(details=mode), store, now=T0)
        assert report.sources[0].details.read == 0
    assert sum(site.hits[p] for p in site.pages) == 0


async def test_saved_pages_are_read_instead_of_the_web_within_the_limit(
    make_settings: Callable[..., Settings], store: Store, site: Site, tmp_path: Path
) -> None:
    folder = tmp_path / "pages"
    saved = folder / "127.0.0.1" / "fr" / "omd-japon"
    saved.parent.mkdir(parents=True)
    saved.write_text(site.pages["fr/omd-japon"], encoding="utf-8")
    # One page a run, the saved one listed second: the unsaved ones do not use it up.
    report = await ingest(make_settings(details_per_run=1, detail_pages=str(folder)), store, now=T0)
    assert report.sources[0].details.read == 1
    (read,) = [r.item for r in report.results if r.item.content_text]
    assert read.url.endswith("/fr/omd-japon") and "Programme de sécurité" in read.content_text
    assert sum(site.hits[p] for p in site.pages) == 0  # nothing asked of the web


def test_auto_reads_pages_of_wco_profiles_only() -> None:
    def source(**keys: str) -> SourceSettings:
        return SourceSettings(id="s", url="https://www.wcoomd.org/en.aspx", **keys)  # type: ignore[arg-type]

    assert source().reads_details() and source(profile="wco-newsroom").reads_details()
    assert not source(type="feed").reads_details() and not source(type="json").reads_details()
    assert source(type="feed", details="always").reads_details()
    assert not source(details="never").reads_details()
    # A list read from a local snapshot is offline: its pages only from saved ones.
    offline = SourceSettings(id="s", url="samples/wco-home-en.html")
    assert not offline.reads_details()
    assert dataclasses.replace(offline, detail_pages=SAMPLES / "pages").reads_details()


def test_due_orders_new_then_changed_then_scheduled() -> None:
    items = [make_item(title=f"Item {n}") for n in range(4)]
    later = T0 + timedelta(days=1)

    def state(n: int, list_hash: str, when: datetime) -> DetailState:
        return DetailState(items[n].guid, items[n].url, list_hash, when)

    states = {
        items[0].guid: state(0, items[0].content_hash, later),  # read, not due
        items[1].guid: state(1, items[1].content_hash, T0),  # due by schedule
        items[2].guid: state(2, "older list", later),  # changed on the list
    }
    assert due(items, states, T0, 10) == [items[3], items[2], items[1]]
    assert due(items, states, T0, 1) == [items[3]]


def test_findings_fill_what_the_list_lacks_and_keep_what_it_gives() -> None:
    listed = make_item(
        kind="call", published=date(2025, 1, 1), deadline=Deadline(date(2025, 3, 14))
    )
    page = PageFindings(
        content_html="<p>Text</p>",
        content_text="Text",
        published=date(2024, 12, 1),
        deadline=Deadline(date(2025, 3, 14), time(12, 0), "Europe/Brussels"),
        translation_key="https://example.org/{lang}/shared",
    )
    merged = with_findings(listed, page)
    assert merged.published == date(2025, 1, 1)  # the list's own date stays
    assert merged.deadline == page.deadline  # the page adds the time
    assert merged.translation_key == page.translation_key
    news = with_findings(dataclasses.replace(listed, kind="news", deadline=None), page)
    assert news.deadline is None  # a news page's dates are no deadline
    named = make_item(translation_key="given-by-source")
    assert with_findings(named, page).translation_key == "given-by-source"


def test_snapshot_paths_stay_inside_their_folder(tmp_path: Path) -> None:
    page = SAMPLES / "pages" / "www.wcoomd.org" / "en" / "about-us" / "vacancies" / "cdp-2025.aspx"
    found = snapshot_path(
        SAMPLES / "pages", "https://www.wcoomd.org/en/about-us/vacancies/cdp-2025.aspx"
    )
    assert found == page.resolve()
    assert snapshot_path(SAMPLES / "pages", "https://www.wcoomd.org/en/none.aspx") is None
    assert snapshot_path(SAMPLES / "pages", "https://www.wcoomd.org/../../config.toml") is None
    assert snapshot_path(SAMPLES / "pages", "https://..//etc/passwd") is None
