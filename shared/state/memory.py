"""In-memory backend: one warm instance (and tests). Bounded (oldest keys evicted first), every value TTL'd.

What it cannot give: state shared between instances or surviving a cold start (see README, "Without Redis").
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class MemoryBackend:
    name = "memory"

    def __init__(self, max_entries: int = 100_000, clock: Callable[[], float] | None = None) -> None:
        self.max_entries = max_entries
        self._clock = clock or time.monotonic
        self._values: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._indexes: dict[str, tuple[float, dict[str, float]]] = {}
        self._lists: dict[str, tuple[float, list[str]]] = {}
        self._cond = threading.Condition()

    def __len__(self) -> int:
        return len(self._values)

    def _expiry(self, ttl_ms: int) -> float:
        return self._clock() + ttl_ms / 1000.0

    def _live(self, key: str) -> str | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._values[key]
            return None
        self._values.move_to_end(key)
        return entry[1]

    def _put(self, key: str, value: str, ttl_ms: int) -> None:
        self._values[key] = (self._expiry(ttl_ms), value)
        self._values.move_to_end(key)
        while len(self._values) > self.max_entries:
            self._values.popitem(last=False)
        self._cond.notify_all()

    def get(self, key: str) -> str | None:
        with self._cond:
            return self._live(key)

    def get_many(self, keys: list[str]) -> list[str | None]:
        with self._cond:
            return [self._live(key) for key in keys]

    def set(self, key: str, value: str, ttl_ms: int, only_if_absent: bool = False) -> bool:
        with self._cond:
            if only_if_absent and self._live(key) is not None:
                return False
            self._put(key, value, ttl_ms)
            return True

    def delete(self, key: str, only_if: str | None = None) -> bool:
        with self._cond:
            current = self._live(key)
            if current is None or (only_if is not None and current != only_if):
                return False
            del self._values[key]
            self._cond.notify_all()
            return True

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
        with self._cond:
            if not self.set(key, value, ttl_ms, only_if_absent):
                return False
            self.index_add(index, member, score, index_ttl_ms)
            return True

    def incr(self, key: str, ttl_ms: int) -> int:
        with self._cond:
            current = self._live(key)
            value = int(current) + 1 if current is not None else 1
            entry = self._values.get(key)
            expires = entry[0] if entry is not None else self._expiry(ttl_ms)
            self._values[key] = (expires, str(value))
            return value

    def _index(self, key: str) -> dict[str, float]:
        entry = self._indexes.get(key)
        if entry is None or entry[0] <= self._clock():
            self._indexes.pop(key, None)
            return {}
        return entry[1]

    def index_add(self, key: str, member: str, score: float, ttl_ms: int) -> None:
        with self._cond:
            members = self._index(key)
            members[member] = score
            self._indexes[key] = (self._expiry(ttl_ms), members)

    def index_range(self, key: str, limit: int) -> list[tuple[str, float]]:
        with self._cond:
            members = self._index(key)
            return sorted(members.items(), key=lambda kv: (kv[1], kv[0]))[: max(0, limit)]

    def index_remove(self, key: str, member: str) -> None:
        with self._cond:
            self._index(key).pop(member, None)

    def index_size(self, key: str) -> int:
        with self._cond:
            return len(self._index(key))

    def push_bounded(self, key: str, value: str, keep: int, ttl_ms: int) -> None:
        with self._cond:
            entry = self._lists.get(key)
            items = entry[1] if entry is not None and entry[0] > self._clock() else []
            items.insert(0, value)
            del items[max(1, keep) :]
            self._lists[key] = (self._expiry(ttl_ms), items)

    def newest(self, key: str, count: int) -> list[str]:
        with self._cond:
            entry = self._lists.get(key)
            if entry is None or entry[0] <= self._clock():
                return []
            return list(entry[1][: max(0, count)])

    def wait(self, timeout: float) -> None:
        with self._cond:
            self._cond.wait(max(0.0, min(timeout, 0.05)))

    def ping(self) -> None:
        return None
