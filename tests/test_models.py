from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from tests.conftest import make_item
from wcofeed.models import Deadline, ItemError, deadline_from_value, item_from_dict, item_to_dict


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
    assert data["deadline"] == {"date": "2025-03-30", "time": "12:00:00", "timezone": "Asia/Tokyo"}
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
