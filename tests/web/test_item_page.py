"""`/items/{id}`: one item whole (full text, deadline, documents, versions), linked from
the lists, escaped and sanitised, in every interface language."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from lxml import html

from tests.conftest import LANGUAGES, english_leftovers, make_item
from wcofeed.i18n import texts
from wcofeed.models import Attachment, Deadline, page_id
from wcofeed.store import Store

FORM = Attachment(
    "https://www.wcoomd.org/-/media/cdp-2025/application-form.docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "Application form",
    49152,
)
TERMS = Attachment("https://www.wcoomd.org/-/media/cdp-2025/terms.pdf", "application/pdf", "")


def _call(**fields: Any) -> Any:
    values: dict[str, Any] = {
        "guid": "https://www.wcoomd.org/en/about-us/vacancies/cdp-2025.aspx",
        "url": "https://www.wcoomd.org/en/about-us/vacancies/cdp-2025.aspx",
        "kind": "call",
        "title": "Career Development Programme <2025>",
        "summary": "The list's one line.",
        "content_html": (
            "<p>Officials spend ten months in Brussels.</p>"
            '<p><img src="https://www.wcoomd.org/photo.jpg" alt="Secretariat"></p>'
        ),
        "content_text": "Officials spend ten months in Brussels.",
        "attachments": (FORM, TERMS),
        "deadline": Deadline(date(2099, 3, 30), time(17, 0), "Europe/Brussels"),
    }
    values.update(fields)
    return make_item(**values)


async def _get(client: TestClient[Any, Any], path: str) -> html.HtmlElement:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return html.fromstring(await response.text())


async def test_item_page_shows_full_text_deadline_documents_and_versions(
    client: TestClient[Any, Any], store: Store
) -> None:
    call = _call()
    french = make_item(
        guid="https://www.wcoomd.org/fr/about-us/vacancies/cdp-2025.aspx",
        url="https://www.wcoomd.org/fr/about-us/vacancies/cdp-2025.aspx",
        kind="call",
        language="fr",
        title="Programme de développement de carrière",
    )
    await store.upsert_items([call, french], now=datetime(2025, 2, 1, tzinfo=UTC))
    tree = await _get(client, f"/items/{page_id(call.guid)}?hl=en")
    assert tree.xpath("string(//h1)") == "Career Development Programme <2025>"
    content = tree.xpath('//div[@class="content"]')[0]
    assert "ten months in Brussels" in content.text_content()
    assert content.xpath(".//img/@src") == ["https://www.wcoomd.org/photo.jpg"]
    assert "The list's one line." not in tree.text_content()
    deadline = tree.xpath('string(//p[@class="deadline"])')
    assert "17:00" in deadline and "Europe/Brussels" in deadline
    documents = tree.xpath('//section[@class="documents"]//a')
    assert [a.get("href") for a in documents] == [FORM.url, TERMS.url]
    assert documents[0].text == "Application form"
    assert documents[1].text == TERMS.url  # no title: the link itself
    assert "(DOCX, 48 KB)" in tree.xpath('string(//section[@class="documents"])')
    version = tree.xpath('//section[@class="versions"]//a')
    assert [a.get("href") for a in version] == [f"/items/{page_id(french.guid)}?hl=en"]
    assert version[0].get("hreflang") == "fr"


async def test_lists_link_each_item_to_its_page(client: TestClient[Any, Any], store: Store) -> None:
    call, plain = _call(), make_item(title="No page read")
    await store.upsert_items([call, plain], now=datetime(2025, 2, 1, tzinfo=UTC))
    tree = await _get(client, "/?hl=en")
    links = {a.text: a.get("href") for a in tree.xpath('//p[@class="more"]/a')}
    assert links == {
        "Full text": f"/items/{page_id(call.guid)}?hl=en",
        "Details": f"/items/{page_id(plain.guid)}?hl=en",
    }
    calls = await _get(client, "/calls?hl=en")
    assert calls.xpath('//li[@class="call"]/a[@class="more"]/@href') == [
        f"/items/{page_id(call.guid)}?hl=en"
    ]


async def test_item_page_sanitises_and_escapes_what_the_store_holds(
    client: TestClient[Any, Any], store: Store
) -> None:
    hostile = _call(
        title='<script>alert("t")</script>',
        content_html='<p onclick="x()">Text</p><script>alert(1)</script>'
        '<a href="javascript:alert(2)">link</a><img src="data:image/png;base64,AA">',
    )
    await store.upsert_items([hostile], now=datetime(2025, 2, 1, tzinfo=UTC))
    response = await client.get(f"/items/{page_id(hostile.guid)}")
    body = await response.text()
    assert response.status == 200
    assert "<script>" not in body and "onclick" not in body
    assert "javascript:" not in body and "data:image" not in body
    assert "&lt;script&gt;" in body


@pytest.mark.parametrize("path", ["/items/bm90LWEtZ3VpZA", "/items/%E2%9C%93", "/items/=="])
async def test_unknown_or_malformed_item_ids_are_404(
    client: TestClient[Any, Any], path: str
) -> None:
    response = await client.get(path)
    assert response.status == 404


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
async def test_item_page_speaks_every_interface_language(
    client: TestClient[Any, Any], store: Store, language: str
) -> None:
    call = _call()
    await store.upsert_items([call], now=datetime(2025, 2, 1, tzinfo=UTC))
    tree = await _get(client, f"/items/{page_id(call.guid)}?hl={language}")
    assert tree.get("lang") == language
    interface = [
        tree.xpath("string(//h2[@id='documents-heading'])"),
        tree.xpath("string(//p[@class='source'])"),
    ]
    words = texts(language)
    assert interface == [words.gettext("Documents"), words.gettext("Read on the original site")]
    assert interface[1] != "Read on the original site"
    assert english_leftovers(interface, language) == []
