"""From a feed's filter and its items to a `FeedDoc`: titles, URLs, labels, links.

Shared by the static files (`publish_all`) and the HTTP query form, so a feed says the
same about itself however it is reached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

from wcofeed.config import Settings
from wcofeed.i18n import language_name, site_title, texts
from wcofeed.isolate import Skipped, skip
from wcofeed.models import Item, is_web_url
from wcofeed.publish.render import FeedDoc, ItemView, make_view
from wcofeed.publish.specs import FeedSpec, Format
from wcofeed.store import Store, Version

EXTENSIONS: dict[Format, str] = {"atom": "atom", "rss": "rss", "json": "json", "ics": "ics"}


def site_url(settings: Settings, path: str = "") -> str:
    return settings.site.base_url.rstrip("/") + "/" + path.lstrip("/")


def file_name(spec: FeedSpec, fmt: Format) -> str:
    """`fr/topics/origin.atom`: the file's path under the feeds folder."""
    return f"{spec.stem}.{EXTENSIONS[fmt]}"


def file_url(settings: Settings, spec: FeedSpec, fmt: Format) -> str:
    return site_url(settings, "feeds/" + file_name(spec, fmt))


def topic_labels(settings: Settings, words: str) -> dict[str, str]:
    return {slug: settings.topic_label(slug, words) for slug in settings.topics}


#: Entries already prepared in one publish run, by item version and feed language: an
#: item sits in several feeds (all, its kind, its topics), each written in three formats.
#: None marks an item that could not be prepared (recorded as skipped once).
ViewMemo = dict[tuple[str, str, str, str], ItemView | None]
#: The language versions of items, by translation key (`Store.versions`).
Versions = Mapping[str, Sequence[Version]]


def alternates(item: Item, versions: Versions) -> tuple[tuple[str, str], ...]:
    """(language, link) of the item's versions in other languages, one per language
    (the one an edition would show), http(s) links only."""
    found: dict[str, str] = {}
    for version in versions.get(item.translation_key, ()):
        other = version.language != item.language and version.language not in found
        if other and is_web_url(version.url):
            found[version.language] = version.url
    return tuple(found.items())


async def versions_of(
    store: Store, items: Sequence[Item], known: dict[str, list[Version]]
) -> Versions:
    """The versions of `items`, asking the store only for keys not in `known` (which
    keeps what it learns: a publish run asks once per key)."""
    missing = {item.translation_key for item in items} - known.keys()
    if missing:
        found = await store.versions(missing)
        for key in missing:
            known[key] = found.get(key, [])
    return known


#: How many prepared entries `_view` keeps across feeds and requests: forty pages of
#: 50 (bench/README.md, "Cache misses", has what they weigh).
VIEW_CACHE_SIZE = 2_000


@lru_cache(maxsize=VIEW_CACHE_SIZE)
def _view(
    item: Item,
    words: str,
    labels: tuple[tuple[str, str], ...],
    versions: tuple[tuple[str, str], ...],
) -> ItemView:
    """`make_view`, kept for the next feed or request that lists the same item: the key
    is the whole `Item` (every field, its content hash and store times included) with
    the labels and versions, so an item that changes in any way is prepared afresh.
    Sanitising is most of a cache miss's Python work, and most items of a page were
    on the pages asked before."""
    return make_view(item, words, dict(labels), versions)


def _prepare(
    item: Item,
    words: str,
    labels: tuple[tuple[str, str], ...],
    versions: Versions,
    skipped: list[Skipped],
) -> ItemView | None:
    """The item's view, or None (recorded in `skipped`) when it cannot be prepared."""
    try:
        return _view(item, words, labels, alternates(item, versions))
    except Exception as exc:
        skip("feed", item.guid, exc, skipped)
        return None


def entries(
    settings: Settings,
    items: Sequence[Item],
    words: str,
    skipped: list[Skipped],
    memo: ViewMemo | None = None,
    versions: Versions | None = None,
) -> list[ItemView]:
    """The items prepared for feeds in `words`; one that cannot be is left out and
    recorded in `skipped` (stage `feed`)."""
    labels = tuple(topic_labels(settings, words).items())
    versions = versions or {}
    prepared = []
    for item in items:
        if memo is None:
            entry = _prepare(item, words, labels, versions, skipped)
        else:
            key = (item.guid, item.content_hash, str(item.last_changed), words)
            if key not in memo:
                memo[key] = _prepare(item, words, labels, versions, skipped)
            entry = memo[key]
        if entry is not None:
            prepared.append(entry)
    return prepared


def spec_title(settings: Settings, spec: FeedSpec) -> str:
    """What the feed lists, in its language: `Calls for applications`, `Topic: Origin`."""
    words = texts(spec.language)
    if spec.section == "topic":
        label = settings.topic_label(spec.topic, spec.language)
        return words.gettext("Topic: %(topic)s", topic=label)
    return section_title(spec.section, spec.language)


def section_title(section: str, language: str) -> str:
    """The title of a fixed section (all, news, calls, closing-soon) in `language`."""
    words = texts(language)
    titles = {
        "all": words.gettext("All news and calls"),
        "news": words.gettext("News"),
        "calls": words.gettext("Calls for applications"),
        "closing-soon": words.gettext("Calls closing soon"),
    }
    return titles[section]


def describe(settings: Settings, what: str, words: str, language: str | None) -> str:
    site = site_title(settings.site.title, words)
    if language is None:
        return texts(words).gettext("%(what)s, from %(site)s.", what=what, site=site)
    name = language_name(language, words)
    return texts(words).gettext(
        "%(what)s, from %(site)s, in %(language)s.", what=what, site=site, language=name
    )


def feed_title(settings: Settings, what: str, words: str, code: str = "") -> str:
    """`WCO news and calls: News (en)`; the language code only on per-language files."""
    site = site_title(settings.site.title, words)
    if code:
        return texts(words).gettext(
            "%(site)s: %(what)s (%(code)s)", site=site, what=what, code=code
        )
    return texts(words).gettext("%(site)s: %(what)s", site=site, what=what)


def spec_doc(
    settings: Settings,
    spec: FeedSpec,
    fmt: Format,
    items: Sequence[Item],
    skipped: list[Skipped],
    memo: ViewMemo | None = None,
    versions: Versions | None = None,
) -> FeedDoc:
    what = spec_title(settings, spec)
    return FeedDoc(
        title=feed_title(settings, what, spec.language, spec.language),
        description=describe(settings, what, spec.language, spec.language),
        author=site_title(settings.site.title, spec.language),
        self_url=file_url(settings, spec, fmt),
        home_url=site_url(settings, "feeds/"),
        words=spec.language,
        language=spec.language,
        entries=entries(settings, items, spec.language, skipped, memo, versions),
        hub=settings.publish.websub_hub,
        topic_scheme=site_url(settings, "topics/"),
    )


def query_doc(
    settings: Settings,
    *,
    what: str,
    words: str,
    language: str | None,
    self_url: str,
    items: Sequence[Item],
    links: Mapping[str, str],
    skipped: list[Skipped],
    versions: Versions | None = None,
) -> FeedDoc:
    return FeedDoc(
        title=feed_title(settings, what, words),
        description=describe(settings, what, words, language),
        author=site_title(settings.site.title, words),
        self_url=self_url,
        home_url=site_url(settings, "feeds/"),
        words=words,
        language=language,
        entries=entries(settings, items, words, skipped, versions=versions),
        hub=settings.publish.websub_hub,
        topic_scheme=site_url(settings, "topics/"),
        links=links,
    )
