"""Every WCO page kind, from the bundled snapshots: every extracted field."""

from __future__ import annotations

from datetime import date, time

from wcofeed.ingest.html import parse_html
from wcofeed.models import Deadline

from .conftest import ParsePage, context

WCO = "https://www.wcoomd.org"


def by_title(result, start: str):  # type: ignore[no-untyped-def]
    matches = [i for i in result.items if i.title.startswith(start)]
    assert len(matches) == 1, [i.title for i in result.items]
    return matches[0]


def test_newsroom_in_russian_interface(parse_page: ParsePage) -> None:
    result = parse_page("wco-newsroom-ru.html", "ru")
    assert len(result.items) == 40
    assert result.warnings == [] and result.undated == set()
    first = result.items[0]
    # no title on the page: the first sentence, cut at a word before 160 characters
    assert first.title == (
        "The WCO Working Group on Performance Measurement (WGPM) concluded the virtual "
        "session of its 2nd Meeting on 23 October 2020, following a document-based…"
    )
    assert first.url == (
        f"{WCO}/en/media/newsroom/2020/october/the-wco-working-group-on-performance-measurement.aspx"
    )
    assert first.guid == first.url
    assert first.published == date(2020, 10, 30)
    assert first.kind == "news" and first.deadline is None
    assert first.language == "en"  # English content in the Russian interface
    assert first.summary.startswith("The WCO Working Group on Performance Measurement")
    assert first.summary_html.startswith("<p>The WCO Working Group")
    assert result.items[-1].published == date(2020, 10, 1)
    hs = by_title(result, "With the highest attendance in its history")
    assert hs.topics == ("nomenclature-classification",)
    assert hs.published == date(2020, 10, 22)
    # a title made from the summary stops at the sentence, not at "Dr."
    depositary = by_title(result, "On 19 October 2020, the Secretary General")
    assert "Dr. Kunio Mikuriya" in depositary.title
    career = by_title(result, "The WCO-Japan Career Development Programme")
    assert career.kind == "news"  # a programme in a news text is not a call


def test_home_page_misdecoded(parse_page: ParsePage) -> None:
    result = parse_page("wco-home-en.html", "en")
    titles = [i.title for i in result.items]
    assert len(titles) == len(set(titles)) == 23  # the news listed twice is stored once
    assert all("√" not in t and "üìÖ" not in t and "‚Äì" not in t for t in titles)
    vcoa = by_title(result, "21st virtual customs orientation academy")
    assert vcoa.title == "21st virtual customs orientation academy (vcoa) \u2013 french-speaking"
    assert vcoa.kind == "call"
    assert vcoa.deadline == Deadline(date(2025, 2, 14))
    assert vcoa.url == f"{WCO}/en/about-us/vacancies/vcoa-21-french.aspx"
    assert vcoa.summary == "new - call for applications"
    assert vcoa.language == "en"
    assert vcoa.guid in result.undated and vcoa.published is None
    grips = by_title(result, "ay 2025-2026 master\u2019s degree programme")
    assert grips.kind == "call" and grips.deadline == Deadline(date(2025, 2, 14))
    assert grips.topics == ("capacity-building",)  # "scholarship programme" label
    career = by_title(result, "wco/japan career development programme (2025/2026)")
    assert career.deadline == Deadline(date(2025, 3, 30))
    assert career.kind == "call"
    pscg = by_title(result, "join the wco private sector consultative group (pscg)")
    assert pscg.deadline == Deadline(date(2025, 3, 24))
    assert pscg.guid == f"{WCO}/en/about-us/pscg/call-2025.aspx"  # utm_* dropped
    research = by_title(result, "research & policy note on generative")
    assert research.kind == "publication" and research.deadline is None
    news_105 = by_title(result, "wco news n°105")
    assert news_105.kind == "news" and news_105.summary == "illicit trade"
    origin = by_title(result, "wco supports african private sector with rules of origin")
    assert origin.published == date(2025, 2, 14)
    assert origin.topics == ("origin",)
    assert origin.url == (
        f"{WCO}/en/media/newsroom/2025/february/"
        "wco-supports-african-private-sector-with-rules-of.aspx"
    )
    brokers = by_title(result, "seco-wco gtfp phase ii workshop on customs brokers\u00b4")
    assert brokers.published == date(2025, 2, 11)
    assert by_title(result, "wco celebrates human rights day").published == date(2024, 12, 10)


