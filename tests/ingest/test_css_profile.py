"""Any other site through `profile = "css"` and its selectors table."""

from __future__ import annotations

from datetime import date, time

from wcofeed.config import SelectorSettings
from wcofeed.models import Deadline

from .conftest import ParsePage

SELECTORS = SelectorSettings(
    item="article.call", title="h2", link="h2 a", date="time", summary=".lead", deadline=".deadline"
)


def test_css_profile_reads_every_field(parse_page: ParsePage) -> None:
    result = parse_page(
        "other-site.html",
        "es",
        profile="css",
        selectors=SELECTORS,
        url="https://aduanas.example.org/es/index.html",
    )
    beca, taller = result.items
    assert beca.title == "Beca de estudios aduaneros 2025"
    assert beca.url == "https://aduanas.example.org/es/convocatorias/beca-2025.html?utm_medium=web"
    assert beca.guid == "https://aduanas.example.org/es/convocatorias/beca-2025.html"
    assert beca.published == date(2025, 2, 3)
    assert beca.deadline == Deadline(date(2025, 2, 28), time(18, 0), "UTC")
    assert beca.kind == "call" and beca.language == "es"
    assert beca.summary_html == (
        "<p>La organización regional ofrece becas de facilitación del comercio.</p>"
    )
    assert taller.kind == "news" and taller.deadline is None
    assert taller.url == "https://aduanas.example.org/noticias/taller.html"
    assert taller.topics == ("origin",)
