"""The starter `config.toml` that `wcofeed init` writes where there is none.

Every table's keys are listed, commented out at their defaults with their help texts
(read from the settings, like the README's reference), so the file documents itself and
uncommenting a line changes one thing. Its sources are the WCO's live pages; the pages
bundled with wcofeed are offered, commented out, for working offline.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path
from typing import Any

from wcofeed.config.reference import sections
from wcofeed.config.schema import SelectorSettings, SourceSettings, TopicSettings

#: (id, url, interface language, topics, seconds between fetches)
LIVE_SOURCES: tuple[tuple[str, str, str, tuple[str, ...], int], ...] = (
    ("wco-newsroom-en", "https://www.wcoomd.org/en/media/newsroom.aspx", "en", (), 3600),
    ("wco-newsroom-fr", "https://www.wcoomd.org/fr/media/newsroom.aspx", "fr", (), 3600),
    ("wco-home-en", "https://www.wcoomd.org/en.aspx", "en", (), 1800),
    ("wco-home-fr", "https://www.wcoomd.org/fr.aspx", "fr", (), 1800),
    (
        "wco-topic-facilitation-en",
        "https://www.wcoomd.org/en/topics/facilitation.aspx",
        "en",
        ("procedures-facilitation",),
        86400,
    ),
    (
        "wco-topic-origin-en",
        "https://www.wcoomd.org/en/topics/origin.aspx",
        "en",
        ("origin",),
        86400,
    ),
    (
        "wco-topic-valuation-en",
        "https://www.wcoomd.org/en/topics/valuation.aspx",
        "en",
        ("valuation",),
        86400,
    ),
)

#: (id, file in the bundled samples, type, interface language, topics)
SAMPLE_SOURCES: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("wco-newsroom-ru-sample", "wco-newsroom-ru.html", "html", "ru", ()),
    ("wco-home-sample", "wco-home-en.html", "html", "en", ()),
    (
        "wco-topic-facilitation-sample",
        "wco-topic-facilitation-zh.html",
        "html",
        "zh",
        ("procedures-facilitation",),
    ),
    (
        "wco-tools-facilitation-sample",
        "wco-tools-ru.html",
        "html",
        "ru",
        ("procedures-facilitation",),
    ),
    (
        "wco-tools-enforcement-sample",
        "wco-tools-zh.html",
        "html",
        "zh",
        ("enforcement-compliance",),
    ),
    ("hand-entered-sample", "hand-entered.json", "json", "en", ()),
)

#: The topics the sources above name: (slug, label per language, keywords). The labels
#: are the WCO's own names for its topics in its six languages.
TOPICS: tuple[tuple[str, dict[str, str], tuple[str, ...]], ...] = (
    (
        "procedures-facilitation",
        {
            "en": "Procedures and facilitation",
            "fr": "Procédures et facilitation",
            "es": "Procedimientos y facilitación",
            "ru": "Процедуры и упрощение",
            "zh": "程序与便利",
            "ar": "الإجراءات والتيسير",
        },
        ("facilitation", "Single Window", "AEO", "Revised Kyoto Convention", "transit"),
    ),
    (
        "origin",
        {
            "en": "Origin",
            "fr": "Origine",
            "es": "Origen",
            "ru": "Происхождение",
            "zh": "原产地",
            "ar": "المنشأ",
        },
        ("rules of origin", "origin", "preferential origin"),
    ),
    (
        "valuation",
        {
            "en": "Valuation",
            "fr": "Évaluation",
            "es": "Valoración",
            "ru": "Таможенная оценка",
            "zh": "估价",
            "ar": "التقييم",
        },
        ("valuation", "customs value", "transfer pricing"),
    ),
    (
        "enforcement-compliance",
        {
            "en": "Enforcement and compliance",
            "fr": "Lutte contre la fraude et conformité",
            "es": "Lucha contra el fraude y cumplimiento",
            "ru": "Правоприменение и соблюдение требований",
            "zh": "执法与合规",
            "ar": "الإنفاذ والامتثال",
        },
        ("enforcement", "compliance", "smuggling", "counterfeit", "seizure"),
    ),
)

_HEADER = """\
# wcofeed configuration, written by `wcofeed init`. Every key below is commented out at
# its default: uncomment a line to change it. Paths are relative to this file.
# Secrets are best left out of this file and set in the environment instead:
#   WCOFEED_SMTP_PASSWORD, WCOFEED_SECURITY_SECRET_KEY, WCOFEED_SECURITY_ADMIN_TOKEN
"""


def starter_config(samples: Path) -> str:
    """The text of a starter config; `samples` is the folder of the bundled pages."""
    parts = [_HEADER]
    for header, _, cls in sections():
        if header.startswith("[["):
            continue
        if header.startswith("[topics.") or header == "[sources.selectors]":
            continue
        parts.append(f"{header}\n{_commented_keys(cls)}")
    parts.append(_sources(samples))
    parts.append(_topics())
    return "\n".join(parts)


def _commented_keys(cls: type, skip: frozenset[str] = frozenset()) -> str:
    lines: list[str] = []
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        lines += [f"# {line}" for line in textwrap.wrap(f.metadata["help"], 84)]
        value = _default(f)
        lines.append(f"# {f.name} =" if value is None else f"# {f.name} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def _default(f: dataclasses.Field[Any]) -> object:
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
        return None
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def _toml(value: object) -> str:
    """A TOML literal for a default: strings and paths quoted, lists and tables inline."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {value!r}")


