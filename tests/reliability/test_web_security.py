"""Hostile HTTP input against every route, over a real server and a real SQLite file.

`tests/web/test_generated_input.py` fuzzes the pages and the admin items API; this adds
every other route and form, and the attacks the service must refuse: script in titles,
SQL through filters, path traversal, open redirects, oversized bodies, bad tokens,
cross-site posts and mail-bombing.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
import feedparser
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from tests.conftest import make_item
from tests.web.conftest import RecordingActions
from wcofeed.config import Settings, load_settings
from wcofeed.digest.confirm import request_confirmation
from wcofeed.digest.run import run_digest
from wcofeed.digest.tokens import Purpose, Signer
from wcofeed.models import Deadline, Subscriber
from wcofeed.publish.run import publish_all
from wcofeed.store import ItemQuery, Store
from wcofeed.web.app import create_app
from wcofeed.web.auth import ADMIN_LIMITER
from wcofeed.web.ratelimit import MAX_CLIENTS, RateLimiter
from wcofeed.web.subscribe import SUBSCRIBE_LIMITER, SUBSCRIBE_POSTS

SECRET = "reliability-web-secret-0123456789"
ADMIN = "reliability-admin-token-0123456789abc"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
SITE = "http://feeds.example.org"
SCRIPT = "<script>alert('x')</script>"
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
ANA, BO = "ana@example.org", "bo@example.org"
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
[topics.origin]
labels = {{ en = "Rules of origin" }}
[[sources]]
id = "home"
url = "samples/home.html"
"""


@pytest.fixture
def web_settings(write_config: Callable[..., Path]) -> Settings:
    return load_settings(write_config(CONFIG), env={})


async def _serve(
    settings: Settings,
    store: Store,
    limiter: RateLimiter | None,
    admin_limiter: RateLimiter | None = None,
) -> TestClient[Any, Any]:
    app = create_app(settings, store, RecordingActions())
    if limiter is not None:
        app[SUBSCRIBE_LIMITER] = limiter
    if admin_limiter is not None:
        app[ADMIN_LIMITER] = admin_limiter
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def client(web_settings: Settings, store: Store) -> AsyncIterator[TestClient[Any, Any]]:
    """The app as deployed, its per-client limit on `/subscribe` included."""
    c = await _serve(web_settings, store, None)
    yield c
    await c.close()


@pytest.fixture
async def roomy(web_settings: Settings, store: Store) -> AsyncIterator[TestClient[Any, Any]]:
    """The app with the `/subscribe` limit out of the way, so generated posts reach the form."""
    c = await _serve(web_settings, store, RateLimiter(10**9, 60.0))
    yield c
    await c.close()


@pytest.fixture
async def people(store: Store) -> Store:
    now = datetime.now(UTC)
    await store.save_subscriber(Subscriber(ANA, status="pending"), now)
    await store.save_subscriber(Subscriber(BO, status="active", topics=("origin",)), now)
    await store.upsert_items(
        [
            make_item(topics=("origin",), title="Origin news"),
            make_item(kind="call", deadline=Deadline(date.today() + timedelta(days=30))),
        ]
    )
    return store


def outbox(settings: Settings) -> list[Path]:
    return sorted(settings.email.outbox_dir.glob("*.eml"))


def no_foreign_redirect(response: aiohttp.ClientResponse) -> None:
    """Any Location the app sends stays on this site."""
    location = response.headers.get("Location")
    if location is not None:
        target = urlsplit(location)
        assert target.netloc in ("", response.url.host, urlsplit(SITE).netloc), location
        assert not location.startswith(("//", "/\\")), location


# --- every route and form, generated ------------------------------------------------

