"""What kind an item is: a call for applications, news, a publication or an event.

A call is recognised by a deadline or by a cue word in its title or category label, in
the page's language (built-in cues below, more from `ingest.call_cues`). Cues are only
looked for in titles and labels: a news summary that mentions a programme is not a call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from wcofeed.models import KINDS, Kind

DEFAULT_CALL_CUES: dict[str, tuple[str, ...]] = {
    "en": (
        "call for application",
        "call for applications",
        "call for proposals",
        "call for expression of interest",
        "call for experts",
        "scholarship",
        "scholarship programme",
        "fellowship",
        "vacancy",
        "vacancies",
        "tender",
        "calls for tenders",
        "invitation to tender",
        "internship",
        "apply now",
        "job opening",
        "recruitment",
    ),
    "fr": (
        "appel à candidatures",
        "appel à candidature",
        "appel d'offres",
        "appel à projets",
        "bourse",
        "bourses",
        "avis de vacance",
        "vacance de poste",
        "programme de bourses",
        "recrutement",
    ),
    "es": (
        "convocatoria",
        "beca",
        "becas",
        "vacante",
        "licitación",
        "pasantía",
        "llamado a candidaturas",
    ),
    "ru": (
        "прием заявок",
        "приём заявок",
        "конкурс",
        "стипендия",
        "вакансия",
        "тендер",
        "стажировка",
    ),
    "zh": ("征集", "招聘", "奖学金", "申请截止", "招标", "职位空缺", "实习"),
    "ar": ("دعوة لتقديم الطلبات", "منحة", "منح دراسية", "وظيفة شاغرة", "مناقصة"),
}


class KindGuesser:
    """Per-language call cues compiled once per run."""

    def __init__(self, extra: Mapping[str, Sequence[str]] | None = None) -> None:
        cues: dict[str, list[str]] = {k: list(v) for k, v in DEFAULT_CALL_CUES.items()}
        for language, words in (extra or {}).items():
            cues.setdefault(language, []).extend(words)
        self._patterns = {
            language: re.compile(
                r"(?<!\w)(?:"
                + "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
                + r")(?!\w)",
                re.IGNORECASE,
            )
            for language, words in cues.items()
            if words
        }
        # Most titles hold no cue at all: plain substring tests rule that out several
        # times faster than the word-bounded, case-blind pattern, which then confirms.
        self._lowered = {
            language: tuple({w.lower() for w in words}) for language, words in cues.items()
        }

    def is_call(self, text: str, languages: Sequence[str]) -> bool:
        lowered = text.lower()
        for language in {*languages, "en"}:
            pattern = self._patterns.get(language)
            if (
                pattern is not None
                and any(cue in lowered for cue in self._lowered[language])
                and pattern.search(text)
            ):
                return True
        return False

    def guess(
        self,
        *,
        cue_text: str,
        languages: Sequence[str],
        has_deadline: bool,
        default: Kind,
        forced: str = "",
    ) -> Kind:
        if forced in KINDS:
            return forced
        if has_deadline or self.is_call(cue_text, languages):
            return "call"
        return default
