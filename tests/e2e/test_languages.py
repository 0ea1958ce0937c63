"""Every page in every language, in a real browser (Debian's chromium) at a phone's
width and a laptop's: nothing wider than the window, the main content on the first
screen, no interface string left in English, a language switcher, and links that keep
the language. Arabic pages are kept as screenshots in test-artifacts/ (not committed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.conftest import LANGUAGES, english_leftovers
from tests.e2e.conftest import ARTIFACTS, SECRET, Running, wait_for
from wcofeed.digest.tokens import Signer

pytestmark = pytest.mark.slow

READER = "reader@example.org"
PAGE_PATHS = ("/", "/calls", "/subscribe", "/preferences", "/confirm", "/unsubscribe")

#: The visible text of the page's interface: text nodes and read attributes outside any
#: element that declares a language of its own (item titles and summaries, the names
#: in the language switcher, each language's section of the feed index).
INTERFACE_TEXT = """() => {
  const root = document.documentElement;
  const own = (el) => el.closest("[lang]") === root;
  const texts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    const shown = el.closest("option") ? el.closest("select").checkVisibility()
                                       : el.checkVisibility();
    if (own(el) && shown) texts.push(node.textContent);
  }
  for (const el of document.body.querySelectorAll("[placeholder], [aria-label], [title]")) {
    if (!own(el)) continue;
    for (const name of ["placeholder", "aria-label", "title"]) {
      if (el.hasAttribute(name)) texts.push(el.getAttribute(name));
    }
  }
  return texts;
}"""

FIRST_SCREEN = """() => {
  const heading = document.querySelector("main h1, main h2");
  const box = heading.getBoundingClientRect();
  return {
    top: box.top, bottom: box.bottom, left: box.left, right: box.right,
    height: window.innerHeight, width: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    lang: document.documentElement.lang, dir: document.documentElement.dir,
    links: [...document.querySelectorAll("a[href]")]
      .filter((a) => !a.closest("nav.languages") && !a.getAttribute("href").startsWith("#"))
      .map((a) => a.href),
    switcher: [...document.querySelectorAll("nav.languages a")].map((a) => a.lang),
  };
}"""


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context(locale="en-GB", timezone_id="Asia/Tokyo")
    yield made
    await made.close()


async def _ready(service: Running) -> str:
    """Items stored, feeds published, a confirmed subscriber: its preferences token."""
    added = service.cli("subscribers", "add", READER, "--confirmed")
    assert added.returncode == 0, added.stderr

    async def published() -> bool:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{service.base}/feeds/index.ar.html") as response,
        ):
            return response.status == 200

    await wait_for(published, "the feeds to be published")
    return Signer(SECRET).make("preferences", READER, datetime.now(UTC))


def _paths(token: str, pending: str) -> list[str]:
    return [
        "/",
        "/calls",
        "/subscribe",
        f"/preferences?token={token}&",
        f"/confirm?token={pending}&",
        "/feeds/index.html",
    ]


async def _check(page: Page, base: str, path: str, lang: str, width: int) -> None:
    url = f"{base}{path}{'' if path.endswith('&') else '?'}hl={lang}"
    response = await page.goto(url)
    assert response is not None and response.ok, url
    seen: dict[str, Any] = await page.evaluate(FIRST_SCREEN)
    where = f"{path} in {lang} at {width} px"
    assert (seen["lang"], seen["dir"]) == (lang, "rtl" if lang == "ar" else "ltr"), where
    assert seen["scrollWidth"] <= seen["width"], where
    assert seen["top"] >= 0 and seen["bottom"] <= seen["height"], where
    assert seen["left"] >= 0 and seen["right"] <= seen["width"], where
    assert seen["switcher"] == list(LANGUAGES), where
    assert english_leftovers(await page.evaluate(INTERFACE_TEXT), lang) == [], where
    for link in seen["links"]:
        target = urlsplit(link)
        if not link.startswith(base):
            continue
        if target.path in PAGE_PATHS:
            assert ("hl", lang) in parse_qsl(target.query), (where, link)
        elif target.path.startswith("/feeds/index"):
            assert target.path == f"/feeds/index.{lang}.html", (where, link)
    if lang == "ar":
        ARTIFACTS.mkdir(exist_ok=True)
        name = path.split("?")[0].strip("/").replace("/", "-") or "home"
        await page.screenshot(path=str(ARTIFACTS / f"ar-{name}-{width}.png"))


@pytest.mark.parametrize("width", [390, 1280])
async def test_every_page_in_every_language(
    service: Running, context: BrowserContext, width: int
) -> None:
    token = await _ready(service)
    pending = Signer(SECRET).make("confirm", READER, datetime.now(UTC))
    page = await context.new_page()
    await page.set_viewport_size({"width": width, "height": 844 if width == 390 else 800})
    for lang in LANGUAGES:
        for path in _paths(token, pending):
            await _check(page, service.base, path, lang, width)


async def test_time_zone_is_preset_from_the_browser(
    service: Running, context: BrowserContext
) -> None:
    page = await context.new_page()
    await page.goto(f"{service.base}/subscribe?hl=zh")
    assert await page.input_value("#timezone") == "Asia/Tokyo"
    # The stored choice wins on the preferences page.
    token = await _ready(service)
    await page.goto(f"{service.base}/preferences?token={token}")
    assert await page.input_value("#timezone") == "Europe/Brussels"