_now = datetime.now(UTC)
_signer = Signer(SECRET)
TOKENS = [
    _signer.make(purpose, address, _now)
    for purpose in ("confirm", "unsubscribe", "preferences")
    for address in (ANA, BO, "nobody@example.org")
]
hostile = st.sampled_from(
    [
        "' OR 1=1 --",
        '"; DROP TABLE items; --',
        "../../etc/passwd",
        "..%2f..%2fetc%2fpasswd",
        "\x00",
        "NEAR(",
        '"',
        "*",
        "origin\r\nSet-Cookie: x=1",
        SCRIPT,
        "https://evil.example/",
        "//evil.example",
        "😀",
        "١٢٣",
        "-1",
        "999999999999999999999",
        "2025-02-30",
        "Europe/Nowhere",
        "a" * 300,
        "en,fr",
        "14,3,1",
        "weekly",
        "daily",
        "en",
        "fr",
        "origin",
        "UTC",
        "Europe/Paris",
        ANA,
        BO,
        "new@example.org",
        "NEW@Example.org",
    ]
)
token_like = st.one_of(
    st.sampled_from(TOKENS),
    st.sampled_from(TOKENS).map(lambda t: t[:-2] + "xx"),
    st.sampled_from(TOKENS).map(lambda t: t.replace(".", "..", 1)),
)
value = st.one_of(st.text(max_size=30), hostile, token_like)
QUERY_NAMES = ["lang", "topic", "kind", "q", "page", "hl", "since", "limit", "token", "next"]
FORM_NAMES = [
    "email",
    "language",
    "topic",
    "lead_days",
    "digest",
    "timezone",
    "token",
    "List-Unsubscribe",
    "name",
]
pairs = st.lists(st.tuples(st.sampled_from(QUERY_NAMES) | st.text(max_size=8), value), max_size=6)
form_pairs = st.lists(st.tuples(st.sampled_from(FORM_NAMES), value), max_size=9)
segment = st.one_of(
    st.sampled_from(["..", ".", "%2e%2e", "index.html", "feeds.opml", "en", "x.atom", ""]),
    st.text(max_size=12),
)
GET_ROUTES = [
    "/",
    "/calls",
    "/feed.atom",
    "/feed.rss",
    "/feed.json",
    "/feed.ics",
    "/subscribe",
    "/confirm",
    "/unsubscribe",
    "/preferences",
    "/healthz",
    "/metrics",
    "/api/sources",
]
FORM_ROUTES = ["/subscribe", "/confirm", "/unsubscribe", "/preferences"]

_run = hyp_settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_run
@given(path=st.sampled_from(GET_ROUTES), params=pairs, admin=st.booleans())
async def test_generated_queries_on_every_get_route_never_fail(
    roomy: TestClient[Any, Any],
    people: Store,
    path: str,
    params: list[tuple[str, str]],
    admin: bool,
) -> None:
    response = await roomy.get(
        f"{path}?{urlencode(params)}", headers=AUTH if admin else {}, allow_redirects=False
    )
    await response.read()
    assert response.status < 500, (path, params, response.status)
    no_foreign_redirect(response)


@_run
@given(parts=st.lists(segment, max_size=5), params=pairs)
async def test_generated_feed_file_paths_never_fail(
    roomy: TestClient[Any, Any], web_settings: Settings, parts: list[str], params: Any
) -> None:
    web_settings.publish.feeds_dir.mkdir(exist_ok=True)
    (web_settings.publish.feeds_dir / "index.html").write_text("<p>feeds</p>")
    tail = "/".join(quote(p, safe="%") for p in parts)
    response = await roomy.get(f"/feeds/{tail}?{urlencode(params)}", allow_redirects=False)
    body = await response.read()
    assert response.status in (200, 304, 400, 404), (parts, response.status)
    assert b"reliability-web-secret" not in body
    no_foreign_redirect(response)


@_run
@given(
    path=st.sampled_from(FORM_ROUTES),
    params=pairs,
    form=form_pairs,
    origin=st.sampled_from([None, SITE, "https://evil.example", "null"]),
)
async def test_generated_form_posts_never_fail(
    roomy: TestClient[Any, Any],
    people: Store,
    path: str,
    params: list[tuple[str, str]],
    form: list[tuple[str, str]],
    origin: str | None,
) -> None:
    headers = {"Origin": origin} if origin else {}
    response = await roomy.post(
        f"{path}?{urlencode(params)}", data=form, headers=headers, allow_redirects=False
    )
    await response.read()
    assert response.status in (200, 400, 403, 404), (path, params, form, response.status)
    if origin in ("https://evil.example", "null") and "token" not in dict(params):
        # a control character in the query is refused first, for every route
        controls = any(CONTROL.search(k + v) for k, v in params)
        assert response.status == 403 or (controls and response.status == 400)
    no_foreign_redirect(response)


