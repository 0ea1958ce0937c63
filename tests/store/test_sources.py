from __future__ import annotations

from datetime import timedelta

from tests.conftest import NOW
from wcofeed.store import Store


async def test_unknown_source_has_blank_state(store: Store) -> None:
    state = await store.source_state("never")
    assert state.id == "never" and state.etag is None and state.consecutive_failures == 0


async def test_failures_count_up_and_success_resets_keeping_validators(store: Store) -> None:
    await store.record_fetch_success("wco", NOW, etag='"v1"', last_modified="Mon, 01 Jan 2025")
    later = NOW + timedelta(minutes=5)
    await store.record_fetch_failure("wco", later, "HTTP 503")
    await store.record_fetch_failure("wco", later, "timeout after 30 s")
    state = await store.source_state("wco")
    assert state.consecutive_failures == 2
    assert state.last_error == "timeout after 30 s"
    assert state.etag == '"v1"'  # a failure keeps the cache validators
    assert state.last_success == NOW and state.last_attempt == later

    await store.record_fetch_success("wco", later, etag='"v2"')
    state = await store.source_state("wco")
    assert (state.consecutive_failures, state.last_error, state.etag) == (0, None, '"v2"')
    assert [s.id for s in await store.source_states()] == ["wco"]
