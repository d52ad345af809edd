"""Bounds of paged listings, by count and by progress (light: no pydantic, importable by any module)."""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable

from shared.swr.errors import SwrSyncError


class ListingIncomplete(SwrSyncError):
    """A paged listing stopped before its end: ``reason`` is ``no_progress`` (the server sent no item not seen
    before: it ignores ``offset`` or repeats itself) or ``page_limit`` (the page budget ran out first)."""

    def __init__(self, reason: str, message: str, path: str = "") -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"GET {path}: {message}" if path else message)


class PageBudget:
    """Pages a whole scan may read, shared by its threads: a listing that never ends cannot outlast it."""

    def __init__(self, pages: int | None) -> None:
        self._left = pages
        self._lock = threading.Lock()
        self.used = 0

    def take(self) -> bool:
        """Count one page; False (and nothing counted) when the budget is spent."""
        with self._lock:
            if self._left is not None and self._left <= 0:
                return False
            if self._left is not None:
                self._left -= 1
            self.used += 1
            return True


class Progress:
    """Whether each page of a listing brought an item not seen on an earlier page."""

    def __init__(self) -> None:
        self._seen: set[Hashable] = set()

    def advanced(self, keys: Iterable[Hashable]) -> bool:
        before = len(self._seen)
        self._seen.update(keys)
        return len(self._seen) > before