@_run
@given(
    method=st.sampled_from(["GET", "PUT", "DELETE", "POST"]),
    guid=st.one_of(st.text(min_size=1, max_size=30), hostile),
    body=st.one_of(st.none(), st.dictionaries(st.sampled_from(FORM_NAMES), value, max_size=4)),
)
async def test_generated_admin_api_calls_never_fail(
    roomy: TestClient[Any, Any], people: Store, method: str, guid: str, body: Any
) -> None:
    if method == "POST":
        path = f"/api/sources/{quote(guid, safe='')}/ingest"
    else:
        path = f"/api/items/{quote(guid, safe='')}"
    response = await roomy.request(method, path, json=body, headers=AUTH, allow_redirects=False)
    await response.read()
    assert response.status in (200, 204, 400, 404, 405, 422), (method, guid, response.status)
    no_foreign_redirect(response)


# --- script in titles --------------------------------------------------------------


async def test_script_in_titles_is_escaped_in_pages_feeds_and_emails(
    client: TestClient[Any, Any], store: Store, web_settings: Settings
) -> None:
    call = make_item(
        kind="call",
        title=f"Call {SCRIPT}",
        summary=f"Summary {SCRIPT}",
        summary_html=f"<p>Summary</p>{SCRIPT}<img src=x onerror=alert(1)>",
        topics=("origin",),
        deadline=Deadline(date.today() + timedelta(days=1)),
    )
    await store.upsert_items([call])
    for path in ("/", "/calls", "/?q=alert", "/calls?topic=origin"):
        html = await (await client.get(path)).text()
        assert "Call &lt;script&gt;" in html, path
        assert "<script>" not in html and "onerror" not in html, path

    for fmt in ("atom", "rss"):
        body = await (await client.get(f"/feed.{fmt}")).read()
        parsed = feedparser.parse(body)
        assert not parsed.bozo, parsed.bozo_exception
        assert parsed.entries[0].title == f"Call {SCRIPT}"
        assert b"<script>" not in body and b"onerror" not in body, fmt
    feed = json.loads(await (await client.get("/feed.json")).read())
    (entry,) = feed["items"]
    assert entry["title"] == f"Call {SCRIPT}"
    assert "<script" not in entry.get("content_html", "") and "onerror" not in json.dumps(entry)

    await publish_all(web_settings, store)
    files = [p for p in web_settings.publish.feeds_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".atom" for p in files) and any(p.suffix == ".html" for p in files)
    for file in files:
        tail = file.relative_to(web_settings.publish.feeds_dir).as_posix()
        response = await client.get(f"/feeds/{tail}")
        body = await response.read()
        if file.suffix in (".ics", ".json"):  # plain text and JSON strings: no markup to run
            assert not response.content_type.endswith(("html", "xml")), tail
            continue
        assert b"<script>" not in body and b"onerror" not in body, tail
        if file.suffix in (".atom", ".rss"):
            assert not feedparser.parse(body).bozo, tail

    await store.save_subscriber(
        Subscriber(ANA, status="active", topics=("origin",), lead_days=(3,)), datetime.now(UTC)
    )
    report = await run_digest(store, web_settings)
    assert report.sent == 1
    (eml,) = outbox(web_settings)
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    html_part = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text_part = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Call &lt;script&gt;" in html_part
    assert "<script>" not in html_part and "onerror" not in html_part
    assert f"Call {SCRIPT}" in text_part


# --- SQL injection through filters -------------------------------------------------

INJECTIONS = [
    "' OR '1'='1",
    "x' OR 1=1 --",
    "origin' --",
    "en' UNION SELECT * FROM subscribers --",
    "'); DROP TABLE items; --",
    '" OR ""="',
    "1; DELETE FROM items",
]


