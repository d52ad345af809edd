"""Redis backend (``STATE_REDIS_URL``; the ``redis`` extra). Every command (connect, send and the whole reply)
is bounded by ``timeout`` and by the invocation's end (shared/state/deadline.py), so a dead, stalled or trickling
Redis costs at most ``timeout`` seconds per call and never holds a function past its deadline.

redis-py is imported lazily: only deployments that set a Redis URL need it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from shared.state import deadline
from shared.state.base import StateUnavailable

T = TypeVar("T")

_DELETE_IF = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
_INCR = """
local v = redis.call('incr', KEYS[1])
if v == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end
return v
"""
_SET_INDEXED = """
local written
if ARGV[6] == '1' then
  written = redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX')
else
  written = redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
if not written then return 0 end
redis.call('zadd', KEYS[2], ARGV[3], ARGV[4])
redis.call('pexpire', KEYS[2], ARGV[5])
return 1
"""
_PUSH = """
redis.call('lpush', KEYS[1], ARGV[1])
redis.call('ltrim', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('pexpire', KEYS[1], ARGV[3])
return 1
"""


def _client(url: str, timeout: float) -> Any:
    """A redis-py client whose sockets honour the command deadline; never retried inside redis-py (one
    command, one deadline: the callers decide, fail open in push-sync, degraded run in job-monitor)."""
    try:
        import redis
        from redis.connection import Connection, SSLConnection, UnixDomainSocketConnection
    except ImportError as err:  # pragma: no cover - depends on the install
        raise StateUnavailable(
            "STATE_REDIS_URL is set but redis-py is not installed (extra 'redis')"
        ) from err
    base = {"rediss": SSLConnection, "unix": UnixDomainSocketConnection}.get(
        url.partition(":")[0], Connection
    )

    class DeadlineConnection(base):  # type: ignore[misc,valid-type]
        def _connect(self) -> Any:
            return deadline.DeadlineSocket(super()._connect())

    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        connection_class=DeadlineConnection,
        retry=None,
        retry_on_error=[],
        retry_on_timeout=False,
        decode_responses=True,
    )


class _Bounded:
    """Runs each command inside :func:`deadline.command`: by ``timeout`` and by the invocation's end."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout

    def run(self, fn: Callable[[], T]) -> T:
        with deadline.command(self._timeout):
            return fn()


class RedisBackend:
    name = "redis"
    poll_interval = 0.05

    def __init__(self, url: str, client: Any = None, timeout: float = 1.0) -> None:
        raw = client if client is not None else _client(url, timeout)
        self._bounded = _Bounded(timeout)
        self._r = _CommandProxy(raw, self._bounded)
        client = raw
        self._delete_if = _bound_script(client.register_script(_DELETE_IF), self._bounded)
        self._incr = _bound_script(client.register_script(_INCR), self._bounded)
        self._push = _bound_script(client.register_script(_PUSH), self._bounded)
        self._set_indexed = _bound_script(client.register_script(_SET_INDEXED), self._bounded)

    @staticmethod
    def _text(raw: Any) -> str | None:
        if raw is None:
            return None
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)

    def get(self, key: str) -> str | None:
        return self._text(self._r.get(key))

    def get_many(self, keys: list[str]) -> list[str | None]:
        return [self._text(v) for v in self._r.mget(keys)] if keys else []

    def set(self, key: str, value: str, ttl_ms: int, only_if_absent: bool = False) -> bool:
        return bool(self._r.set(key, value, px=max(1, ttl_ms), nx=only_if_absent))

    def delete(self, key: str, only_if: str | None = None) -> bool:
        if only_if is None:
            return bool(self._r.delete(key))
        return bool(self._delete_if(keys=[key], args=[only_if]))

    def set_indexed(
        self,
        key: str,
        value: str,
        ttl_ms: int,
        index: str,
        member: str,
        score: float,
        index_ttl_ms: int,
        only_if_absent: bool = False,
    ) -> bool:
        args = [value, max(1, ttl_ms), score, member, max(1, index_ttl_ms), "1" if only_if_absent else "0"]
        return bool(self._set_indexed(keys=[key, index], args=args))

    def incr(self, key: str, ttl_ms: int) -> int:
        return int(self._incr(keys=[key], args=[max(1, ttl_ms)]))

    def index_add(self, key: str, member: str, score: float, ttl_ms: int) -> None:
        pipe = self._r.pipeline(transaction=True)
        pipe.zadd(key, {member: score})
        pipe.pexpire(key, max(1, ttl_ms))
        pipe.execute()

    def index_range(self, key: str, limit: int) -> list[tuple[str, float]]:
        if limit <= 0:
            return []
        rows = self._r.zrange(key, 0, limit - 1, withscores=True)
        return [(self._text(m) or "", float(s)) for m, s in rows]

    def index_remove(self, key: str, member: str) -> None:
        self._r.zrem(key, member)

    def index_size(self, key: str) -> int:
        return int(self._r.zcard(key))

    def push_bounded(self, key: str, value: str, keep: int, ttl_ms: int) -> None:
        self._push(keys=[key], args=[value, max(1, keep), max(1, ttl_ms)])

    def newest(self, key: str, count: int) -> list[str]:
        if count <= 0:
            return []
        return [self._text(v) or "" for v in self._r.lrange(key, 0, count - 1)]

    def wait(self, timeout: float) -> None:
        time.sleep(max(0.0, min(self.poll_interval, timeout)))

    def ping(self) -> None:
        self._r.ping()


class _CommandProxy:
    """The client with every method call bounded (a pipeline is bounded when it executes)."""

    def __init__(self, client: Any, bounded: _Bounded) -> None:
        self._client = client
        self._bounded = bounded

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name == "pipeline":
            return lambda *a, **k: _PipelineProxy(attr(*a, **k), self._bounded)
        if not callable(attr):
            return attr
        return lambda *a, **k: self._bounded.run(lambda: attr(*a, **k))


class _PipelineProxy:
    def __init__(self, pipe: Any, bounded: _Bounded) -> None:
        self._pipe = pipe
        self._bounded = bounded

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipe, name)

    def execute(self) -> Any:
        return self._bounded.run(self._pipe.execute)


def _bound_script(script: Any, bounded: _Bounded) -> Callable[..., Any]:
    return lambda *a, **k: bounded.run(lambda: script(*a, **k))
