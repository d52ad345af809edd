"""The state store's contract, the same on both backends: namespaced versioned keys, TTLs, validation on read,
locks, markers, bounded histories; and a dead or stalled Redis never hangs the caller."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import ClassVar

import pytest

from shared.logs import logs
from shared.state import StateRecord, StateStore, StateUnavailable
from shared.state.memory import MemoryBackend


class Thing(StateRecord):
    KIND: ClassVar[str] = "thing"
    VERSION: ClassVar[int] = 3
    name: str
    count: int
    at: datetime


T = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_write_read_under_a_namespaced_versioned_key(store: StateStore) -> None:
    assert store.write(Thing(name="a", count=1, at=T), "x", 60)
    assert store.read(Thing, "x") == Thing(name="a", count=1, at=T)
    assert store.backend.get("swr-sync:thing:v3:x") is not None
    assert store.read(Thing, "y") is None
    assert not store.write(Thing(name="b", count=2, at=T), "x", 60, only_if_absent=True)
    assert store.read(Thing, "x").name == "a"  # type: ignore[union-attr]


def test_values_expire(store: StateStore) -> None:
    store.write(Thing(name="a", count=1, at=T), "x", 0.2)
    assert store.read(Thing, "x") is not None
    time.sleep(0.35)
    assert store.read(Thing, "x") is None


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        json.dumps({"name": "a"}),
        json.dumps({"name": "a", "count": "many", "at": "now"}),
        "\xff",
    ],
)
def test_a_corrupt_value_is_logged_and_treated_as_absent(store: StateStore, raw: str) -> None:
    stream = io.StringIO()
    logs.configure("INFO", stream)
    try:
        store.backend.set("swr-sync:thing:v3:x", raw, 60_000)
        assert store.read(Thing, "x") is None
        assert store.corrupt == 1
        # ...and can be overwritten by the next writer
        store.write(Thing(name="a", count=1, at=T), "x", 60)
        assert store.read(Thing, "x") is not None
    finally:
        logs.reset()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["state value unreadable: treated as absent"]
    assert lines[0]["key"] == "swr-sync:thing:v3:x"


def test_lock_is_exclusive_expires_and_only_its_holder_unlocks(store: StateStore) -> None:
    token = store.lock("l", "k", 0.3)
    assert token and store.lock("l", "k", 0.3) is None and store.locked("l", "k")
    store.unlock("l", "k", "someone-else")
    assert store.locked("l", "k")
    store.unlock("l", "k", token)
    assert not store.locked("l", "k")
    assert store.lock("l", "k", 0.2)
    time.sleep(0.3)
    assert store.lock("l", "k", 0.2) is not None


def test_once_is_true_once_per_window_across_threads(store: StateStore) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(store.once("alert", "key-1", 60))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_counter_and_index_and_bounded_history(store: StateStore) -> None:
    assert [store.count("c", "k", 60) for _ in range(3)] == [1, 2, 3]
    for member, score in (("b", 2.0), ("a", 1.0), ("c", 3.0)):
        store.index_add("open", member, score, 60)
    assert store.index_oldest("open", 2) == [("a", 1.0), ("b", 2.0)]
    store.index_remove("open", "a")
    assert store.index_size("open") == 2
    for i in range(5):
        store.push_recent(Thing(name=str(i), count=i, at=T), "runs", keep=3, ttl=60)
    store.backend.push_bounded("swr-sync:thing:v3:runs", "garbage", 4, 60_000)
    assert [t.count for t in store.recent(Thing, "runs", 10)] == [4, 3, 2]  # garbage skipped, bound kept


def test_memory_backend_is_bounded() -> None:
    backend = MemoryBackend(max_entries=3)
    store = StateStore(backend)
    for i in range(5):
        store.write(Thing(name=str(i), count=i, at=T), str(i), 60)
    assert len(backend) == 3 and store.read(Thing, "0") is None and store.read(Thing, "4") is not None


# -- Redis down or stalled --------------------------------------------------------------------------------


@pytest.fixture
def stalled_port() -> Iterator[int]:
    """A server that accepts connections and never answers (a hung Redis)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conns.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for c in conns:
        c.close()
    server.close()


def test_a_stalled_redis_costs_one_timeout_then_fails_fast(stalled_port: int) -> None:
    from shared.state.redis import RedisBackend

    store = StateStore(RedisBackend(f"redis://127.0.0.1:{stalled_port}/0", timeout=0.3), cooldown=5.0)
    started = time.monotonic()
    with pytest.raises(StateUnavailable):
        store.read(Thing, "x")
    assert time.monotonic() - started < 2.0
    started = time.monotonic()
    for _ in range(20):
        with pytest.raises(StateUnavailable):
            store.once("a", "b", 60)
    assert time.monotonic() - started < 0.5  # failing fast, not 20 more timeouts
    assert store.degraded


def test_a_refused_redis_is_unavailable_not_a_crash() -> None:
    from shared.state.redis import RedisBackend

    store = StateStore(RedisBackend("redis://127.0.0.1:1/0", timeout=0.2))
    with pytest.raises(StateUnavailable) as err:
        store.write(Thing(name="a", count=1, at=T), "x", 60)
    assert "redis" in str(err.value) and "127.0.0.1" not in str(err.value)


def test_hostile_text_is_stored_and_read_back(store: StateStore) -> None:
    """A name from a hostile push (lone surrogate, control characters) is stored, never a failed write."""
    weird = "de\ud800mo\x00\u202e"
    store.write(Thing(name=weird, count=1, at=T), "x", 60)
    back = store.read(Thing, "x")
    assert back is not None and back.name == weird
