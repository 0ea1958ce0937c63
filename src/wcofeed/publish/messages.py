"""Words of the feeds and of the feed index, per language (English fills any gap).

Topic labels are not here: they come from `config.toml` (`topics.<slug>.labels`), so a
new topic needs no code change. Language names come from babel.
"""

from __future__ import annotations

from wcofeed.i18n import Catalog

FEED_TEXT = Catalog(
    {
        "en": {
            "all": "All news and calls",
            "news": "News",
            "calls": "Calls for applications",
            "closing-soon": "Calls closing soon",
            "topic": "Topic: {topic}",
            "description": "{what}, from {site}, in {language_name}.",
            "description_any": "{what}, from {site}.",
            "deadline": "Deadline: {when}",
            "calendar_event": "Closes: {title}",
            "calendar_name": "{site}: open calls ({language_name})",
            "index_title": "Feeds",
            "index_intro": (
                "Subscribe in any feed reader (RSS, Atom or JSON Feed), or add the calendar "
                "of open calls to your calendar application."
            ),
            "index_topics": "By topic",
            "index_general": "General feeds",
            "index_opml": "All feeds at once (OPML)",
            "language_heading": "Feeds in {language_name}",
        },
        "fr": {
            "all": "Toutes les actualités et tous les appels",
            "news": "Actualités",
            "calls": "Appels à candidatures",
            "closing-soon": "Appels qui se terminent bientôt",
            "topic": "Thème : {topic}",
            "description": "{what}, de {site}, en {language_name}.",
            "description_any": "{what}, de {site}.",
            "deadline": "Date limite : {when}",
            "calendar_event": "Clôture : {title}",
            "calendar_name": "{site} : appels ouverts ({language_name})",
            "index_title": "Flux",
            "index_intro": (
                "Abonnez-vous dans n'importe quel lecteur de flux (RSS, Atom ou JSON Feed), "
                "ou ajoutez le calendrier des appels ouverts à votre agenda."
            ),
            "index_topics": "Par thème",
            "index_general": "Flux généraux",
            "index_opml": "Tous les flux d'un coup (OPML)",
            "language_heading": "Flux en {language_name}",
        },
        "es": {
            "news": "Noticias",
            "calls": "Convocatorias",
            "deadline": "Fecha límite: {when}",
        },
        "ru": {
            "news": "Новости",
            "calls": "Конкурсы и приглашения",
            "deadline": "Срок подачи: {when}",
        },
        "zh": {
            "news": "新闻",
            "calls": "征集",
            "deadline": "截止日期：{when}",
        },
        "ar": {
            "news": "الأخبار",
            "calls": "دعوات لتقديم الطلبات",
            "deadline": "الموعد النهائي: {when}",
        },
    }
)


def text(language: str, key: str, **values: object) -> str:
    return FEED_TEXT.get(language, key, **values)
