"""Idempotency of push deliveries: a redelivered push syncs nothing new and gets the first answer again.

Key: (namespace, repository, tag, targets); the stored result also records the push's identity (its digest, or
the source's push identity). A delivery is a duplicate only if the last push synced for that tag has the same
identity: a tag moved back to an earlier digest (a rollback: A, then B, then A again) is synced again, while a
late redelivery of an older push costs one harmless ``sync_images`` (SWR copies the tag as it is now). Only
successful results are stored (for ``IDEMPOTENCY_WINDOW_SECONDS``); a failed sync releases its claim so a
redelivery retries it.

Stores:

- :class:`MemoryStore` (default): per warm instance, bounded (LRU, ``IDEMPOTENCY_MAX_ENTRIES``), TTL'd. Protects
  against redeliveries that reach the same instance, and concurrent duplicates inside one process.
- :class:`RedisStore` (``IDEMPOTENCY_REDIS_URL``; needs the ``redis`` extra): shared by every instance. A claim is
  an in-progress lock ``SET key NX PX <ttl>`` holding a random token; completion writes the result and deletes
  the lock only if it still holds our token (compare-and-delete in Lua), so an expired lock never frees someone
  else's.

A second delivery that finds the push in progress waits up to ``IDEMPOTENCY_WAIT_SECONDS`` for the first to
finish (then answers ``duplicate``, or takes over if the first failed); if it is still running, the tag is
reported ``in_progress`` (HTTP 409 with ``Retry-After``), so the registry redelivers later.

If Redis is unreachable, deliveries proceed without idempotency (fail open: a duplicate ``sync_images`` is
harmless, a lost sync is not) and a warning is logged.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from shared import wirejson
from shared.rules import Target

KEY_PREFIX = "swr-sync:push-sync:v2:"  # v2: one key per tag and targets, the identity in the stored result
ClaimState = Literal["acquired", "done", "busy"]


class StoreUnavailable(Exception):
    """The store could not be reached (Redis down, timeout)."""


@dataclass(frozen=True)
class Claim:
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
    return KEY_PREFIX + digest


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


# -- in memory ----------------------------------------------------------------------------------------------


class MemoryStore:
    def __init__(self, max_entries: int = 10_000, clock: Callable[[], float] | None = None) -> None:
        self.max_entries = max_entries
        self._clock = clock or (lambda: time.monotonic())
        self._results: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._locks: dict[str, tuple[float, str]] = {}
        self._cond = threading.Condition()

    def __len__(self) -> int:
        return len(self._results)

    def _result(self, key: str, now: float) -> dict[str, Any] | None:
        entry = self._results.get(key)
        if entry is None:
            return None
        if entry[0] <= now:
            del self._results[key]
            return None
        self._results.move_to_end(key)
        return entry[1]

    def _lock(self, key: str, now: float) -> tuple[float, str] | None:
        lock = self._locks.get(key)
        if lock is not None and lock[0] <= now:
            del self._locks[key]
            return None
        return lock

    def claim(self, key: str, lock_ms: int, identity: str = "") -> Claim:
        with self._cond:
            now = self._clock()
            result = self._result(key, now)
            if _same_push(result, identity):
                return Claim("done", result=result)
            if self._lock(key, now) is not None:
                return Claim("busy")
            token = uuid.uuid4().hex
            self._locks[key] = (now + lock_ms / 1000.0, token)
            return Claim("acquired", token=token)

    def wait(self, key: str, timeout: float, identity: str = "") -> None:
        end = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while True:
                now = self._clock()
                if _same_push(self._result(key, now), identity) or self._lock(key, now) is None:
                    return
                remaining = end - time.monotonic()
                if remaining <= 0:
                    return
                self._cond.wait(min(remaining, 0.05))

    def complete(self, key: str, token: str, result: dict[str, Any], ttl_seconds: int) -> None:
        with self._cond:
            now = self._clock()
            self._results[key] = (now + ttl_seconds, result)
            self._results.move_to_end(key)
            while len(self._results) > self.max_entries:
                self._results.popitem(last=False)
            self._drop_lock(key, token)
            self._cond.notify_all()

    def release(self, key: str, token: str) -> None:
        with self._cond:
            self._drop_lock(key, token)
            self._cond.notify_all()

    def _drop_lock(self, key: str, token: str) -> None:
        lock = self._locks.get(key)
        if lock is not None and lock[1] == token:
            del self._locks[key]


# -- redis --------------------------------------------------------------------------------------------------

_RELEASE_LUA = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
_COMPLETE_LUA = """
redis.call('set', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
if redis.call('get', KEYS[2]) == ARGV[1] then
  redis.call('del', KEYS[2])
end
return 1
"""


# The monotonic time by which the current Redis command must be answered (set by RedisStore._do), and the
# invocation's own end (set by the handler with ``bounded_by``): a command never outlives either.
_COMMAND_END: contextvars.ContextVar[float | None] = contextvars.ContextVar("redis_command_end", default=None)
_INVOCATION_END: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "redis_invocation_end", default=None
)


@contextlib.contextmanager
def bounded_by(end: float | None) -> Any:
    """Every store command inside the block ends by the monotonic time ``end`` (the invocation's deadline)."""
    reset = _INVOCATION_END.set(end)
    try:
        yield
    finally:
        _INVOCATION_END.reset(reset)


def within_invocation(seconds: float) -> bool:
    """Whether ``seconds`` from now is still before the invocation's end (always, outside :func:`bounded_by`)."""
    end = _INVOCATION_END.get()
    return end is None or time.monotonic() + seconds < end


class _DeadlineSocket:
    """A socket whose reads and writes together end by the current command's end (:data:`_COMMAND_END`).

    redis-py's ``socket_timeout`` applies to each ``recv``: a server that trickles a reply one byte at a time
    never trips it. Before each operation the timeout is set to the time the command has left.
    """

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._timeout: float | None = sock.gettimeout()  # what redis-py asked for (0: a non-blocking poll)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def settimeout(self, value: float | None) -> None:
        self._timeout = value
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def _arm(self) -> None:
        end = _COMMAND_END.get()
        if end is None:
            self._sock.settimeout(self._timeout)
            return
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the Redis command's deadline passed")
        self._sock.settimeout(remaining if self._timeout is None else min(self._timeout, remaining))

    def recv(self, *args: Any) -> Any:
        self._arm()
        return self._sock.recv(*args)

    def recv_into(self, *args: Any) -> Any:
        self._arm()
        return self._sock.recv_into(*args)

    def sendall(self, *args: Any) -> Any:
        self._arm()
        return self._sock.sendall(*args)


def _redis_client(url: str, timeout: float) -> Any:
    """A redis-py client whose every command is bounded as a whole, not per ``recv``; never retried inside
    redis-py (one command, one deadline: the store fails open instead)."""
    try:
        import redis
        from redis.connection import Connection, SSLConnection, UnixDomainSocketConnection
    except ImportError as err:  # pragma: no cover - depends on the install
        raise StoreUnavailable(
            "IDEMPOTENCY_REDIS_URL is set but redis-py is not installed (extra 'redis')"
        ) from err

    base = {"rediss": SSLConnection, "unix": UnixDomainSocketConnection}.get(
        url.partition(":")[0], Connection
    )

    class DeadlineConnection(base):  # type: ignore[misc,valid-type]
        def _connect(self) -> Any:
            return _DeadlineSocket(super()._connect())

    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        connection_class=DeadlineConnection,
        retry=None,
        retry_on_error=[],
    )


class RedisStore:
    """Shared store on Redis (redis-py imported lazily: the ``redis`` extra is optional).

    Each command (connect, send and the whole reply) is bounded by ``timeout`` and by the invocation's deadline
    (:func:`bounded_by`); one that overruns is a :class:`StoreUnavailable`.
    """

    poll_interval = 0.05

    def __init__(self, url: str, client: Any = None, timeout: float = 1.0) -> None:
        self._timeout = timeout
        if client is None:
            client = _redis_client(url, timeout)
        self._r = client
        self._release = client.register_script(_RELEASE_LUA)
        self._complete = client.register_script(_COMPLETE_LUA)

    @staticmethod
    def _keys(key: str) -> tuple[str, str]:
        return key + ":result", key + ":lock"

    def _do(self, fn: Callable[[], Any]) -> Any:
        end = time.monotonic() + self._timeout
        invocation_end = _INVOCATION_END.get()
        if invocation_end is not None:
            end = min(end, invocation_end)
        reset = _COMMAND_END.set(end)
        try:
            if end <= time.monotonic():
                raise TimeoutError("no time left for the command")
            return fn()
        except Exception as err:  # redis.exceptions.RedisError and socket errors: the store is unusable
            raise StoreUnavailable(f"redis: {type(err).__name__}") from None
        finally:
            _COMMAND_END.reset(reset)

    def _load(self, raw: Any) -> dict[str, Any] | None:
        if raw is None:
            return None
        try:
            value = wirejson.loads(raw)
        except (TypeError, ValueError):  # wirejson.JsonError included: a value we cannot read is no result
            return None
        return value if isinstance(value, dict) else None

    def claim(self, key: str, lock_ms: int, identity: str = "") -> Claim:
        result_key, lock_key = self._keys(key)
        stored = self._load(self._do(lambda: self._r.get(result_key)))
        if _same_push(stored, identity):
            return Claim("done", result=stored)
        token = uuid.uuid4().hex
        if not self._do(lambda: self._r.set(lock_key, token, nx=True, px=max(1, lock_ms))):
            return Claim("busy")
        # The first delivery may have completed between our GET and SET.
        stored = self._load(self._do(lambda: self._r.get(result_key)))
        if _same_push(stored, identity):
            self.release(key, token)
            return Claim("done", result=stored)
        return Claim("acquired", token=token)

    def wait(self, key: str, timeout: float, identity: str = "") -> None:
        result_key, lock_key = self._keys(key)
        end = time.monotonic() + max(0.0, timeout)
        while True:
            if not self._do(lambda: self._r.exists(lock_key)):
                return
            if _same_push(self._load(self._do(lambda: self._r.get(result_key))), identity):
                return
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(self.poll_interval, remaining))

    def complete(self, key: str, token: str, result: dict[str, Any], ttl_seconds: int) -> None:
        result_key, lock_key = self._keys(key)
        payload = json.dumps(result, separators=(",", ":"), default=str)
        self._do(
            lambda: self._complete(keys=[result_key, lock_key], args=[token, payload, max(1, ttl_seconds)])
        )

    def release(self, key: str, token: str) -> None:
        _, lock_key = self._keys(key)
        self._do(lambda: self._release(keys=[lock_key], args=[token]))


# -- per warm instance --------------------------------------------------------------------------------------

_stores: dict[tuple[str, int], Store] = {}
_stores_lock = threading.Lock()


def get_store(redis_url: str | None, max_entries: int) -> Store:
    """The store of this warm instance (created once; Redis clients are reused across invocations)."""
    cache_key = (redis_url or "", max_entries)
    with _stores_lock:
        store = _stores.get(cache_key)
        if store is None:
            store = RedisStore(redis_url) if redis_url else MemoryStore(max_entries)
            _stores[cache_key] = store
        return store


def reset_stores() -> None:
    """Forget every store (tests)."""
    with _stores_lock:
        _stores.clear()
