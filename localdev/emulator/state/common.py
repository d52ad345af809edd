"""What every part of the emulator's state shares: its constants, SWR's time format, ids, and its errors."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

Clock = Callable[[], datetime]

DEFAULT_REGIONS = ("cn-north-4", "ap-southeast-1", "ap-southeast-3")


def utcnow() -> datetime:
    """Default clock, looked up at call time so freezegun controls it."""
    return datetime.now(timezone.utc)


def fmt_time(value: datetime) -> str:
    """SWR's time format: ``2020-03-12T08:11:36.518144Z``."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def stable_id(*parts: str) -> str:
    """A deterministic 32-hex id (IAM style) derived from names."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]


def random_digest() -> str:
    return "sha256:" + secrets.token_hex(32)


class Listing(list[dict[str, Any]]):
    """A snapshot list that may also be called: ``state.jobs`` and ``state.jobs()`` are the same."""

    def __call__(self) -> Listing:
        return self


class StateError(Exception):
    """A Python-API or admin-API misuse (unknown job, bad status...)."""
