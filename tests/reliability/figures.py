"""Figures the reliability suite measures (cells passed, examples run, leaks, memory), printed at the end of the
pytest run by ``tests/reliability/conftest.py`` and written as JSON when ``RELIABILITY_FIGURES=<path>`` is set."""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
FIGURES: dict[str, Any] = {}


def add(name: str, amount: int = 1) -> None:
    with _lock:
        FIGURES[name] = int(FIGURES.get(name, 0)) + amount


def note(name: str, value: Any) -> None:
    with _lock:
        FIGURES[name] = value


def peak(name: str, value: float) -> None:
    with _lock:
        FIGURES[name] = max(value, FIGURES.get(name, value))


def snapshot() -> dict[str, Any]:
    with _lock:
        return dict(sorted(FIGURES.items()))
