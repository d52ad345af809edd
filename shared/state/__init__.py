"""One state store for every function: Redis when ``STATE_REDIS_URL`` is set, else memory (one warm instance).

``IDEMPOTENCY_REDIS_URL`` is the deprecated name of ``STATE_REDIS_URL`` (still read, with a warning): set
``STATE_REDIS_URL`` to the same URL; the keys are new (``swr-sync:{kind}:v1:...``), so results stored under the
old ``swr-sync:push-sync:v2:`` keys are not read again (they expire within ``IDEMPOTENCY_WINDOW_SECONDS``;
at worst a redelivery within that window re-syncs once, which SWR answers as an ``existed`` job).
"""

from __future__ import annotations

import threading

from shared.state.base import StateRecord, StateStore, StateUnavailable
from shared.state.memory import MemoryBackend

__all__ = ["StateRecord", "StateStore", "StateUnavailable", "get_state", "reset_states"]

_states: dict[str, StateStore] = {}
_lock = threading.Lock()


def get_state(redis_url: str | None, max_entries: int = 100_000, timeout: float = 1.0) -> StateStore:
    """The store of this warm instance, created once (Redis clients and memory are reused by invocations).

    Raises :class:`StateUnavailable` if Redis is configured but redis-py is missing.
    """
    # One memory store per process whatever the bound asked: functions sharing a process share their state.
    cache_key = redis_url or ""
    with _lock:
        store = _states.get(cache_key)
        if store is None:
            if redis_url:
                from shared.state.redis import RedisBackend

                store = StateStore(RedisBackend(redis_url, timeout=timeout))
            else:
                store = StateStore(MemoryBackend(max_entries))
            _states[cache_key] = store
        return store


def reset_states() -> None:
    """Forget every store (tests; a new warm instance)."""
    with _lock:
        _states.clear()
