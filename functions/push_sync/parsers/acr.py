"""Azure Container Registry webhooks: one event per request, ``{"id", "timestamp", "action", "target":
{"mediaType", "size", "digest", "length", "repository", "tag"}, "request": {"id", "host", "method",
"useragent"}}`` (learn.microsoft.com/azure/container-registry/container-registry-webhook-reference).

``push`` is the push (the digest kept); ``delete``, ``chart_push`` and ``chart_delete`` (Helm charts, not
replicated), ``quarantine`` (a push held for scanning: the tag is not available yet) and ``ping`` (the portal's
test) are acknowledged non-pushes.
"""

from __future__ import annotations

from typing import Any

from functions.push_sync.model import Ignored, ParseResult
from functions.push_sync.parsers.common import add_push, obj, show, text, unknown_kind

FORMAT = "acr"
PUSH = "push"
OTHERS = {"delete", "chart_push", "chart_delete", "quarantine", "ping"}


def looks_like(data: dict[str, Any]) -> bool:
    return (
        isinstance(data.get("action"), str) and isinstance(data.get("target"), dict) and "events" not in data
    )


def parse(data: dict[str, Any]) -> ParseResult:
    result = ParseResult(FORMAT)
    action = text(data.get("action"), 50)
    target = obj(data.get("target"))
    name = text(target.get("repository") or target.get("name"), 300)
    if action in OTHERS:
        result.ignored.append(
            Ignored(f"action {show(action)} is not a push", FORMAT, {"repository": show(name)})
        )
        return result
    if action != PUSH:
        raise unknown_kind("Azure Container Registry webhook", "action", action, [PUSH], OTHERS)
    add_push(result, FORMAT, target.get("tag"), target.get("digest"), full_name=name)
    return result
