"""Publish fixtures: a config with topics and a store holding items in several languages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from wcofeed.config import Settings, load_settings
from wcofeed.models import Deadline, Item
from wcofeed.store import Store

BASE = "http://feeds.test"
NOW = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)
STORED_AT = datetime(2025, 1, 20, 8, 0, tzinfo=UTC)

CONFIG = f"""
[database]
path = "wcofeed.db"
[site]
base_url = "{BASE}"
{{site}}
[publish]
feeds_dir = "out"
closing_soon_days = 30
{{publish}}
[topics.origin]
labels = {{ en = "Rules of origin", fr = "Règles d'origine", ar = "قواعد المنشأ" }}
[topics.valuation]
labels = {{ en = "Valuation", fr = "Évaluation" }}
[topics.security]
labels = {{ en = "Security" }}
"""


@pytest.fixture
def pub_config(write_config: Callable[..., Path]) -> Callable[..., Settings]:
    """Settings from the test config, with extra `[publish]` keys given as keywords and
    `[site]` lines as `site`."""

    def make(site: str = "", **publish: str | int) -> Settings:
        lines = "\n".join(
            f"{k} = {v!r}" if isinstance(v, int) else f'{k} = "{v}"' for k, v in publish.items()
        )
        text = CONFIG.replace("{publish}", lines).replace("{site}", site)
        return load_settings(write_config(text), env={})

    return make


@pytest.fixture
def pub_settings(pub_config: Callable[..., Settings]) -> Settings:
    return pub_config()


@pytest.fixture
def now() -> datetime:
    return NOW


def corpus(make_item: Callable[..., Item]) -> list[Item]:
    """Items in English, French and Arabic, over three topics, news and calls."""
    return [
        make_item(
            guid="https://wco.test/en/news-1",
            url="https://wco.test/en/news-1",
            title="Origin rules updated",
            language="en",
            topics=("origin",),
            published=date(2025, 1, 10),
            summary="New origin guidance.",
            summary_html="<p>New <em>origin</em> guidance.</p>",
        ),
        make_item(
            guid="wco-call-7",
            url="https://wco.test/en/call-7",
            kind="call",
            title="Call for experts in valuation",
            language="en",
            topics=("valuation", "origin"),
            published=datetime(2025, 1, 12, 9, 30, tzinfo=UTC),
            summary="Apply now.",
            summary_html="<p>Apply <strong>now</strong>.</p>",
            deadline=Deadline(date(2025, 2, 14), time(17, 0), "Europe/Brussels"),
        ),
        make_item(
            guid="https://wco.test/en/call-8",
            url="https://wco.test/en/call-8",
            kind="call",
            title="Security fellowship",
            language="en",
            topics=("security",),
            published=date(2025, 1, 5),
            deadline=Deadline(date(2025, 6, 30)),
        ),
        make_item(
            guid="https://wco.test/en/call-old",
            url="https://wco.test/en/call-old",
            kind="call",
            title="Closed call",
            language="en",
            topics=("security",),
            published=date(2024, 11, 5),
            deadline=Deadline(date(2024, 12, 1)),
        ),
        make_item(
            guid="https://wco.test/fr/actu-1",
            url="https://wco.test/fr/actu-1",
            title="Règles d'origine : mise à jour",
            language="fr",
            topics=("origin",),
            published=date(2025, 1, 11),
            summary="Nouvelle note « origine ».",
            summary_html="<p>Nouvelle note « origine ».</p>",
        ),
        make_item(
            guid="https://wco.test/fr/appel-1",
            url="https://wco.test/fr/appel-1",
            kind="call",
            title="Appel à candidatures : évaluation",
            language="fr",
            topics=("valuation",),
            published=date(2025, 1, 15),
            summary="Candidatez.",
            deadline=Deadline(date(2025, 2, 20)),
        ),
        make_item(
            guid="https://wco.test/ar/news-1",
            url="https://wco.test/ar/news-1",
            title="قواعد المنشأ الجديدة",
            language="ar",
            topics=("origin",),
            published=date(2025, 1, 9),
            summary="نص عربي من اليمين إلى اليسار",
        ),
    ]


@pytest.fixture
async def filled(store: Store, item_factory: Callable[..., Item]) -> list[Item]:
    results = await store.upsert_items(corpus(item_factory), now=STORED_AT)
    return [r.item for r in results]
