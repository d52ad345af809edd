"""The documented generic form, for scripts and CI: ``{"namespace", "repository", "tags": [...], "digest"?}``.

``repository`` is the SWR repository name without the namespace (may contain ``/``); ``digest`` is optional and
makes redeliveries recognisable (without it every delivery syncs again).
"""

from __future__ import annotations

from typing import Any

from functions.push_sync.model import ParseResult, PayloadError
from functions.push_sync.parsers.common import DIGEST_FORM, DIGEST_RE, add_push

FORMAT = "generic"
KEYS = {"namespace", "repository", "tags", "digest"}


def looks_like(data: dict[str, Any]) -> bool:
    return "tags" in data and "namespace" in data and "repository" in data


def parse(data: dict[str, Any]) -> ParseResult:
    unknown = sorted(k[:40] for k in set(data) - KEYS)
    if unknown:
        raise PayloadError(f"generic payload: unknown key(s) {unknown[:10]} (allowed: {sorted(KEYS)})")
    tags = data.get("tags")
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
        raise PayloadError("generic payload: 'tags' must be a non-empty list of strings")
    for key in ("namespace", "repository"):
        if not isinstance(data.get(key), str):
            raise PayloadError(f"generic payload: {key!r} must be a string")
    digest = data.get("digest", "")
    if not isinstance(digest, str) or (digest and not DIGEST_RE.fullmatch(digest)):
        raise PayloadError(f"generic payload: 'digest' must be a string like {DIGEST_FORM}")
    result = ParseResult(FORMAT)
    for tag in tags:
        add_push(result, FORMAT, tag, digest, namespace=data["namespace"], repository=data["repository"])
    return result
