"""Harbor "Default" webhooks (``type: PUSH_ARTIFACT``), also assumed for SWR Enterprise Edition triggers.

Shape (Harbor v2 ``src/pkg/notifier/model/event.go``)::

    {"type": "PUSH_ARTIFACT", "occur_at": 1586922308, "operator": "admin",
     "event_data": {"resources": [{"digest": "sha256:...", "tag": "latest", "resource_url": "host/ns/repo:latest"}],
                    "repository": {"name": "repo", "namespace": "ns", "repo_full_name": "ns/repo", ...}}}

SWR EE's body is UNCONFIRMED: fields are read defensively (``event_type``/``data`` aliases, names and tags
recovered from ``resource_url`` when missing), and the raw payload is logged at debug level. ``event_data`` may
also arrive as JSON text. A push whose ``event_data`` is missing or cannot be read, and a type that is neither a
push nor one of Harbor's other types, is a 400, not an ignore.
"""

from __future__ import annotations

from typing import Any

from functions.push_sync.model import Ignored, ParseResult, PayloadError
from functions.push_sync.parsers.common import (
    UnreadablePush,
    add_push,
    items,
    json_kind,
    loads,
    obj,
    show,
    text,
    unknown_kind,
)

PUSH_TYPES = {"PUSH_ARTIFACT", "HARBOR.ARTIFACT.PUSHED"}
# Harbor's other Default-format event types (docs: configure-webhooks; older docs add the chart events).
OTHER_TYPES = {
    "PULL_ARTIFACT",
    "DELETE_ARTIFACT",
    "SCANNING_COMPLETED",
    "SCANNING_STOPPED",
    "SCANNING_FAILED",
    "QUOTA_EXCEED",
    "QUOTA_WARNING",
    "REPLICATION",
    "TAG_RETENTION",
    "UPLOAD_CHART",
    "DOWNLOAD_CHART",
    "DELETE_CHART",
}
FORMAT = "harbor"


def looks_like(data: dict[str, Any]) -> bool:
    kind = data.get("type", data.get("event_type"))
    return (
        "specversion" not in data
        and isinstance(kind, str)
        and ("event_data" in data or "occur_at" in data or kind.upper() in PUSH_TYPES)
    )


def parse(data: dict[str, Any]) -> ParseResult:
    result = ParseResult(FORMAT)
    parse_event(data, result, FORMAT)
    return result


def parse_event(data: dict[str, Any], result: ParseResult, source: str) -> None:
    """A whole Default-format event (``type`` + ``event_data``) into ``result``; also used for such a body
    delivered inside a ``harbor.artifact.pushed`` CloudEvent. Raises :class:`UnreadablePush` (→ 400) for a push
    whose ``event_data`` is missing or cannot be read."""
    kind = text(data.get("type", data.get("event_type")), 100)
    if kind.upper() in OTHER_TYPES:
        result.ignored.append(Ignored(f"event type {show(kind)} is not a push", source, {"type": show(kind)}))
        return
    if kind.upper() not in PUSH_TYPES:
        raise unknown_kind("Harbor", "event type", kind, PUSH_TYPES, OTHER_TYPES)
    key = "event_data" if data.get("event_data") is not None else "data"
    payload = data.get(key)
    if payload is None:
        raise UnreadablePush(f"{show(kind)} event without 'event_data': cannot read the pushed tags")
    parse_event_data(event_object(payload, f"{show(kind)} event: '{key}'"), result, source)


def event_object(value: Any, what: str) -> dict[str, Any]:
    """Push data as an object: given as one, or as JSON text (Harbor's own struct, serialised once more by some
    senders). Anything else raises :class:`UnreadablePush` naming ``what``."""
    if isinstance(value, str):
        try:
            value = loads(value, what)
        except PayloadError as err:  # its message already names ``what``
            raise UnreadablePush(str(err)) from None
    if not isinstance(value, dict):
        raise UnreadablePush(f"{what} must be a JSON object, got {json_kind(value)}")
    return value


def parse_event_data(payload: Any, result: ParseResult, source: str) -> None:
    """``event_data`` (Default) or ``data`` (CloudEvents): resources + repository. Never raises: callers decide
    whether a payload that is not an object is an error (see :func:`event_object`)."""
    data = obj(payload)
    repo = obj(data.get("repository"))
    full_name = text(repo.get("repo_full_name"))
    if not full_name and text(repo.get("namespace")) and text(repo.get("name")):
        full_name = f"{text(repo.get('namespace'))}/{text(repo.get('name'))}"
    resources = items(data.get("resources"))
    if not resources:
        raise UnreadablePush(
            f"push event of {show(full_name)} without resources: cannot read the pushed tags"
        )
    for resource in resources:
        res = obj(resource)
        url_name, url_tag, url_digest = split_resource_url(text(res.get("resource_url")))
        tag = text(res.get("tag")) or url_tag
        digest = text(res.get("digest")) or url_digest
        add_push(result, source, tag, digest, full_name=full_name or url_name)


def split_resource_url(url: str) -> tuple[str, str, str]:
    """``host[:port]/ns/repo:tag`` or ``host/ns/repo@sha256:...`` → (``ns/repo``, tag, digest); no scheme."""
    if not url:
        return "", "", ""
    rest = url.split("://", 1)[-1]
    _, _, path = rest.partition("/")
    digest = tag = ""
    if "@" in path:
        path, _, digest = path.partition("@")
    else:
        head, sep, last = path.rpartition(":")
        if sep and "/" not in last:
            path, tag = head, last
    return path, tag, digest
