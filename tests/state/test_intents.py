"""Intents in the store: recorded once, listed atomically with their record, unlisted when settled."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.state import StateStore
from shared.state.intents import OPEN_INDEX, Intent, intent_id, open_intents, record, save

T = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def make(tag: str = "v1", status: str = "pending", at: datetime = T, identity: str = "sha256:aa") -> Intent:
    return Intent(
        id=intent_id("demo", "team/app", tag, "ap-southeast-1", "demo", False, identity),
        namespace="demo",
        repository="team/app",
        tag=tag,
        region="ap-southeast-1",
        target_namespace="demo",
        created_at=at,
        last_action_at=at,
        status=status,  # type: ignore[arg-type]
    )


def test_recorded_once_and_listed_oldest_first(store: StateStore) -> None:
    assert record(store, make("v2", at=T + timedelta(seconds=5)))
    assert record(store, make("v1"))
    assert not record(store, make("v1"))  # a redelivery: nothing new
    assert [i.tag for i in open_intents(store, 10)] == ["v1", "v2"]
    assert [i.tag for i in open_intents(store, 1)] == ["v1"]


def test_the_same_push_again_after_it_was_settled_opens_it_again(store: StateStore) -> None:
    intent = make()
    record(store, intent)
    save(store, intent.model_copy(update={"status": "verified"}))
    assert open_intents(store, 10) == []
    assert record(store, make())  # A, then B, then A again: a new sync to prove
    assert [i.status for i in open_intents(store, 10)] == ["pending"]


def test_a_permanent_failure_is_recorded_once_and_listed_until_alerted(store: StateStore) -> None:
    assert record(store, make(status="failed"))
    assert not record(store, make(status="failed"))
    [failed] = open_intents(store, 10)
    save(store, failed.model_copy(update={"alerted": True}))
    assert open_intents(store, 10) == []


def test_a_settled_intent_left_listed_is_dropped_by_the_next_reader(store: StateStore) -> None:
    """A run that wrote the settled state but lost the store before unlisting it."""
    intent = make()
    record(store, intent)
    store.write(intent.model_copy(update={"status": "verified"}), intent.id, 60)
    assert open_intents(store, 10) == [] and store.index_size(OPEN_INDEX) == 0


def test_an_expired_or_corrupt_record_is_dropped_from_the_index(store: StateStore) -> None:
    intent = make()
    record(store, intent)
    store.backend.set(store.key("intent", intent.id), "{corrupt", 60_000)
    assert open_intents(store, 10) == [] and store.index_size(OPEN_INDEX) == 0
