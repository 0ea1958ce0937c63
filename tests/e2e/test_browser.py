"""The pages in a real browser (Debian's chromium, driven by Playwright), JavaScript off:
filter by topic, follow a feed link, subscribe through the form. Screenshots are kept
in test-artifacts/ (not committed) for a person to look at."""

from __future__ import annotations

from collections.abc import AsyncIterator

import feedparser
import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import ARTICLE_PATH, ARTIFACTS, Pages, Running, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(java_script_enabled=False, locale="en-GB")
    yield await context.new_page()
    await context.close()


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_filter_by_topic_and_follow_the_feed_link(service: Running, page: Page) -> None:
    await wait_for(lambda: _has_items(service), "items to be stored")
    await page.goto(f"{service.base}/")
    assert await page.locator("article.item").count() > 0
    await shot(page, "home")

    await page.select_option("#topic", "integrity")
    await page.get_by_role("button", name="Apply").click()
    await page.wait_for_url("**/?*topic=integrity*")
    topics_shown = await page.locator("article.item .meta").all_inner_texts()
    assert topics_shown and all("Integrity" in meta for meta in topics_shown)
    await shot(page, "home-integrity")

    feed_link = page.locator("aside a", has_text="Atom").first
    href = await feed_link.get_attribute("href")
    assert href is not None and "topic=integrity" in href
    response = await page.request.get(f"{service.base}{href}")
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(await response.body())
    assert not parsed.bozo and len(parsed.entries) == len(topics_shown)


async def test_subscribe_through_the_form(service: Running, page: Page) -> None:
    await page.goto(f"{service.base}/subscribe?hl=fr")
    await shot(page, "subscribe-fr")
    await page.fill("#email", "browser.reader@example.org")
    await page.check('input[name="topic"][value="capacity-building"]')
    await page.get_by_role("button").last.click()
    await page.wait_for_load_state()
    await shot(page, "subscribe-sent")
    assert "browser.reader@example.org" in await page.inner_text("main")
    (confirmation,) = await wait_for(
        lambda: service.smtp.to("browser.reader@example.org"), "the confirmation email"
    )
    # the form was shown in French, so the email is in French too
    assert str(confirmation.message["Subject"]).startswith("Confirmez")


async def test_an_items_full_text_on_its_own_page(
    service: Running, page: Page, pages: Pages
) -> None:
    await wait_for(lambda: _has_full_text(service), "an item page to be read")
    await page.goto(f"{service.base}/?hl=fr")
    await page.get_by_role("link", name="Texte intégral").first.click()
    await page.wait_for_url("**/items/*")
    await shot(page, "item-fr")
    assert "Performance Measurement" in await page.inner_text("h1")
    content = await page.inner_text("div.content")
    assert "indicators the Performance Measurement Mechanism will use" in content
    assert await page.get_attribute("html", "lang") == "fr"
    assert await page.locator("p.source a").get_attribute("href") == pages.url(ARTICLE_PATH)


async def _has_full_text(service: Running) -> bool:
    result = service.cli("items", "--json")
    return result.returncode == 0 and "Performance Measurement Mechanism will use" in result.stdout


async def _has_items(service: Running) -> bool:
    result = service.cli("items", "--limit", "1", "--json")
    return result.returncode == 0 and bool(result.stdout.strip())