@pytest.mark.parametrize("injection", INJECTIONS)
async def test_sql_in_filters_is_data_not_code(
    client: TestClient[Any, Any], people: Store, injection: str
) -> None:
    total = len(await people.query_items(ItemQuery(limit=1000)))
    for name in ("lang", "topic", "kind"):
        for path in ("/", "/calls", "/feed.json"):
            response = await client.get(path, params={name: injection})
            assert response.status in (400, 404), (name, path, response.status)
    for path in ("/", "/calls", "/feed.json"):
        response = await client.get(path, params={"q": injection})
        assert response.status == 200, (path, response.status)
    listed = json.loads(await (await client.get("/feed.json", params={"q": injection})).read())
    words = {w for w in re.findall(r"\w+", injection.lower()) if len(w) > 1}
    for entry in listed["items"]:  # found only by its words, never by the SQL around them
        text = f"{entry['title']} {entry.get('content_text', '')}".lower()
        assert words & set(re.findall(r"\w+", text)), (injection, entry["title"])
    assert len(listed["items"]) < total
    for limit in ("1 OR 1=1", "-1", "1e9"):
        response = await client.get("/feed.json", params={"limit": limit})
        assert response.status == 400
    assert len(await people.query_items(ItemQuery(limit=1000))) == total
    assert await people.get_subscriber(ANA) is not None


# --- path traversal through feed paths ---------------------------------------------


