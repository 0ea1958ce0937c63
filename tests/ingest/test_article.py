"""Reading an item's own page (`ingest.article`): the fixture pages in
tests/fixtures/ingest/details/ (each says what it reproduces) and the bundled samples."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from wcofeed.ingest.article import read_page
from wcofeed.models import Deadline, PageFindings

from .conftest import FIXTURES, SAMPLES

TODAY = date(2025, 2, 15)
WCO = "https://www.wcoomd.org"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def read(name: str, url: str, language: str = "en") -> PageFindings:
    return read_page(
        (FIXTURES / "details" / name).read_bytes(), url, language=language, today=TODAY
    )


def test_french_article_text_without_navigation_links_and_images_absolute() -> None:
    page = read("news-fr.html", f"{WCO}/fr/media/newsroom/2025/fevrier/l-omd-et-le-japon.aspx")
    assert page.content_html.startswith("<p>Le 11 février 2025, l'Organisation mondiale")
    assert f'<a href="{WCO}/fr/media/topics/enforcement.aspx"' in page.content_html
    assert f'<img src="{WCO}/images/lancement.jpg" alt="Lancement du projet">' in page.content_html
    for boilerplate in ("Accueil", "Partager", "Copyright", "plan du site", "<h1"):
        assert boilerplate not in page.content_html
    assert "Programme de sécurité de l'OMD" in page.content_text
    assert "\n\n" in page.content_text  # paragraphs kept apart
    assert "<" not in page.content_text


def test_date_line_is_read_in_the_pages_language() -> None:
    french = read("news-fr.html", f"{WCO}/fr/media/newsroom/2025/fevrier/l-omd-et-le-japon.aspx")
    assert french.published == date(2025, 2, 12)
    # Russian interface, English content: the date line is Russian.
    russian = read("news-ru.html", f"{WCO}/ru/media/newsroom/2020/october/wgpm-2nd-meeting.aspx")
    assert russian.published == date(2020, 10, 30)
    assert russian.content_text.startswith("The WCO Working Group")  # date line not text
    arabic = read("call-ar.html", f"{WCO}/ar/about-us/vacancies/cdp.aspx")
    assert arabic.published == date(2025, 2, 3)


def test_published_time_meta_and_time_element_come_first() -> None:
    spanish = read("call-es.html", f"{WCO}/es/about-us/vacancies/becas-2025.aspx")
    assert spanish.published == datetime(2025, 2, 3, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    chinese = read("publication-zh.html", f"{WCO}/zh/media/newsroom/2024/illicit-trade-report.aspx")
    assert chinese.published == date(2024, 12, 5)


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("call-es.html", f"{WCO}/es/about-us/vacancies/becas-2025.aspx"),
        ("call-ar.html", f"{WCO}/ar/about-us/vacancies/cdp.aspx"),
    ],
)
def test_deadline_with_time_and_zone(name: str, url: str) -> None:
    page = read(name, url)
    assert page.deadline == Deadline(date(2025, 3, 14), time(17, 0), "Europe/Brussels")
    assert page.deadline.closes_at() == datetime(2025, 3, 14, 16, 0, tzinfo=UTC)


def test_news_pages_have_no_deadline() -> None:
    page = read("news-fr.html", f"{WCO}/fr/media/newsroom/2025/fevrier/l-omd-et-le-japon.aspx")
    assert page.deadline is None


def test_documents_become_attachments_once_with_type_and_stated_size() -> None:
    page = read("call-es.html", f"{WCO}/es/about-us/vacancies/becas-2025.aspx")
    assert [(a.url, a.type, a.title, a.length) for a in page.attachments] == [
        (
            f"{WCO}/-/media/wco/public/global/pdf/becas/formulario.docx",
            DOCX,
            "Formulario de candidatura",
            int(1.2 * 1024**2),
        ),
        (
            f"{WCO}/-/media/wco/public/global/pdf/becas/terminos.pdf?v=2",
            "application/pdf",
            "Términos de referencia (PDF, 310 KB)",
            310 * 1024,
        ),
    ]  # the strategic plan in the navigation is not the call's
    arabic = read("call-ar.html", f"{WCO}/ar/about-us/vacancies/cdp.aspx")
    assert [(a.type, a.title, a.length) for a in arabic.attachments] == [
        ("application/msword", "استمارة الطلب", None)
    ]


def test_translation_key_from_hreflang_names_the_english_version() -> None:
    french = read("news-fr.html", f"{WCO}/fr/media/newsroom/2025/fevrier/l-omd-et-le-japon.aspx")
    # The French address has its own slug; the key is the English one's.
    assert (
        french.translation_key
        == f"{WCO}/{{lang}}/media/newsroom/2025/february/the-wco-and-japan.aspx"
    )
    chinese = read("publication-zh.html", f"{WCO}/zh/media/newsroom/2024/illicit-trade-report.aspx")
    assert (
        chinese.translation_key == f"{WCO}/{{lang}}/media/newsroom/2024/illicit-trade-report.aspx"
    )


def test_translation_key_from_the_language_switcher_without_hreflang() -> None:
    russian = read("news-ru.html", f"{WCO}/ru/media/newsroom/2020/october/wgpm-2nd-meeting.aspx")
    assert (
        russian.translation_key
        == f"{WCO}/{{lang}}/media/newsroom/2020/october/wgpm-2nd-meeting.aspx"
    )


def test_page_with_no_article_gives_nothing_and_invents_nothing() -> None:
    page = read_page(b"<html><body><nav>Home</nav></body></html>", f"{WCO}/en/x.aspx", today=TODAY)
    assert page == PageFindings()


def test_hostile_markup_is_sanitised() -> None:
    body = (
        b"<html><body><article><p>A long enough paragraph of text about customs procedures "
        b'and trade facilitation <a href="javascript:alert(1)">here</a> with a '
        b'<img src="x.png" onerror="alert(2)"> picture.</p><script>alert(3)</script>'
        b"</article></body></html>"
    )
    page = read_page(body, f"{WCO}/en/x.aspx", today=TODAY)
    assert "customs procedures" in page.content_html
    for bad in ("javascript:", "onerror", "<script", "alert(3)"):
        assert bad not in page.content_html


@pytest.mark.parametrize(
    ("path", "published", "deadline", "documents"),
    [
        (
            "en/media/newsroom/2025/february/the-world-customs-organization-and-japan-collaborate-to.aspx",
            date(2025, 2, 13),
            None,
            0,
        ),
        (
            "en/about-us/vacancies/cdp-2025.aspx",
            date(2025, 1, 20),
            Deadline(date(2025, 3, 30), time(17, 0), "Europe/Brussels"),
            2,
        ),
        ("en/media/newsroom/2024/illicit-trade-report.aspx", date(2024, 12, 5), None, 1),
    ],
)
def test_bundled_sample_pages(
    path: str, published: date, deadline: Deadline | None, documents: int
) -> None:
    file = SAMPLES / "pages" / "www.wcoomd.org" / path
    page = read_page(file.read_bytes(), f"{WCO}/{path}", today=TODAY)
    assert len(page.content_text) > 300
    assert (page.published, page.deadline, len(page.attachments)) == (
        published,
        deadline,
        documents,
    )
