from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import make_item
from wcofeed.models import (
    Deadline,
    Item,
    ItemError,
    announce_from,
    deadline_from_value,
    default_translation_key,
    guid_from_page_id,
    item_from_dict,
    item_to_dict,
    page_id,
)


def test_json_form_round_trips() -> None:
    item = make_item(
        kind="call",
        topics=("research", "origin"),
        published=datetime(2025, 2, 13, 8, 0, tzinfo=UTC),
        deadline=Deadline(date(2025, 3, 30), time(12, 0), "Asia/Tokyo"),
    )
    data = item_to_dict(item)
    assert data["topics"] == ["origin", "research"]  # topics are a sorted set
    assert data["published"] == "2025-02-13T08:00:00+00:00"
    assert data["deadline"] == {
        "date": "2025-03-30",
        "time": "12:00:00",
        "timezone": "Asia/Tokyo",
        "precision": "day",
        "wording": None,
    }
    again = item_from_dict(data)
    assert again == item and again.content_hash == item.content_hash


def test_content_hash_follows_content_only() -> None:
    item = make_item()
    assert dataclasses.replace(item, first_seen=datetime.now(UTC)).content_hash == item.content_hash
    assert dataclasses.replace(item, title="other").content_hash != item.content_hash
    assert dataclasses.replace(item, topics=("origin",)).content_hash != item.content_hash
    moved = dataclasses.replace(item, deadline=Deadline(date(2025, 1, 2)))
    assert moved.content_hash != item.content_hash


def test_from_dict_reports_every_bad_field_at_once() -> None:
    with pytest.raises(ItemError) as info:
        item_from_dict(
            {
                "guid": "",
                "kind": "memo",
                "title": 5,
                "url": "https://x",
                "language": "English",
                "published": "13/02/2025",
                "topics": ["Not A Slug"],
                "deadline": {"date": "tomorrow"},
                "colour": "red",
            }
        )
    errors = info.value.errors
    assert set(errors) == {
        "guid",
        "kind",
        "title",
        "language",
        "published",
        "topics",
        "deadline",
        "colour",
        "source",
    }
    assert errors["colour"] == "unknown field"
    assert errors["source"] == "required"


def test_model_rules_apply_to_valid_json_types() -> None:
    with pytest.raises(ItemError) as info:
        item_from_dict(
            {
                "guid": "g",
                "kind": "memo",
                "title": "t",
                "url": "u",
                "language": "English",
                "published": "2025-02-13",
                "source": "s",
                "topics": ["Not A Slug"],
            }
        )
    assert set(info.value.errors) == {"kind", "language", "topics", "url"}


def test_defaults_fill_missing_fields() -> None:
    item = item_from_dict(
        {"guid": "g", "title": "t", "url": "https://x", "published": "2025-02-13"},
        defaults={"source": "editors", "kind": "news", "language": "en"},
    )
    assert (item.source, item.kind, item.language) == ("editors", "news", "en")
    assert item.published == date(2025, 2, 13)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("2025-02-14", Deadline(date(2025, 2, 14))),
        ("2025-02-14T17:00:00Z", Deadline(date(2025, 2, 14), time(17, 0), "UTC")),
        ("2025-02-14T17:00:00+01:00", Deadline(date(2025, 2, 14), time(17, 0), "Etc/GMT-1")),
        (
            {"date": "2025-02-14", "time": "09:30", "timezone": "Europe/Paris"},
            Deadline(date(2025, 2, 14), time(9, 30), "Europe/Paris"),
        ),
    ],
)
def test_deadline_forms(value: object, expected: Deadline | None) -> None:
    assert deadline_from_value(value) == expected


@pytest.mark.parametrize(
    "value",
    [{"date": "2025-02-14", "timezone": "Mars/Base"}, {"day": "2025-02-14"}, 14, "soon"],
)
def test_bad_deadlines_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        deadline_from_value(value)


def test_deadline_closes_at_the_end_of_its_day_or_its_time() -> None:
    assert Deadline(date(2025, 2, 14)).closes_at() == datetime(2025, 2, 14, 22, 59, 59, tzinfo=UTC)
    tokyo = Deadline(date(2025, 3, 30), time(12, 0), "Asia/Tokyo")
    assert tokyo.closes_at() == datetime(2025, 3, 30, 3, 0, tzinfo=UTC)
    offset = Deadline(date(2025, 2, 14), time(17, 0), "Etc/GMT-1")
    assert offset.closes_at() == datetime(2025, 2, 14, 17, 0, tzinfo=timezone(timedelta(hours=1)))


