"""What kind an item is: a call for applications, news, a publication or an event.

A call invites applications, nominations, proposals, papers, bids or candidates, or
states a deadline for them. Naming a programme is not enough: news about a fellowship
programme, its launch, its graduates or its participants is news. So an item is a call
when its page gives it a deadline line, or when its title, label or summary carries an
invitation (`_INVITES`: "call for papers", "applications are invited", "appel
d'offres", "se invita a presentar", "приём заявок", "征集", "دعوة لتقديم", or a word
from `ingest.call_cues`), or when its summary states a deadline, unless the text reports
on a call or programme rather than making one (`_REPORTS`: "results of the call",
"graduates", "participants were welcomed", "итоги конкурса", "结果公布", "نتائج"). A
report in the title outweighs everything but a deadline line; one in the summary
outweighs the summary's own invitation or deadline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from wcofeed.ingest.cues import windows
from wcofeed.models import KINDS, Kind

_INVITES: dict[str, tuple[str, ...]] = {
    "en": (
        r"calls?\s+for\s+(?:applications?|proposals?|papers?|nominations?|tenders?|bids?"
        r"|candidates?|candidatures?|expressions?\s+of\s+interest|experts?|contributions?"
        r"|abstracts?|submissions?|entries|participants?|speakers?|consultants?|interest)",
        r"open\s+call|expressions?\s+of\s+interest|vacanc(?:y|ies)|job\s+(?:opening|offer)s?",
        r"invitations?\s+(?:to|for)\s+(?:tender|bid|apply|submit|nominate)",
        r"requests?\s+for\s+(?:proposals?|quotations?|applications?|nominations?|bids?|tenders?)",
        r"applications?\s+(?:are\s+|is\s+)?(?:now\s+)?(?:open|invited|welcome|being\s+accepted)",
        r"(?:now\s+)?(?:open|accepting)\s+(?:for\s+)?(?:applications|nominations|submissions)",
        r"apply\s+(?:now|online|today|here|by|before)|how\s+to\s+apply",
        r"nominations?\s+(?:are\s+|is\s+)?(?:now\s+)?(?:open|invited|sought|requested|welcome)",
        r"invited\s+to\s+(?:apply|submit|nominate|propose|present|send|express|register)",
        r"invites?\s+(?:\w+\s+){0,5}?to\s+(?:apply|submit|nominate|propose|send|express)",
        r"invites?\s+(?:applications|nominations|proposals|candidates|bids|tenders|submissions"
        r"|expressions|papers)",
        r"(?:is|are)\s+recruiting|we\s+are\s+hiring|tenders?",
        r"(?:seek(?:s|ing)?|looking\s+for)\s+(?:\w+\s+){0,3}?(?:candidates|experts|consultants"
        r"|applicants|proposals|speakers|nominations)",
        r"submit\s+(?:your\s+|an?\s+|their\s+|its\s+)?(?:applications?|proposals?|papers?"
        r"|abstracts?|nominations?|bids?|candidatures?)",
        r"deadline\s+for\s+(?:applications|submissions|nominations|proposals|bids|registration"
        r"|abstracts|papers)",
    ),
    "fr": (
        r"appels?\s+(?:à|a)\s+(?:candidatures?|propositions?|projets?|communications?"
        r"|contributions?|manifestations?\s+d['’]intérêt|nominations?|experts?|soumissions?)",
        r"appels?\s+d['’]offres?|avis\s+(?:de\s+vacance|de\s+recrutement)|vacances?\s+de\s+postes?",
        r"manifestations?\s+d['’]intérêt|demandes?\s+de\s+(?:propositions?|cotations?)",
        r"candidatures?\s+(?:sont\s+)?(?:ouvertes|invitées|bienvenues)",
        r"invitée?s?\s+(?:à|a)\s+(?:présenter|soumettre|proposer|désigner|postuler|candidater"
        r"|envoyer|adresser|manifester|déposer|faire\s+acte)",
        r"invite\s+(?:\S+\s+){0,5}?(?:à|a)\s+(?:présenter|soumettre|proposer|désigner|postuler"
        r"|candidater|manifester|déposer)",
        r"postulez|(?:peuvent|pouvez)\s+(?:proposer|présenter|soumettre)\s+(?:des\s+|leurs\s+|vos\s+)?"
        r"(?:candidat|proposition)",
        r"recrute|désignation\s+(?:de|des)\s+candidats?",
        r"soumettre\s+(?:une\s+|des\s+|leur\s+|vos\s+)?(?:candidature|proposition|communication"
        r"|offre)",
    ),
    "es": (
        r"convocatorias?|licitaci[oó]n(?:es)?|vacantes?",
        r"llamad[oa]s?\s+(?:a|para)\s+(?:candidaturas|propuestas|presentar|la\s+presentación"
        r"|licitación|expresiones)",
        r"solicitud(?:es)?\s+de\s+(?:propuestas|ofertas|cotizaciones)",
        r"(?:manifestaci[oó]n|expresi[oó]n)(?:es)?\s+de\s+inter[eé]s",
        r"inscripciones\s+(?:están\s+)?abiertas|abiert[oa]s?\s+(?:las\s+|el\s+)?(?:inscripciones"
        r"|candidaturas|postulaciones|plazo)",
        r"invita\s+a\s+(?:\S+\s+){0,4}?(?:presentar|postular|enviar|proponer|designar)",
        r"(?:pueden|podrán)\s+(?:presentar|postular|proponer|enviar)",
        r"postular|busca\s+(?:un|una|a)\s+(?:\S+\s+){0,2}?(?:oficial|expert[oa]|consultor|candidat)",
        r"presentar\s+(?:sus\s+|las\s+)?(?:candidaturas|solicitudes|propuestas|ponencias|ofertas)",
    ),
    "ru": (
        r"при[её]м\s+(?:заявок|документов|докладов|статей|кандидатур|предложений|работ)",
        r"(?:объявл|открыт)\w*\s+(?:\w+\s+){0,2}?(?:конкурс|набор|при[её]м)",
        r"конкурс\w*\s+на|ваканси\w+|тендер\w*|выражени\w+\s+заинтересованности",
        r"(?:запрос|приглашение)\s+(?:предложений|к\s+участию|к\s+подаче)",
        r"приглаша\w+\s+(?:\w+\s+){0,3}?(?:подать|представить|выдвинуть|направить)",
        r"предлагается\s+(?:представить|подать|направить)",
        r"(?:могут|может)\s+(?:выдвинуть|подать|представить|направить)",
        r"выдвижени\w+\s+кандидат\w*|подать\s+заявк\w*|подач\w+\s+заявок",
        r"набор\s+(?:на|слушателей|участников)",
        r"ищет\s+(?:\w+\s+){0,2}?(?:специалист|эксперт|консультант|кандидат)",
    ),
    "zh": (
        r"征集|征稿|招聘|招标|投标|职位空缺|空缺职位|空缺通知|接受申请|开放申请|欢迎申请",
        r"申请截止|报名截止|截止日期|提名|意向书|表达意向|诚邀|招募",
        r"邀请\S{0,12}?(?:提交|申请|报名|推荐|提名|投标)|可于\S{0,20}?(?:推荐|提交|申请)",
    ),
    "ar": (
        r"دعوة\s*(?:ل|إلى\s+)(?:تقديم|إبداء|الترشح|المشاركة)|إبداء\s+الاهتمام",
        r"مناقص(?:ة|ات)|وظيف(?:ة|ه)\s+شاغرة|وظائف\s+شاغرة|شواغر",
        r"(?:فتح|يفتح|فُتح)\s+باب\s+(?:التقديم|الترشح|الترشيح|التسجيل)|باب\s+التقديم\s+مفتوح",
        r"طلب\s+(?:تقديم\s+)?(?:عروض|مقترحات)",
        r"تدعو\s+\S+\s+(?:\S+\s+){0,3}?إلى\s+(?:تقديم|الترشح|ترشيح|المشاركة)",
        r"(?:يُدعى|يدعى|تُدعى|تدعى)\s+\S+\s+إلى\s+(?:تقديم|ترشيح)",
        r"(?:يمكن|بإمكان)\s+\S+\s+(?:\S+\s+)?(?:ترشيح|تقديم)|ترشيحات",
    ),
}
_REPORTS: dict[str, tuple[str, ...]] = {
    "en": (
        r"results?\s+of|winners?|graduat(?:es|ed|ion)|alumni|concluded|came\s+to\s+(?:a\s+close"
        r"|an\s+end)|ceremony|congratulat\w*|welcomed|received\s+at",
        r"(?:were|was|have\s+been|has\s+been|had\s+been)\s+(?:selected|awarded|received|trained)",
        r"selected\s+(?:following|after|through)|following\s+their\s+selection",
        r"(?:is|are|was|has|have)\s+(?:now\s+)?closed",
    ),
    "fr": (
        r"résultats?\s+de|lauréats?|diplômés?|remise\s+des\s+diplômes|cérémonie|félicit\w*",
        r"(?:ont|a)\s+été\s+(?:sélectionné|retenu|accueilli|reçu|récompensé)\w*",
        r"sélectionnée?s?\s+(?:à\s+la\s+suite|après|parmi)|(?:a|ont)\s+retenu",
        r"clôture\s+de\s+la|(?:s['’]est|se\s+sont)\s+(?:achevée?s?|terminée?s?|clôturée?s?)",
        r"ont\s+achevé|ont\s+obtenu|accueillie?s?",
    ),
    "es": (
        r"resultados?\s+de|ganador\w*|se\s+gradúan|graduad\w*|egresad\w*|ceremonia|felicit\w*",
        r"(?:fueron|han\s+sido|ha\s+sido)\s+(?:seleccionad|premiad|recibid)\w*",
        r"seleccionad\w*\s+(?:tras|después|entre)|seleccionó",
        r"conclu(?:ye|yó)|finaliz(?:a|ó)|completaron|recib(?:e|ió)\s+a\s+los",
    ),
    "ru": (
        r"итоги|результат\w*|победител\w*|выпускник\w*|получили\s+дипломы|отобран\w*|отобрал\w*",
        r"завершил\w*|завершен\w*|приняты\s+в|церемони\w*|поздрав\w*",
    ),
    "zh": (r"结果|获奖|毕业|结业|圆满结束|闭幕|抵达|选出|入选|颁奖|祝贺",),
    "ar": (r"نتائج|الفائز|تخرج|خريج|اختتام|اختتمت|استقبال|استقبل|اختير|اختار|أكمل|حفل|تهنئ",),
}
# How far around a cue word an invitation may start and end.
_BEFORE_CUE, _AFTER_CUE = 60, 120
# Languages whose words are not set off by spaces, or take glued-on prefixes.
_UNBOUNDED = {"zh", "ar"}
# Cheap tests that rule out most texts before the patterns run: every invitation
# pattern above holds one of these (lower-cased).
_HINTS: dict[str, tuple[str, ...]] = {
    "en": (
        *("call", "vacanc", "job ", "invit", "request", "appl", "nominat", "recruit"),
        *("hiring", "tender", "seek", "looking for", "submi", "deadline for", "interest"),
    ),
    "fr": (
        *("appel", "avis de", "vacance", "intérêt", "demande", "candidat", "invit", "postul"),
        *("peuvent", "pouvez", "recrut", "désignation", "soumettre"),
    ),
    "es": (
        *("convocatori", "licitaci", "vacante", "llamad", "solicitud", "manifestaci", "expresi"),
        "inscripci",
        *("abiert", "invita", "pueden", "podrán", "postula", "busca", "presentar"),
    ),
    "ru": (
        *("при", "объявл", "открыт", "конкурс", "ваканси", "тендер", "заинтересованност"),
        *("запрос", "предлагается", "может", "могут", "выдвижени", "пода"),
        *("набор", "ищет"),
    ),
    "zh": (*("征", "招", "投标", "空缺", "申请", "截止", "提名", "意向", "诚邀", "邀请", "可于"),),
    "ar": (
        *("دعوة", "إبداء", "مناقص", "شاغر", "شواغر", "باب", "طلب", "تدعو", "دعى", "يمكن"),
        *("بإمكان", "ترشيحات"),
    ),
}


def _compile(language: str, patterns: Sequence[str]) -> re.Pattern[str]:
    body = "|".join(f"(?:{p})" for p in patterns)
    if language in _UNBOUNDED:
        return re.compile(body, re.IGNORECASE)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


class KindGuesser:
    """Per-language invitation and report patterns, compiled once per run."""

    def __init__(self, extra: Mapping[str, Sequence[str]] | None = None) -> None:
        invites = {language: list(patterns) for language, patterns in _INVITES.items()}
        hints = {language: list(words) for language, words in _HINTS.items()}
        for language, words in (extra or {}).items():
            invites.setdefault(language, []).extend(re.escape(w) for w in words)
            hints.setdefault(language, []).extend(w.lower() for w in words)
        self._invites = {lang: _compile(lang, p) for lang, p in invites.items() if p}
        self._hints = {lang: tuple(words) for lang, words in hints.items()}
        self._reports = {lang: _compile(lang, p) for lang, p in _REPORTS.items()}
        self._by_languages: dict[tuple[str, ...], tuple[tuple[str, ...], list[re.Pattern[str]]]]
        self._by_languages = {}

    def _for(self, languages: tuple[str, ...]) -> tuple[tuple[str, ...], list[re.Pattern[str]]]:
        """The cue words and invitation patterns of these languages and English."""
        found = self._by_languages.get(languages)
        if found is None:
            chosen = sorted(_with_english(languages) & set(self._invites))
            words = tuple(dict.fromkeys(w for lang in chosen for w in self._hints.get(lang, ())))
            found = self._by_languages[languages] = (words, [self._invites[c] for c in chosen])
        return found

    def invites(self, text: str, languages: Sequence[str]) -> bool:
        """Whether `text` invites applications, nominations, proposals, bids…"""
        hints, patterns = self._for(tuple(languages))
        return any(
            pattern.search(text, start, end) is not None
            for start, end in windows(text, hints, _BEFORE_CUE, _AFTER_CUE)
            for pattern in patterns
        )

    def reports(self, text: str, languages: Sequence[str]) -> bool:
        """Whether `text` reports on a call or programme (results, graduates, arrivals)."""
        return any(
            self._reports[language].search(text) is not None
            for language in _with_english(languages)
            if language in self._reports
        )

    def is_call(self, text: str, languages: Sequence[str]) -> bool:
        """A title (or title and label) that makes an item a call on its own."""
        return self.invites(text, languages) and not self.reports(text, languages)

    def guess(
        self,
        *,
        cue_text: str,
        languages: Sequence[str],
        has_deadline: bool,
        default: Kind,
        forced: str = "",
        summary: str = "",
        summary_deadline: bool = False,
    ) -> Kind:
        """`cue_text` is the title and label; `has_deadline` says the page gave a deadline
        line, `summary_deadline` that the summary states one (see module docstring)."""
        if forced in KINDS:
            return forced
        if has_deadline:
            return "call"
        # Reports are looked for only once something invites: most items invite nothing.
        if self.invites(cue_text, languages):
            return default if self.reports(cue_text, languages) else "call"
        if summary_deadline or self.invites(summary, languages):
            reported = self.reports(cue_text, languages) or self.reports(summary, languages)
            return default if reported else "call"
        return default


def _with_english(languages: Sequence[str]) -> set[str]:
    """The page's and item's languages, plus English: WCO pages in every language carry
    English items."""
    return {language.split("-")[0].lower() for language in languages if language} | {"en"}
