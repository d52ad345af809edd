"""The state store: one small interface, one file per backend (memory.py, redis.py), typed records on top.

Every key is namespaced and versioned (``swr-sync:{kind}:v{version}:{id}``): a record whose shape changes gets a
new version, and old values are simply never read again (they expire). Every value carries a TTL. Values are
validated when read back: a value that is not JSON, is of another kind or version, or does not fit its model is
logged once and treated as absent, never raised (a corrupt key must not stop a function).

A backend failure (Redis down, a timeout) raises :class:`StateUnavailable`; after one, the store fails fast for
``cooldown`` seconds instead of paying the socket timeout again on every call, and reports itself ``degraded``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.logs import jsontext
from shared.logs.logs import get_logger
from shared.swr import wirejson

PREFIX = "swr-sync"
R = TypeVar("R", bound="StateRecord")


class StateUnavailable(Exception):
    """The store could not be reached (Redis down, a timeout, a refused command)."""


class StateRecord(BaseModel):
    """A value of the store. Subclasses name their ``KIND`` and ``VERSION`` (part of the key)."""

    # defer_build: a record's validator is built when it is first read or written, so a cold start pays only
    # for the records its path uses (#22).
    model_config = ConfigDict(extra="ignore", defer_build=True)
    KIND: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1


class Backend(Protocol):
    """Raw operations on strings. Keys arrive fully namespaced; every write has a TTL."""

    name: str

    def get(self, key: str) -> str | None: ...

    def get_many(self, keys: list[str]) -> list[str | None]:
        """Several values in one round trip, in order (None for an absent key)."""

    def set(self, key: str, value: str, ttl_ms: int, only_if_absent: bool = False) -> bool:
        """Write; with ``only_if_absent`` only when the key does not exist. True if written."""

    def delete(self, key: str, only_if: str | None = None) -> bool:
        """Delete (only if its value equals ``only_if`` when given). True if deleted."""

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
        """Atomically: write (see :meth:`set`) and, if written, add ``member`` to ``index``."""

    def incr(self, key: str, ttl_ms: int) -> int:
        """Add one and return the new value; the TTL is set when the counter is created."""

    def index_add(self, key: str, member: str, score: float, ttl_ms: int) -> None:
        """Add ``member`` to a sorted index (and refresh the index's TTL)."""

    def index_range(self, key: str, limit: int) -> list[tuple[str, float]]:
        """The ``limit`` members with the lowest scores, lowest first."""

    def index_remove(self, key: str, member: str) -> None: ...

    def index_size(self, key: str) -> int: ...

    def push_bounded(self, key: str, value: str, keep: int, ttl_ms: int) -> None:
        """Prepend ``value`` to a list cut to its ``keep`` newest items."""

    def newest(self, key: str, count: int) -> list[str]: ...

    def wait(self, timeout: float) -> None:
        """Sleep until something may have changed, at most ``timeout`` seconds."""

    def ping(self) -> None: ...


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class StateStore:
    """Typed records over a :class:`Backend`: namespaced keys, TTLs, validation on read, fail-fast when down."""

    def __init__(
        self,
        backend: Backend,
        prefix: str = PREFIX,
        cooldown: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.prefix = prefix
        self.cooldown = cooldown
        self._clock = clock
        self._down_until = 0.0
        self.failures = 0
        self.corrupt = 0

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def degraded(self) -> bool:
        """True once any call failed in this store's life (the run reports it)."""
        return self.failures > 0

    def key(self, kind: str, ident: str, version: int = 1) -> str:
        return f"{self.prefix}:{kind}:v{version}:{ident}"

    def _call(self, fn: Callable[[], Any]) -> Any:
        if self._clock() < self._down_until:
            raise StateUnavailable(f"{self.name} store unavailable (failing fast after an error)")
        try:
            return fn()
        except StateUnavailable:
            self._failed()
            raise
        except Exception as err:  # redis errors, socket errors: the store is unusable for now
            self._failed()
            raise StateUnavailable(f"{self.name} store: {type(err).__name__}") from None

    def _failed(self) -> None:
        self.failures += 1
        self._down_until = self._clock() + self.cooldown

    # -- typed records ------------------------------------------------------------------------------------------

    def _record_key(self, model: type[StateRecord], ident: str) -> str:
        return self.key(model.KIND, ident, model.VERSION)

    def read(self, model: type[R], ident: str) -> R | None:
        """The record, or None if absent or unreadable (logged)."""
        key = self._record_key(model, ident)
        raw = self._call(lambda: self.backend.get(key))
        return None if raw is None else self._decode(model, raw, key)

    def read_many(self, model: type[R], idents: list[str]) -> list[R | None]:
        """Like :meth:`read` for each ident, in one round trip."""
        keys = [self._record_key(model, ident) for ident in idents]
        raws = self._call(lambda: self.backend.get_many(keys)) if keys else []
        return [
            None if raw is None else self._decode(model, raw, key)
            for raw, key in zip(raws, keys, strict=True)
        ]

    def _decode(self, model: type[R], raw: str, key: str) -> R | None:
        try:
            # wirejson, not pydantic's parser: a name from a hostile push may hold an escaped lone surrogate, and
            # a corrupt value may nest deeply or hold NaN (every failure is a JsonError, a ValueError).
            return model.model_validate(wirejson.loads(raw))
        except (ValidationError, ValueError, RecursionError) as err:
            self.corrupt += 1
            get_logger().warning(
                "state value unreadable: treated as absent",
                key=key[:200],
                error=type(err).__name__,
                detail=str(err).splitlines()[0][:200],
            )
            return None

    def write(self, record: StateRecord, ident: str, ttl: float, only_if_absent: bool = False) -> bool:
        key = self._record_key(type(record), ident)
        value = _encode(record)
        return bool(self._call(lambda: self.backend.set(key, value, _ms(ttl), only_if_absent)))

    def write_indexed(
        self,
        record: StateRecord,
        ident: str,
        ttl: float,
        index_kind: str,
        score: float,
        index_ttl: float,
        only_if_absent: bool = False,
    ) -> bool:
        """Write a record and list it in an index in one step: no record is ever written but left unlisted."""
        key = self._record_key(type(record), ident)
        value, index = _encode(record), self.key(index_kind, "index")
        return bool(
            self._call(
                lambda: self.backend.set_indexed(
                    key, value, _ms(ttl), index, ident, score, _ms(index_ttl), only_if_absent
                )
            )
        )

    def remove(self, model: type[StateRecord], ident: str) -> None:
        key = self._record_key(model, ident)
        self._call(lambda: self.backend.delete(key))

    # -- markers, locks, counters -------------------------------------------------------------------------------

    def once(self, kind: str, ident: str, ttl: float) -> bool:
        """True for the first caller within ``ttl`` (across every instance sharing the backend)."""
        key = self.key(kind, ident)
        return bool(self._call(lambda: self.backend.set(key, "1", _ms(ttl), only_if_absent=True)))

    def lock(self, kind: str, ident: str, ttl: float) -> str | None:
        """A token if we took the lock, None if someone holds it. It expires by itself after ``ttl``."""
        key, token = self.key(kind, ident), uuid.uuid4().hex
        taken = self._call(lambda: self.backend.set(key, token, _ms(ttl), only_if_absent=True))
        return token if taken else None

    def locked(self, kind: str, ident: str) -> bool:
        key = self.key(kind, ident)
        return self._call(lambda: self.backend.get(key)) is not None

    def unlock(self, kind: str, ident: str, token: str) -> None:
        """Release our lock only (an expired one may be someone else's by now)."""
        key = self.key(kind, ident)
        self._call(lambda: self.backend.delete(key, only_if=token))

    def count(self, kind: str, ident: str, ttl: float) -> int:
        key = self.key(kind, ident)
        return int(self._call(lambda: self.backend.incr(key, _ms(ttl))))

    def counter(self, kind: str, ident: str) -> int:
        """The counter's value (0 if absent or unreadable)."""
        key = self.key(kind, ident)
        raw = self._call(lambda: self.backend.get(key))
        return int(raw) if isinstance(raw, str) and raw.isdigit() else 0

    # -- indexes and bounded histories --------------------------------------------------------------------------

    def index_add(self, kind: str, member: str, score: float, ttl: float) -> None:
        key = self.key(kind, "index")
        self._call(lambda: self.backend.index_add(key, member, score, _ms(ttl)))

    def index_oldest(self, kind: str, limit: int) -> list[tuple[str, float]]:
        key = self.key(kind, "index")
        return list(self._call(lambda: self.backend.index_range(key, limit)))

    def index_remove(self, kind: str, member: str) -> None:
        key = self.key(kind, "index")
        self._call(lambda: self.backend.index_remove(key, member))

    def index_size(self, kind: str) -> int:
        key = self.key(kind, "index")
        return int(self._call(lambda: self.backend.index_size(key)))

    def push_recent(self, record: StateRecord, ident: str, keep: int, ttl: float) -> None:
        key = self._record_key(type(record), ident)
        value = _encode(record)
        self._call(lambda: self.backend.push_bounded(key, value, keep, _ms(ttl)))

    def recent(self, model: type[R], ident: str, count: int) -> list[R]:
        """The ``count`` newest records, newest first; unreadable ones are skipped (logged)."""
        key = self._record_key(model, ident)
        raws = self._call(lambda: self.backend.newest(key, count))
        return [r for r in (self._decode(model, raw, key) for raw in raws) if r is not None]

    def wait(self, timeout: float) -> None:
        self.backend.wait(timeout)

    def ping(self) -> None:
        self._call(self.backend.ping)


def _encode(record: StateRecord) -> str:
    """Always encodable text: a lone surrogate (from a hostile push) is escaped, not a failed write."""
    return jsontext.dumps(record.model_dump(mode="json"))
