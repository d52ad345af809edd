"""Checks of the state store's settings, shared by the functions that use it."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def redis_url_problems(urls: Mapping[str, str | None]) -> list[str]:
    """Problems of the Redis URL settings given by name (``{"STATE_REDIS_URL": value, ...}``)."""
    problems: list[str] = []
    for name, url in urls.items():
        if not url:
            continue
        if not url.startswith(REDIS_SCHEMES):
            problems.append(f"{name}: must be a redis://, rediss:// or unix:// URL")
        elif importlib.util.find_spec("redis") is None:
            problems.append(f"{name}: set, but redis-py is not installed (install swr-sync[redis])")
    return problems
