"""The base every resource of the state builds on: configuration, the lock, the clock, id counters, save on change.

Job status is a pure function of the clock: a job is ``waiting`` for ``waiting_seconds`` after it was created,
then ``running`` for ``running_seconds``, then it finishes; its outcome is applied (image copied to the target
region) once, the first time anything looks at the state after that moment (see :meth:`StateCore.advance`, which
``jobs.py`` fills in).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from .common import Clock, utcnow


class StateCore:
    """Configuration and plumbing; each resource mixin adds its records and methods on top of it."""

    _counters: dict[str, int]

    def __init__(
        self,
        regions: tuple[str, ...] | list[str],
        default_region: str | None,
        clock: Clock | None,
        waiting_seconds: float,
        running_seconds: float,
        state_file: str | os.PathLike[str] | None,
    ) -> None:
        if not regions:
            raise ValueError("at least one region is required")
        self.regions: tuple[str, ...] = tuple(regions)
        self.default_region = default_region or self.regions[0]
        if self.default_region not in self.regions:
            raise ValueError(f"default region {self.default_region!r} is not in regions")
        self._clock = clock
        self.waiting_seconds = float(waiting_seconds)
        self.running_seconds = float(running_seconds)
        self.state_file = Path(state_file) if state_file else None
        self.lock = threading.RLock()
        self._depth = 0
        self._dirty = False

    def now(self) -> datetime:
        value = (self._clock or utcnow)()
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value

    def _next(self, name: str) -> int:
        self._counters[name] += 1
        return self._counters[name]

    @contextmanager
    def mutating(self) -> Iterator[None]:
        """Lock, and save the state file once the outermost mutation ends."""
        with self.lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                self._dirty = True
                if self._depth == 0:
                    self.flush()

    def flush(self) -> None:
        """Write the state file if something changed (no-op without a state file)."""
        with self.lock:
            if self.state_file is not None and self._dirty:
                self.save(self.state_file)
            self._dirty = False

    def _clear(self) -> None:
        """Forget every resource's records; the container (``container.py``) composes this."""
        raise NotImplementedError

    def advance(self) -> None:
        """Apply what the clock has made due; the sync jobs fill this in (see ``jobs.py``)."""

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state file; the persistence mixin fills this in (see ``persistence.py``)."""
        raise NotImplementedError
