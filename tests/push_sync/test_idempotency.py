"""Idempotency stores: the same contract for the in-memory and the Redis store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from functions.push_sync.idempotency import (
    MemoryStore,
    RedisStore,
    Store,
    StoreUnavailable,
    acquire,
    get_store,
    idempotency_key,
)
from shared.rules import Target

T1, T2 = Target("ap-southeast-1", "demo"), Target("ap-southeast-3", "dr", True)


def test_key_is_stable_and_distinguishes_fields() -> None:
    k = idempotency_key("demo", "team/app", "v1", [T1, T2])
    assert k == idempotency_key("demo", "team/app", "v1", [T2, T1])
    others = {
        idempotency_key("demo", "team/app", "v2", [T1, T2]),
        idempotency_key("demo", "team/api", "v1", [T1, T2]),
        idempotency_key("demo", "team/app", "v1", [T1]),
        idempotency_key("demo", "team/app", "v1", [T1, Target("ap-southeast-3", "dr", False)]),
    }
    assert k not in others and len(others) == 4


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "memory":
        return MemoryStore()
    url = request.getfixturevalue("redis_url")
    return RedisStore(url)


def test_claim_complete_duplicate(store: Store) -> None:
    first = store.claim("k", 5_000)
    assert first.state == "acquired" and first.token
    assert store.claim("k", 5_000).state == "busy"
    store.complete("k", first.token, {"status": "triggered", "n": 1}, 60)
    done = store.claim("k", 5_000)
    assert done.state == "done" and done.result == {"status": "triggered", "n": 1}


def test_a_result_counts_only_for_the_push_it_records(store: Store) -> None:
    """The tag moved to another digest after this result was stored: the push is new, not a duplicate."""
    first = store.claim("k", 5_000, "sha256:aa")
    store.complete("k", first.token, {"status": "triggered", "identity": "sha256:aa"}, 60)
    assert store.claim("k", 5_000, "sha256:aa").state == "done"
    moved = store.claim("k", 5_000, "sha256:bb")
    assert moved.state == "acquired"
    assert store.claim("k", 5_000, "sha256:aa").state == "done"  # the last synced push is still aa's
    assert store.claim("k", 5_000, "sha256:cc").state == "busy"  # one sync of a tag at a time
    store.complete("k", moved.token, {"status": "triggered", "identity": "sha256:bb"}, 60)
    assert store.claim("k", 5_000, "sha256:bb").state == "done"
    assert store.claim("k", 5_000, "sha256:aa").state == "acquired"  # back to the first digest: a rollback


def test_wait_for_a_different_push_returns_when_the_lock_is_released(store: Store) -> None:
    """A stored result of another push must not make a waiter spin or return early while the lock is held."""
    first = store.claim("k", 5_000, "sha256:aa")
    store.complete("k", first.token, {"status": "triggered", "identity": "sha256:aa"}, 60)
    holder = store.claim("k", 5_000, "sha256:bb")
    assert holder.state == "acquired"
    started = time.monotonic()
    store.wait("k", 0.3, "sha256:cc")
    assert time.monotonic() - started >= 0.25  # still held: waited the whole timeout
    threading.Timer(0.1, lambda: store.release("k", holder.token)).start()
    started = time.monotonic()
    store.wait("k", 5.0, "sha256:cc")
    assert time.monotonic() - started < 4.0
    assert store.claim("k", 5_000, "sha256:cc").state == "acquired"


def test_release_lets_a_redelivery_retry(store: Store) -> None:
    first = store.claim("k", 5_000)
    store.release("k", first.token)
    assert store.claim("k", 5_000).state == "acquired"


def test_release_with_a_stale_token_keeps_the_new_lock(store: Store) -> None:
    first = store.claim("k", 50)
    time.sleep(0.1)  # the first lock expired
    second = store.claim("k", 5_000)
    assert second.state == "acquired"
    store.release("k", first.token)  # must not free the second holder's lock
    assert store.claim("k", 5_000).state == "busy"
    store.complete("k", first.token, {"status": "triggered"}, 60)  # stale completion stores, keeps lock owner
    assert store.claim("k", 5_000).state == "done"


def test_wait_returns_when_the_holder_finishes(store: Store) -> None:
    first = store.claim("k", 5_000)
    threading.Timer(0.05, lambda: store.complete("k", first.token, {"status": "triggered"}, 60)).start()
    started = time.monotonic()
    claim = acquire(store, "k", 5_000, time.monotonic() + 2.0)
    assert claim.state == "done"
    assert time.monotonic() - started < 1.0


def test_wait_times_out_while_busy(store: Store) -> None:
    store.claim("k", 5_000)
    started = time.monotonic()
    assert acquire(store, "k", 5_000, time.monotonic() + 0.15).state == "busy"
    assert 0.1 <= time.monotonic() - started < 1.0


def test_takes_over_when_the_holder_fails(store: Store) -> None:
    first = store.claim("k", 5_000)
    threading.Timer(0.05, lambda: store.release("k", first.token)).start()
    assert acquire(store, "k", 5_000, time.monotonic() + 2.0).state == "acquired"


def test_results_expire(store: Store, request: pytest.FixtureRequest) -> None:
    first = store.claim("k", 5_000)
    store.complete("k", first.token, {"status": "triggered"}, 7)
    assert store.claim("k", 5_000).state == "done"
    if isinstance(store, RedisStore):
        import redis

        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        assert 0 < client.ttl("swr-sync:push-result:v1:k") <= 7  # expiry set on the result
        assert client.exists("swr-sync:push-claim:v1:k") == 0  # lock released
        client.close()
    # MemoryStore expiry: see test_memory_store_ttl_and_bound (injected clock)


def test_concurrent_claims_only_one_wins(store: Store) -> None:
    results: list[str] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(store.claim("race", 5_000).state)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["acquired"] + ["busy"] * 7


def test_memory_store_ttl_and_bound() -> None:
    now = [1000.0]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    store = MemoryStore(max_entries=3, clock=clock)
    for i in range(5):
        c = store.claim(f"k{i}", 1_000)
        store.complete(f"k{i}", c.token, {"i": i}, 600)
    assert len(store) <= 3  # bounded: locks and results share the bound
    assert store.claim("k0", 1_000).state == "acquired"  # evicted (oldest)
    assert store.claim("k4", 1_000).state == "done"
    now[0] += 601
    assert store.claim("k4", 1_000).state == "acquired"  # expired
    # locks expire too
    assert store.claim("k4", 1_000).state == "busy"
    now[0] += 2
    assert store.claim("k4", 1_000).state == "acquired"


def test_redis_unreachable_raises_store_unavailable() -> None:
    pytest.importorskip("redis")
    store = RedisStore("redis://127.0.0.1:1/0", timeout=0.2)
    with pytest.raises(StoreUnavailable):
        store.claim("k", 1_000)


def test_get_store_is_cached_per_instance() -> None:
    a = get_store(None, 10)
    assert get_store(None, 10) is a
    assert a.state.name == "memory"
