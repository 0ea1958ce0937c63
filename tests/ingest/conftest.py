"""Ingest fixtures: parse a bundled sample or fixture page, settings with sources."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from wcofeed.config import SourceSettings, TopicSettings
from wcofeed.ingest.build import PageContext, ParseResult
from wcofeed.ingest.html import parse_html
from wcofeed.ingest.kinds import KindGuesser
from wcofeed.ingest.topics import TopicMatcher

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
FIXTURES = REPO / "tests" / "fixtures" / "ingest"
NOW = datetime(2025, 2, 15, 9, 0, tzinfo=UTC)

TOPICS = {
    "origin": TopicSettings(
        labels={"en": "Origin"}, keywords=["rules of origin", "origin", "normas de origen"]
    ),
    "procedures-facilitation": TopicSettings(
        labels={"en": "Procedures and facilitation"},
        keywords=["facilitation", "Revised Kyoto Convention", "Single Window", "transit"],
    ),
    "nomenclature-classification": TopicSettings(
        labels={"en": "Nomenclature"}, keywords=["Harmonized System", "classification"]
    ),
    "capacity-building": TopicSettings(
        labels={"en": "Capacity building"}, keywords=["capacity building", "scholarship"]
    ),
}


def context(source_id: str = "test", ui_language: str = "en", **source: Any) -> PageContext:
    source.setdefault("url", "http://example.org/")
    settings = SourceSettings(id=source_id, ui_language=ui_language, **source)
    return PageContext(
        source=settings,
        now=NOW,
        topics=TopicMatcher(TOPICS),
        kinds=KindGuesser(),
        page_url=settings.url,
    )


ParsePage = Callable[..., ParseResult]


@pytest.fixture
def parse_page() -> ParsePage:
    """Parse a file from samples/ or tests/fixtures/ingest/ as an HTML source would."""

    def parse(name: str, ui_language: str = "en", **source: Any) -> ParseResult:
        path = SAMPLES / name if (SAMPLES / name).exists() else FIXTURES / name
        charset = source.pop("charset", None)
        ctx = context(name.split(".")[0], ui_language, **source)
        ctx.page_url = str(source.get("url", path))
        return parse_html(path.read_bytes(), ctx, charset)

    return parse
