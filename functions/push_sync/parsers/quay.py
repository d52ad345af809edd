"""Quay "Repository Push" notifications: ``{"repository": "ns/repo", "updated_tags": [...]}``.

``updated_tags`` is a list of tags (current docs) or a ``{tag: image_id}`` map (older quay.io); both accepted.
"""

from __future__ import annotations

from typing import Any

from functions.push_sync.model import Ignored, ParseResult
from functions.push_sync.parsers.common import (
    DIGEST_ALGORITHMS,
    UnreadablePush,
    add_push,
    json_kind,
    show,
    text,
)

FORMAT = "quay"


def looks_like(data: dict[str, Any]) -> bool:
    return "updated_tags" in data


def parse(data: dict[str, Any]) -> ParseResult:
    result = ParseResult(FORMAT)
    full_name = text(data.get("repository"))
    if "/" not in full_name and text(data.get("namespace")) and full_name:
        full_name = f"{text(data.get('namespace'))}/{full_name}"
    updated = data.get("updated_tags")
    pairs: list[tuple[Any, Any]]
    if isinstance(updated, dict):
        pairs = list(updated.items())
    elif isinstance(updated, list):
        pairs = [(t, "") for t in updated]
    else:
        raise UnreadablePush(f"Quay push: updated_tags is {json_kind(updated)}, not a list or map")
    if not pairs:
        result.ignored.append(Ignored("no updated tags", FORMAT, {"repository": show(full_name)}))
    for tag, image in pairs:
        # Older quay.io maps a tag to an image id, which is not a digest; a digest is passed on (and validated).
        digest = image if isinstance(image, str) and image.startswith(DIGEST_ALGORITHMS) else ""
        add_push(result, FORMAT, tag, digest, full_name=full_name)
    return result
