"""Checks of the state store's settings, shared by the functions that use it."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping

from shared.swr.secreturl import url_problems

REDIS_SCHEMES = ("redis", "rediss", "unix")


def redis_url_problems(urls: Mapping[str, str | None]) -> list[str]:
    """Problems of the Redis URL settings given by name (``{"STATE_REDIS_URL": value, ...}``): the secret-safe
    URL checks of :func:`shared.swr.secreturl.url_problems` (never quoting the value), then redis-py's presence."""
    problems: list[str] = []
    for name, url in urls.items():
        if not url:
            continue
        found = url_problems(name, url, REDIS_SCHEMES)
        if found:
            problems.extend(found)
        elif importlib.util.find_spec("redis") is None:
            problems.append(f"{name}: set, but redis-py is not installed (install swr-sync[redis])")
    return problems
