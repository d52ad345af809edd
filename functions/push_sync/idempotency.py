"""Idempotency of push deliveries: a redelivered push syncs nothing new and gets the first answer again.

Key: (namespace, repository, tag, targets); the stored result also records the push's identity (its digest, or
the source's push identity). A delivery is a duplicate only if the last push synced for that tag has the same
identity: a tag moved back to an earlier digest (a rollback: A, then B, then A again) is synced again, while a
late redelivery of an older push costs one harmless ``sync_images`` (SWR copies the tag as it is now). Only
successful results are stored (for ``IDEMPOTENCY_WINDOW_SECONDS``); a failed sync releases its claim so a
redelivery retries it.

The store is a use of the state store (shared/state): in memory by default (per warm instance, bounded by
``IDEMPOTENCY_MAX_ENTRIES``: protects against redeliveries that reach the same instance and concurrent duplicates
inside one process), on Redis with ``STATE_REDIS_URL`` (shared by every instance). A claim is an in-progress lock
(set-if-absent with a TTL) holding a random token; completion writes the result and deletes the lock only if it
still holds our token (compare-and-delete), so an expired lock never frees someone else's.

A second delivery that finds the push in progress waits up to ``IDEMPOTENCY_WAIT_SECONDS`` for the first to
finish (then answers ``duplicate``, or takes over if the first failed); if it is still running, the tag is
reported ``in_progress`` (HTTP 409 with ``Retry-After``), so the registry redelivers later.

If Redis is unreachable, deliveries proceed without idempotency (fail open: a duplicate ``sync_images`` is
harmless, a lost sync is not) and a warning is logged.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Sized
from typing import Any, ClassVar, Literal, Protocol, cast

from shared.record import record
from shared.rules import Target
from shared.state import StateRecord, StateStore, StateUnavailable, get_state, reset_states
from shared.state.memory import MemoryBackend

ClaimState = Literal["acquired", "done", "busy"]


StoreUnavailable = StateUnavailable  # the store could not be reached (Redis down, timeout)


@record(frozen=True)
class Claim:
    """The answer of the idempotency store to one claim."""

    state: ClaimState
    token: str = ""
    result: dict[str, Any] | None = None


class Store(Protocol):
    def claim(self, key: str, lock_ms: int, identity: str = "") -> Claim:
        """A stored result of this ``identity`` → ``done``; someone else holds the lock → ``busy``; else take the
        lock → ``acquired``."""

    def wait(self, key: str, timeout: float, identity: str = "") -> None:
        """Block until the lock on ``key`` is released or a result of ``identity`` is stored, or ``timeout``
        seconds pass."""

    def complete(self, key: str, token: str, result: dict[str, Any], ttl_seconds: int) -> None:
        """Store the (successful) result for ``ttl_seconds`` and release our lock. The result holds the push's
        identity under ``"identity"``."""

    def release(self, key: str, token: str) -> None:
        """Release our lock without a result (the sync failed: a redelivery must retry)."""


def idempotency_key(namespace: str, repository: str, tag: str, targets: Iterable[Target]) -> str:
    """Stable key of one tag synced to a set of targets (order of targets does not matter)."""
    material = [namespace, repository, tag, sorted([t.region, t.namespace, t.override] for t in targets)]
    digest = hashlib.sha256(json.dumps(material, separators=(",", ":")).encode()).hexdigest()
    return digest


def acquire(
    store: Store,
    key: str,
    lock_ms: int,
    deadline: float,
    identity: str = "",
    clock: Callable[[], float] = time.monotonic,
) -> Claim:
    """Claim ``key``; while another delivery holds it, wait (until the monotonic ``deadline``) and try again."""
    while True:
        claim = store.claim(key, lock_ms, identity)
        remaining = deadline - clock()
        if claim.state != "busy" or remaining <= 0:
            return claim
        store.wait(key, remaining, identity)


def _same_push(result: dict[str, Any] | None, identity: str) -> bool:
    return result is not None and str(result.get("identity", "")) == identity


# -- on the state store (shared/state) ------------------------------------------------------------------


class StoredResult(StateRecord):
    """The successful result of a synced push, kept for ``IDEMPOTENCY_WINDOW_SECONDS``."""

    KIND: ClassVar[str] = "push-result"
    result: dict[str, Any]


CLAIM_KIND = "push-claim"


class StateBackedStore:
    """The idempotency store as a use of the state store: a claim is a lock (set-if-absent with a TTL, holding
    a random token); completion writes the result, then deletes the lock only if it still holds our token, so
    an expired lock never frees someone else's."""

    def __init__(self, state: StateStore) -> None:
        self.state = state

    def __len__(self) -> int:
        return len(cast(Sized, self.state.backend))

    def _result(self, key: str) -> dict[str, Any] | None:
        stored = self.state.read(StoredResult, key)
        return stored.result if stored is not None else None

    def claim(self, key: str, lock_ms: int, identity: str = "") -> Claim:
        stored = self._result(key)
        if _same_push(stored, identity):
            return Claim("done", result=stored)
        token = self.state.lock(CLAIM_KIND, key, max(1, lock_ms) / 1000.0)
        if token is None:
            return Claim("busy")
        # The first delivery may have completed between our read and our lock.
        stored = self._result(key)
        if _same_push(stored, identity):
            self.release(key, token)
            return Claim("done", result=stored)
        return Claim("acquired", token=token)

    def wait(self, key: str, timeout: float, identity: str = "") -> None:
        end = time.monotonic() + max(0.0, timeout)
        while True:
            if not self.state.locked(CLAIM_KIND, key) or _same_push(self._result(key), identity):
                return
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            self.state.wait(remaining)

    def complete(self, key: str, token: str, result: dict[str, Any], ttl_seconds: int) -> None:
        # The result first: a delivery that finds the lock gone then always finds the result.
        self.state.write(StoredResult(result=result), key, max(1, ttl_seconds))
        self.state.unlock(CLAIM_KIND, key, token)

    def release(self, key: str, token: str) -> None:
        self.state.unlock(CLAIM_KIND, key, token)


class MemoryStore(StateBackedStore):
    """Per warm instance, bounded (``IDEMPOTENCY_MAX_ENTRIES``), TTL'd."""

    def __init__(self, max_entries: int = 10_000, clock: Callable[[], float] | None = None) -> None:
        super().__init__(StateStore(MemoryBackend(max_entries, clock)))


class RedisStore(StateBackedStore):
    """Shared by every instance (``STATE_REDIS_URL``), every command bounded by ``timeout``."""

    def __init__(self, url: str, client: Any = None, timeout: float = 1.0) -> None:
        from shared.state.redis import RedisBackend

        super().__init__(StateStore(RedisBackend(url, client, timeout)))


# -- per warm instance --------------------------------------------------------------------------------------

_stores: dict[tuple[str, int], StateBackedStore] = {}
_stores_lock = threading.Lock()


def get_store(redis_url: str | None, max_entries: int) -> StateBackedStore:
    """The store of this warm instance, on the instance's state store (created once; Redis clients are
    reused across invocations)."""
    cache_key = (redis_url or "", max_entries)
    with _stores_lock:
        store = _stores.get(cache_key)
        if store is None:
            store = StateBackedStore(get_state(redis_url, max_entries))
            _stores[cache_key] = store
        return store


def reset_stores() -> None:
    """Forget every store (tests)."""
    with _stores_lock:
        _stores.clear()
    reset_states()