def test_topic_page_chinese_fallback(parse_page: ParsePage) -> None:
    result = parse_page("wco-topic-facilitation-zh.html", "zh", topics=["procedures-facilitation"])
    assert [i.title for i in result.items] == [
        "What is Securing and Facilitating Legitimate Global Trade",
        "Benefits expected from Trade Facilitation",
    ]
    first = result.items[0]
    assert first.language == "en"
    assert first.kind == "publication"
    assert first.url == (
        f"{WCO}/en/topics/facilitation/overview/"
        "what-is-securing-and-facilitating-legitimate-global-trade.aspx"
    )
    assert "procedures-facilitation" in first.topics
    assert first.summary_html.count("<p>") == 4
    assert first.published is None and first.guid in result.undated


def test_tools_list_chinese_fallback(parse_page: ParsePage) -> None:
    result = parse_page("wco-tools-zh.html", "zh")
    assert len(result.items) == 5
    assert {i.language for i in result.items} == {"en"}
    assert {i.kind for i in result.items} == {"publication"}
    handbook = result.items[0]
    assert handbook.title == "Customs - Police Cooperation Handbook"
    assert handbook.summary.startswith("The Customs \u2013 Police Cooperation Handbook aims")
    assert handbook.url.startswith(f"{WCO}/en/topics/facilitation/instrument-and-tools/tools/")


def test_tools_list_russian_fallback(parse_page: ParsePage) -> None:
    result = parse_page("wco-tools-ru.html", "ru")
    assert len(result.items) == 40
    assert {i.language for i in result.items} == {"en"}
    dated = by_title(result, "Data Analysis Practitioner's Handbook")
    assert dated.published == date(2018, 12, 3)
    assert dated.guid not in result.undated
    assert len(result.undated) == 39
    trs = by_title(result, "TRS")
    assert trs.summary.startswith("Time Release Study No time to read this?")
    single = by_title(result, "Single Window Guidelines")
    assert single.topics == ("procedures-facilitation",)


def test_deadline_time_and_zone_kept(parse_page: ParsePage) -> None:
    result = parse_page("calls-fr.html", "fr")
    call = by_title(result, "Appel à candidatures : Programme de bourses")
    assert call.deadline == Deadline(date(2025, 3, 14), time(17, 0), "Europe/Brussels")
    assert call.language == "fr" and call.kind == "call"
    yearless = by_title(result, "Avis de vacance : analyste de données")
    # "date limite : 2 mars" on a page dated 10 February 2025
    assert yearless.deadline == Deadline(date(2025, 3, 2))
    assert yearless.published == date(2025, 2, 3)


def test_yearless_deadline_on_an_undated_page_uses_last_modified() -> None:
    page = (
        b'<div id="highlights"></div><div id="calls"><div class="call">'
        b'<a class="call-title" href="/c">Call for applications: mentors</a>'
        b'<p class="call-deadline">deadline: 10 january</p></div></div>'
    )
    ctx = context("home", "en", url="https://www.wcoomd.org/en.aspx")
    ctx.page_date = date(2025, 11, 20)
    (call,) = parse_html(page, ctx).items
    assert call.deadline == Deadline(date(2026, 1, 10))


def test_home_call_with_its_deadline_in_the_subtitle() -> None:
    """The home page as a text rendering joins a call's subtitle and deadline line
    ("call for application deadline: 24 march 2025", seed 004): the deadline is kept."""
    page = (
        b'<div id="highlights"></div><div id="calls"><div class="call">'
        b'<span class="call-category">pscg</span>'
        b'<a class="call-title" href="/en/about-us/pscg/call-2025.aspx">new - join the wco '
        b"private sector consultative group (pscg)</a>"
        b'<p class="call-subtitle">call for application deadline: 24 march 2025</p></div>'
        b'<div class="call"><a class="call-title" href="/en/papers.aspx">call for papers: '
        b'picard 2025</a><p class="call-subtitle">deadline: mid-july</p></div></div>'
    )
    ctx = context("home", "en", url="https://www.wcoomd.org/en.aspx")
    pscg, picard = parse_html(page, ctx).items
    assert pscg.deadline == Deadline(date(2025, 3, 24)) and pscg.kind == "call"
    assert picard.kind == "call"
    assert picard.deadline == Deadline(
        date(2025, 7, 20), precision="approximate", wording="mid-july"
    )
