"""The WCO site's page kinds, as the bundled snapshots in `samples/` reproduce them.

`detect` picks the kind from the page itself (its marker element), which is what
`profile = "auto"` does. Each kind is named so a source can also force one.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from wcofeed.ingest.profiles import Profile, Section

NEWSROOM = Profile(
    name="wco-newsroom",
    marker="div.newsroom-list",
    sections=(
        Section(
            item="div.newsroom-list div.news-item",
            title=".news-title",
            link="a.read-more, .news-title a",
            date=".news-date",
            summary=".news-summary",
            deadline=".news-deadline",
        ),
    ),
)

HOME = Profile(
    name="wco-home",
    marker="div#highlights",
    sections=(
        Section(
            item="div#highlights div.highlight",
            title=".highlight-title",
            link="a",
            summary=".highlight-text",
        ),
        Section(
            item="div#calls div.call",
            title=".call-title",
            link="a.call-title",
            summary=".call-subtitle",
            deadline=".call-deadline",
            label=".call-category",
            kind="publication",
        ),
        Section(
            item="div.current-news div.news-item", title=".news-title", link="a", date=".news-date"
        ),
        Section(
            item="div.latest-news div.news-item", title=".news-title", link="a", date=".news-date"
        ),
    ),
)

TOPIC = Profile(
    name="wco-topic",
    marker="div.topic-page",
    sections=(
        Section(
            item="div.topic-page li.topic-item",
            title=".topic-item-title",
            link="a.read-more",
            summary=".topic-item-text",
            kind="publication",
        ),
    ),
)

LIST = Profile(
    name="wco-list",
    marker="ul.tools-list",
    sections=(
        Section(
            item="ul.tools-list li.tool-item",
            title=".tool-title",
            link="a.read-more",
            date=".tool-date",
            summary=".tool-subtitle, .tool-text",
            kind="publication",
        ),
    ),
)

PROFILES = {p.name: p for p in (NEWSROOM, HOME, TOPIC, LIST)}


def detect(tree: HTMLParser) -> Profile | None:
    """The WCO page kind whose marker the page carries, if any."""
    for profile in PROFILES.values():
        if tree.css_first(profile.marker) is not None:
            return profile
    return None
