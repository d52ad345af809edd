"""State-store fixtures: a store per backend (memory, a real redis-server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.state import StateStore, reset_states
from shared.state.memory import MemoryBackend
from tests.push_sync.conftest import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]


@pytest.fixture(autouse=True)
def _fresh_states() -> Iterator[None]:
    reset_states()
    yield
    reset_states()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> StateStore:
    if request.param == "memory":
        return StateStore(MemoryBackend())
    from shared.state.redis import RedisBackend

    return StateStore(RedisBackend(request.getfixturevalue("redis_url")))