def test_approximate_deadline_round_trips_with_its_wording() -> None:
    deadline = Deadline(date(2026, 7, 20), precision="approximate", wording="mid-July 2026")
    item = make_item(kind="call", deadline=deadline)
    data = item_to_dict(item)
    assert data["deadline"] == {
        "date": "2026-07-20",
        "time": None,
        "timezone": None,
        "precision": "approximate",
        "wording": "mid-July 2026",
    }
    again = item_from_dict(data)
    assert again.deadline == deadline and again.content_hash == item.content_hash
    # the latest instant the text allows, in Brussels
    assert deadline.closes_at() == datetime(2026, 7, 20, 21, 59, 59, tzinfo=UTC)


def test_deadline_json_without_precision_is_a_day() -> None:
    assert deadline_from_value({"date": "2025-03-14"}) == Deadline(date(2025, 3, 14))


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"date": "2025-03-31", "precision": "week"}, "precision must be one of"),
        ({"date": "2025-03-20", "precision": "approximate"}, "needs its 'wording'"),
        ({"date": "2025-03-14", "precision": "month"}, "last day of its month"),
        ({"date": "2025-03-31", "time": "17:00", "precision": "month"}, "needs precision 'day'"),
        ({"date": "2025-03-14", "wording": "mid-March"}, "only kept for month and approximate"),
        ({"date": "2025-03-31", "precision": "month", "wording": 5}, "must be a string"),
    ],
)
def test_bad_precision_is_refused(value: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        deadline_from_value(value)


def test_content_hash_of_day_deadlines_is_unchanged_and_precision_counts() -> None:
    item = Item(
        guid="g",
        kind="call",
        title="Call for experts",
        url="https://example.org/c",
        language="en",
        published=date(2025, 2, 1),
        source="s",
        deadline=Deadline(date(2025, 3, 14), time(17, 0), "Europe/Brussels"),
    )
    # the hash this item had before deadlines had a precision: stored rows stay unchanged
    assert item.content_hash == "c21dc1eb4ada28210ce5fdc44d29e58abdfe6e350436984b2e63f120464873e9"
    month = dataclasses.replace(item, deadline=Deadline(date(2025, 3, 31), precision="month"))
    approximate = dataclasses.replace(
        item, deadline=Deadline(date(2025, 3, 31), precision="approximate", wording="end of March")
    )
    reworded = dataclasses.replace(
        item, deadline=Deadline(date(2025, 3, 31), precision="approximate", wording="late March")
    )
    hashes = {i.content_hash for i in (item, month, approximate, reworded)}
    assert len(hashes) == 4


def test_an_undated_item_stays_undated_in_its_json_form() -> None:
    item = item_from_dict(
        {"guid": "g", "kind": "news", "title": "t", "url": "https://x", "language": "en"},
        defaults={"source": "editors"},
    )
    assert item.published is None and item.published_at is None
    data = item_to_dict(item)
    assert data["published"] is None and data["announce_from"] is None
    again = item_from_dict(data)
    assert again == item and again.content_hash == item.content_hash
    assert item_from_dict({**data, "published": "2025-02-13"}).content_hash != item.content_hash
    with pytest.raises(ItemError) as info:
        Item("g", "news", "t", "https://x", "en", "2025-02-13", "s")  # type: ignore[arg-type]
    assert info.value.errors == {"published": "must be a date, a datetime or null"}


SEEN = datetime(2025, 2, 15, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


@pytest.mark.parametrize(
    ("published", "baseline", "max_age", "expected"),
    [
        # a source's first fetch: its back catalogue is news only by its own date
        (None, True, WEEK, None),
        (date(2025, 2, 14), True, WEEK, datetime(2025, 2, 14, tzinfo=UTC)),
        (date(2020, 10, 30), True, WEEK, None),
        # later: news from first sight, unless its own date is too old
        (None, False, WEEK, SEEN),
        (date(2025, 2, 8), False, WEEK, SEEN),  # the 7th day before is still news
        (date(2025, 2, 7), False, WEEK, None),
        (datetime(2025, 2, 8, 23, 0, tzinfo=timezone(timedelta(hours=-5))), False, WEEK, SEEN),
        (date(2020, 10, 30), False, WEEK, None),
        # hand-entered: no age limit
        (date(2020, 10, 30), False, None, SEEN),
    ],
)
def test_when_an_item_is_news(
    published: date | None, baseline: bool, max_age: timedelta | None, expected: datetime | None
) -> None:
    assert announce_from(published, SEEN, baseline=baseline, max_age=max_age) == expected


@pytest.mark.parametrize(
    ("guid", "key"),
    [
        (
            "https://www.wcoomd.org/fr/media/newsroom/2025/x.aspx",
            "https://www.wcoomd.org/{lang}/media/newsroom/2025/x.aspx",
        ),
        ("https://www.wcoomd.org/ar/about-us.aspx", "https://www.wcoomd.org/{lang}/about-us.aspx"),
        ("http://wco.test/en/news-1?id=3", "http://wco.test/{lang}/news-1?id=3"),
        # only the first folder, only the WCO's six codes, only http(s) links
        ("https://www.wcoomd.org/media/en/x.aspx", "https://www.wcoomd.org/media/en/x.aspx"),
        ("https://www.wcoomd.org/de/x.aspx", "https://www.wcoomd.org/de/x.aspx"),
        ("https://www.wcoomd.org/en.aspx", "https://www.wcoomd.org/en.aspx"),
        ("https://example.org?next=/en/x", "https://example.org?next=/en/x"),
        ("urn:wcofeed:0123abcd", "urn:wcofeed:0123abcd"),
    ],
)
def test_translation_key_replaces_the_language_folder(guid: str, key: str) -> None:
    assert default_translation_key(guid) == key
    assert make_item(guid=guid).translation_key == key


def test_versions_of_one_item_share_their_key() -> None:
    english = make_item(guid="https://www.wcoomd.org/en/media/x.aspx")
    french = make_item(guid="https://www.wcoomd.org/fr/media/x.aspx", language="fr")
    assert english.translation_key == french.translation_key


def test_a_given_translation_key_is_content_the_default_is_not() -> None:
    item = Item(
        guid="g",
        kind="call",
        title="Call for experts",
        url="https://example.org/c",
        language="en",
        published=date(2025, 2, 1),
        source="s",
        deadline=Deadline(date(2025, 3, 14), time(17, 0), "Europe/Brussels"),
    )
    # the same hash as before translation keys existed (see the test above)
    assert item.content_hash == "c21dc1eb4ada28210ce5fdc44d29e58abdfe6e350436984b2e63f120464873e9"
    assert dataclasses.replace(item, translation_key="g").content_hash == item.content_hash
    keyed = dataclasses.replace(item, translation_key="call-for-experts-2025")
    assert keyed.content_hash != item.content_hash


def test_translation_key_in_the_json_form() -> None:
    data = item_to_dict(make_item(guid="https://www.wcoomd.org/es/x.aspx"))
    assert data["translation_key"] == "https://www.wcoomd.org/{lang}/x.aspx"
    given = item_from_dict({**data, "translation_key": "pscg-call-2025"})
    assert given.translation_key == "pscg-call-2025"
    derived = item_from_dict({k: v for k, v in data.items() if k != "translation_key"})
    assert derived.translation_key == data["translation_key"]
    assert (
        item_from_dict({**data, "translation_key": None}).translation_key == derived.translation_key
    )
    with pytest.raises(ItemError) as info:
        item_from_dict({**data, "translation_key": "  "})
    assert set(info.value.errors) == {"translation_key"}
    with pytest.raises(ItemError) as info:
        item_from_dict({**data, "translation_key": 7})
    assert info.value.errors["translation_key"] == "must be a string"


@pytest.mark.parametrize(
    ("attachments", "message"),
    [
        ([{"url": "javascript:alert(1)"}], "not an http(s) link"),
        ([{"title": "no link"}], "needs a 'url'"),
        ([{"url": "https://x.org/a.pdf", "length": -1}], "whole number of bytes"),
        ([{"url": "https://x.org/a.pdf", "type": "pdf"}], "not a media type"),
        ([{"url": "https://x.org/a.pdf", "size": 3}], "unknown attachment keys: size"),
        ("https://x.org/a.pdf", "must be a list"),
    ],
)
def test_bad_attachments_are_refused_naming_the_field(attachments: Any, message: str) -> None:
    data = item_to_dict(make_item()) | {"attachments": attachments}
    with pytest.raises(ItemError) as caught:
        item_from_dict(data)
    assert message in caught.value.errors["attachments"]


def test_full_text_changes_the_hash_only_when_present() -> None:
    plain = make_item()
    assert plain.content_hash == dataclasses.replace(plain, content_text="").content_hash
    read = dataclasses.replace(plain, content_text="Whole text")
    assert read.content_hash != plain.content_hash
    assert item_from_dict(item_to_dict(read)) == read


def test_page_ids_round_trip_and_refuse_anything_else() -> None:
    for guid in ("https://www.wcoomd.org/en/x.aspx?a=1&b=é", "urn:x:1", "a"):
        assert guid_from_page_id(page_id(guid)) == guid
        assert "/" not in page_id(guid) and "=" not in page_id(guid)
    assert guid_from_page_id("YQ") == "a"
    for bad in ("", "a+b", "YQ==", "_w", "YR", "A" * 5000):  # "YR": not how "a" is written
        assert guid_from_page_id(bad) is None
