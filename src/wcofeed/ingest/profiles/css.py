"""The `css` profile: any other site, described by a `selectors` table in config."""

from __future__ import annotations

from wcofeed.config import SelectorSettings
from wcofeed.ingest.profiles import Profile, Section


def from_selectors(selectors: SelectorSettings) -> Profile:
    return Profile(
        name="css",
        sections=(
            Section(
                item=selectors.item,
                title=selectors.title,
                link=selectors.link,
                date=selectors.date,
                summary=selectors.summary,
                deadline=selectors.deadline,
            ),
        ),
    )