def _sources(samples: Path) -> str:
    optional = frozenset({"id", "url"})
    lines = [
        "# --- sources --------------------------------------------------------------------",
        "# Each [[sources]] table is one page or feed. Its other keys, at their defaults:",
        *(f"#   {line[2:]}" for line in _commented_keys(SourceSettings, optional).splitlines()),
        "# and for profile = 'css', a selectors table with these keys:",
        *(f"#   {line[2:]}" for line in _commented_keys(SelectorSettings).splitlines()),
        "",
        "# The WCO's live pages (profile 'auto' recognises each kind of page).",
    ]
    for source_id, url, ui_language, topics, every in LIVE_SOURCES:
        lines += ["", "[[sources]]", f'id = "{source_id}"', f'url = "{url}"', 'type = "html"']
        lines.append(f'ui_language = "{ui_language}"')
        if topics:
            lines.append(f"topics = {_toml(list(topics))}")
        lines.append(f"every = {every}")
    lines += [
        "",
        "# Offline: the WCO pages bundled with wcofeed. Comment the live sources out and",
        "# these in to try wcofeed without a network.",
    ]
    for source_id, name, kind, ui_language, topics in SAMPLE_SOURCES:
        lines += ["#", "# [[sources]]", f'# id = "{source_id}"']
        lines.append(f"# url = {_toml(samples / name)}")
        lines.append(f'# type = "{kind}"')
        lines.append(f'# ui_language = "{ui_language}"')
        if topics:
            lines.append(f"# topics = {_toml(list(topics))}")
        if kind == "html":
            lines.append(f"# detail_pages = {_toml(samples / 'pages')}")
    return "\n".join(lines) + "\n"


def _topics() -> str:
    lines = [
        "# --- topics ---------------------------------------------------------------------",
        "# [topics.<slug>] tables: a label per language and the keywords that tag an item.",
        *(f"#   {line[2:]}" for line in _commented_keys(TopicSettings).splitlines()),
    ]
    for slug, labels, keywords in TOPICS:
        table = ", ".join(f"{code} = {_toml(label)}" for code, label in labels.items())
        lines += ["", f"[topics.{slug}]", f"labels = {{ {table} }}"]
        lines.append(f"keywords = {_toml(list(keywords))}")
    return "\n".join(lines) + "\n"