async def _raw_get(client: TestClient[Any, Any], target: str) -> tuple[int, bytes]:
    """GET with the request-target sent exactly as given: clients normalise `..` away."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


TRAVERSALS = [
    "/feeds/../secret.txt",
    "/feeds/../../secret.txt",
    "/feeds/%2e%2e/secret.txt",
    "/feeds/..%2fsecret.txt",
    "/feeds/%2e%2e%2fsecret.txt",
    "/feeds/..%5csecret.txt",
    "/feeds/en/../../secret.txt",
    "/feeds//../secret.txt",
    "/feeds/link/secret.txt",
    "/feeds/escape.atom",
    "/feeds/.hidden.atom",
    "/feeds/%00.atom",
    "/static/../secret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/..%2f..%2fsecret.txt",
]


async def test_feed_paths_cannot_leave_the_feeds_folder(
    client: TestClient[Any, Any], web_settings: Settings
) -> None:
    root = web_settings.publish.feeds_dir
    (root / "en").mkdir(parents=True)
    (root / "en" / "all.atom").write_text("<feed/>")
    secret = root.parent / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    (root.parent / "secret.atom").write_text("TOP-SECRET-CONTENT")
    (root / "link").symlink_to(root.parent, target_is_directory=True)
    (root / "escape.atom").symlink_to(root.parent / "secret.atom")
    (root / ".hidden.atom").write_text("TOP-SECRET-CONTENT")
    status, body = await _raw_get(client, "/feeds/en/all.atom")
    assert status == 200 and body.endswith(b"<feed/>")  # the control: real files are served
    for target in TRAVERSALS:
        status, body = await _raw_get(client, target)
        assert b"TOP-SECRET" not in body, target
        assert status in (400, 403, 404), (target, status)


# --- open redirects ----------------------------------------------------------------

STEERING = [
    "//evil.example/",
    "//evil.example/%2f..",
    "/\\evil.example",
    "/feeds//evil.example",
    "/feeds/en/?next=https://evil.example",
    "/static//evil.example",
    "/static",
    "/calls/",
    "/subscribe/",
    "/subscribe?next=https://evil.example&return_to=//evil.example",
    "/confirm?token=x&redirect=https://evil.example",
    "/api",
    "/api/items/",
    "/%2f%2fevil.example",
]


async def test_no_redirect_can_be_steered_off_site(
    client: TestClient[Any, Any], web_settings: Settings
) -> None:
    (web_settings.publish.feeds_dir / "en").mkdir(parents=True)
    for target in STEERING:
        for method in ("GET", "POST"):
            reader, writer = await asyncio.open_connection(client.host, client.port)
            writer.write(
                f"{method} {target} HTTP/1.1\r\nHost: feeds.example.org\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            head = (await reader.read()).partition(b"\r\n\r\n")[0].decode("latin-1")
            writer.close()
            await writer.wait_closed()
            for line in head.split("\r\n")[1:]:
                name, _, location = line.partition(":")
                if name.lower() == "location":
                    netloc = urlsplit(location.strip()).netloc
                    assert netloc in ("", "feeds.example.org"), (target, location)
                    assert not location.strip().startswith(("//", "/\\")), (target, location)


# --- oversized bodies --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/subscribe", {}),
        ("/confirm", {}),
        ("/unsubscribe", {}),
        ("/unsubscribe?token=" + TOKENS[4], {}),
        ("/preferences", {}),
        ("/api/items", AUTH),
    ],
)
async def test_oversized_bodies_are_refused_with_413(
    client: TestClient[Any, Any], people: Store, path: str, headers: dict[str, str]
) -> None:
    big = {"email": "x@example.org", "token": TOKENS[0], "padding": "a" * 200_000}
    response = await client.post(path, data=big, headers=headers)
    assert response.status == 413, (path, response.status)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"email=" + b"a" * 8192 + b"&"

    chunked = await client.post(
        path,
        data=chunks(),
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert chunked.status == 413, (path, chunked.status)
    assert (await people.get_subscriber(ANA)) is not None
    bo = await people.get_subscriber(BO)
    assert bo is not None and bo.status == "active"


# --- tokens: forged, replayed, expired ---------------------------------------------


def _tampered(token: str, address: str) -> str:
    """The token with another address put in, signature kept."""
    purpose, _, expires, signature = token.split(".")
    other = Signer(SECRET).make("unsubscribe", address, _now).split(".")[1]
    return ".".join((purpose, other, expires, signature))


def _bad_tokens(purpose: Purpose) -> dict[str, str]:
    now = datetime.now(UTC)
    others = [p for p in ("confirm", "unsubscribe", "preferences") if p != purpose]
    lifetime = {"confirm": timedelta(days=8), "preferences": timedelta(days=91)}
    tokens = {
        "forged": Signer("a-different-secret-0123456789").make(purpose, ANA, now),
        "tampered": _tampered(Signer(SECRET).make(purpose, BO, now), ANA),
        "truncated": Signer(SECRET).make(purpose, ANA, now)[:-1],
        "empty": "",
        **{f"for {p}": Signer(SECRET).make(p, ANA, now) for p in others},  # type: ignore[arg-type]
    }
    if purpose in lifetime:
        tokens["expired"] = Signer(SECRET).make(purpose, ANA, now - lifetime[purpose])
    return tokens


@pytest.mark.parametrize("purpose", ["confirm", "unsubscribe", "preferences"])
async def test_forged_replayed_and_expired_tokens_change_nothing(
    client: TestClient[Any, Any], store: Store, purpose: Purpose
) -> None:
    now = datetime.now(UTC)
    await store.save_subscriber(Subscriber(ANA, status="pending", topics=("origin",)), now)
    form = {"language": "fr", "topic": "origin", "lead_days": "2", "digest": "daily"}
    for name, token in _bad_tokens(purpose).items():
        page = await client.get(f"/{purpose}", params={"token": token})
        assert page.status == 400, (name, page.status)
        assert "This link is not valid" in await page.text()
        posted = await client.post(f"/{purpose}", data={**form, "token": token})
        assert posted.status == 400, (name, posted.status)
        one_click = await client.post(f"/{purpose}?token={quote(token)}", data=form)
        assert one_click.status in (400, 405), (name, one_click.status)
    ana = await store.get_subscriber(ANA)
    assert ana is not None and ana.status == "pending" and ana.language == "en"
    assert await store.get_subscriber(BO) is None


async def test_a_confirm_link_cannot_resubscribe_after_unsubscribing(
    client: TestClient[Any, Any], store: Store
) -> None:
    now = datetime.now(UTC)
    await store.save_subscriber(Subscriber(ANA, status="pending"), now)
    confirm = Signer(SECRET).make("confirm", ANA, now)
    assert (await client.post("/confirm", data={"token": confirm})).status == 200
    leave = Signer(SECRET).make("unsubscribe", ANA, now)
    assert (await client.post(f"/unsubscribe?token={leave}")).status == 200
    replayed = await client.post("/confirm", data={"token": confirm})
    assert replayed.status == 400
    ana = await store.get_subscriber(ANA)
    assert ana is not None and ana.status == "unsubscribed"


async def test_a_confirm_link_reactivates_a_paused_address(
    client: TestClient[Any, Any], store: Store
) -> None:
    now = datetime.now(UTC)
    await store.save_subscriber(Subscriber(ANA, status="paused"), now)
    confirm = Signer(SECRET).make("confirm", ANA, now)
    assert (await client.post("/confirm", data={"token": confirm})).status == 200
    ana = await store.get_subscriber(ANA)
    assert ana is not None and ana.status == "active"


async def test_following_a_confirm_link_does_not_confirm(
    client: TestClient[Any, Any], store: Store
) -> None:
    await store.save_subscriber(Subscriber(ANA, status="pending"), datetime.now(UTC))
    token = Signer(SECRET).make("confirm", ANA, datetime.now(UTC))
    page = await client.get("/confirm", params={"token": token})
    html = await page.text()
    assert page.status == 200 and f'name="token" value="{token}"' in html
    assert 'method="post"' in html and "no-referrer" in html
    ana = await store.get_subscriber(ANA)
    assert ana is not None and ana.status == "pending"


# --- the admin API -----------------------------------------------------------------

ADMIN_CALLS = [
    ("GET", "/api/sources"),
    ("POST", "/api/sources/home/ingest"),
    ("POST", "/api/items"),
    ("GET", "/api/items/https://example.org/item/1"),
    ("PUT", "/api/items/https://example.org/item/1"),
    ("DELETE", "/api/items/https://example.org/item/1"),
]
WRONG = [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer wrong"},
    {"Authorization": f"Bearer {ADMIN[:-1]}"},
    {"Authorization": f"Bearer {ADMIN}x"},
    {"Authorization": f"Bearer  {ADMIN}"},
    {"Authorization": f"Token {ADMIN}"},
    {"X-Admin-Token": ADMIN},
]


@pytest.fixture
async def patient(web_settings: Settings, store: Store) -> AsyncIterator[TestClient[Any, Any]]:
    """The app with the limit on failed admin logins out of the way (it has its own test)."""
    c = await _serve(web_settings, store, None, RateLimiter(10**9, 600.0))
    yield c
    await c.close()


async def test_the_admin_api_refuses_missing_and_wrong_tokens(
    patient: TestClient[Any, Any], store: Store
) -> None:
    client = patient
    item = make_item(guid="https://example.org/item/1", url="https://example.org/item/1")
    await store.upsert_items([item])
    body = {"guid": "https://example.org/item/2", "title": "x", "url": "https://example.org/2"}
    for method, path in ADMIN_CALLS:
        for headers in WRONG:
            response = await client.request(method, path, json=body, headers=headers)
            assert response.status == 401, (method, path, headers, response.status)
            assert "Bearer" in response.headers["WWW-Authenticate"]
    kept = await store.get_item(item.guid)
    assert kept is not None and kept.title == item.title
    assert await store.get_item("https://example.org/item/2") is None
    allowed = await client.get("/api/items/https://example.org/item/1", headers=AUTH)
    assert allowed.status == 200  # the control: the right token works


async def test_the_admin_api_is_off_without_a_configured_token(
    write_config: Callable[..., Path], store: Store
) -> None:
    settings = load_settings(write_config(CONFIG.replace(f'"{ADMIN}"', '""')), env={})
    c = await _serve(settings, store, None)
    try:
        for method, path in ADMIN_CALLS:
            for headers in (AUTH, {"Authorization": "Bearer "}, {}):
                response = await c.request(method, path, json={}, headers=headers)
                assert response.status == 404, (method, path, response.status)
    finally:
        await c.close()


# --- cross-site form posts ---------------------------------------------------------

FOREIGN = [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://feeds.example.org.evil.example"},
    {"Origin": "javascript://feeds.example.org"},
    {"Referer": "https://evil.example/feeds.example.org"},
    {"Origin": "https://evil.example", "Referer": SITE + "/subscribe"},
]


@pytest.mark.parametrize("path", FORM_ROUTES)
async def test_cross_site_posts_are_refused_on_every_form(
    client: TestClient[Any, Any], people: Store, web_settings: Settings, path: str
) -> None:
    purpose = cast(Purpose, path.strip("/"))
    who = BO if purpose != "confirm" else ANA
    token = Signer(SECRET).make(purpose, who, datetime.now(UTC)) if path != "/subscribe" else ""
    form = {"token": token, "email": "new@example.org", "language": "fr", "topic": "origin"}
    for headers in FOREIGN:
        response = await client.post(path, data=form, headers=headers)
        assert response.status == 403, (path, headers, response.status)
    assert await people.get_subscriber("new@example.org") is None
    ana, bo = await people.get_subscriber(ANA), await people.get_subscriber(BO)
    assert ana is not None and ana.status == "pending"
    assert bo is not None and (bo.status, bo.language) == ("active", "en")
    assert outbox(web_settings) == []
    same_site = await client.post(path, data=form, headers={"Origin": SITE})
    assert same_site.status == 200  # the control: our own pages may post


# --- mail-bombing ------------------------------------------------------------------


async def test_one_confirmation_per_address_per_hour_even_when_posts_race(
    client: TestClient[Any, Any], store: Store, web_settings: Settings
) -> None:
    posts = [
        client.post("/subscribe", data={"email": ANA if n % 2 else ANA.upper(), "language": "en"})
        for n in range(SUBSCRIBE_POSTS)
    ]
    answers = await asyncio.gather(*posts)
    assert [r.status for r in answers] == [200] * SUBSCRIBE_POSTS
    assert len(outbox(web_settings)) == 1

    pending = await store.get_subscriber(ANA)
    assert pending is not None and pending.confirm_sent_at is not None
    sent = pending.confirm_sent_at
    for later in (timedelta(minutes=10), timedelta(minutes=30), timedelta(minutes=59)):
        assert not await request_confirmation(store, web_settings, pending, sent + later)
    assert len(outbox(web_settings)) == 1
    assert await request_confirmation(store, web_settings, pending, sent + timedelta(hours=1))
    assert len(outbox(web_settings)) == 2


async def test_one_client_is_limited_to_a_few_subscribe_posts_a_minute(
    client: TestClient[Any, Any], store: Store, web_settings: Settings
) -> None:
    for n in range(SUBSCRIBE_POSTS):
        ok = await client.post("/subscribe", data={"email": f"r{n}@example.org", "language": "en"})
        assert ok.status == 200
    refused = await client.post(
        "/subscribe", data={"email": "victim@example.org", "language": "en"}
    )
    assert refused.status == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert await store.get_subscriber("victim@example.org") is None
    assert len(outbox(web_settings)) == SUBSCRIBE_POSTS
    assert (await client.get("/subscribe")).status == 200  # reading the form is not limited


def test_the_limiter_slides_forgets_and_stays_bounded() -> None:
    clock = [1000.0]
    limiter = RateLimiter(2, 60.0, clock=lambda: clock[0])
    assert limiter.hit("a") == 0 and limiter.hit("a") == 0
    assert limiter.hit("a") == pytest.approx(60.0)
    assert limiter.hit("b") == 0  # another client has its own count
    clock[0] += 30
    assert limiter.hit("a") == pytest.approx(30.0)
    clock[0] += 30
    assert limiter.hit("a") == 0
    for n in range(MAX_CLIENTS + 50):
        limiter.hit(f"client-{n}")
    assert len(limiter._seen) == MAX_CLIENTS
