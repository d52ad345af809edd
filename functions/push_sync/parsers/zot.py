"""zot's events extension: CloudEvents, sent by cloudevents/sdk-go in **binary** mode (attributes in ``ce-*``
headers, the data as the JSON body), ``source`` ``zotregistry.dev``.

Types and data (project-zot/zot ``pkg/extensions/events/common.go`` and ``events.go``):

- ``zotregistry.image.updated`` (a manifest was pushed): ``{"name", "reference", "digest", "mediaType",
  "manifest"}`` (newer versions add ``actor`` and ``request``). ``reference`` is the tag, or the digest of a push
  by digest. A push, unless its ``mediaType`` is not an image manifest or index.
- ``zotregistry.image.deleted``, ``zotregistry.image.lint_failed`` (the push was refused),
  ``zotregistry.repository.created``: acknowledged non-pushes.
"""

from __future__ import annotations

from typing import Any

from functions.push_sync.model import Ignored, ParseResult
from functions.push_sync.parsers.common import (
    UnreadablePush,
    add_push,
    json_kind,
    show,
    text,
    unknown_kind,
)
from functions.push_sync.parsers.distribution import MANIFEST_TYPES

FORMAT = "zot"
PREFIX = "zotregistry."
PUSH = "zotregistry.image.updated"
OTHERS = {"zotregistry.image.deleted", "zotregistry.image.lint_failed", "zotregistry.repository.created"}


def parse(kind: str, data: Any, where: dict[str, str]) -> ParseResult:
    result = ParseResult(FORMAT)
    if kind in OTHERS:
        result.ignored.append(Ignored(f"event type {show(kind)} is not a push", FORMAT, where))
        return result
    if kind != PUSH:
        raise unknown_kind("zot CloudEvent", "type", kind, [PUSH], OTHERS)
    if data is None:
        raise UnreadablePush(f"{PUSH} event carries no data: cannot tell which tag was pushed")
    if not isinstance(data, dict):
        raise UnreadablePush(f"{PUSH} event: data must be a JSON object, got {json_kind(data)}")
    name = text(data.get("name"), 300)
    if not name:
        raise UnreadablePush(f"{PUSH} event without 'name': cannot tell which repository was pushed")
    media = text(data.get("mediaType"), 200).split(";", 1)[0].strip().lower()
    if media and media not in MANIFEST_TYPES:
        result.ignored.append(
            Ignored(
                f"push of {show(media)}, not an image manifest or index",
                FORMAT,
                {**where, "name": show(name)},
            )
        )
        return result
    add_push(result, FORMAT, data.get("reference"), data.get("digest"), full_name=name)
    return result
