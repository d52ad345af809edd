"""JFrog Artifactory webhooks, domain ``docker``: ``{"domain": "docker", "event_type": "pushed", "data": {...},
"subscription_key", "jpd_origin", "source"}`` (docs.jfrog.com/administration/docs/event-types; older docs show
the ``data`` object alone, with its own ``event_type``: both are read).

``data``: ``repo_key`` (the Artifactory repository), ``image_name`` (the image's path in it, e.g.
``library/ubuntu``: the name mapped to SWR), ``tag``, ``sha256`` (of the manifest file: the image digest),
``path``, ``name``, ``size``, ``platforms``. ``pushed`` is the push; ``deleted`` and ``promoted`` (a tag copied
between Artifactory repositories) are acknowledged non-pushes. Another domain is refused (400): an ``artifact``
``deployed`` event fires for a Docker manifest too, so it could be a push this parser cannot read.
"""

from __future__ import annotations

from typing import Any

from functions.push_sync.model import Ignored, ParseResult
from functions.push_sync.parsers.common import UnreadablePush, add_push, obj, show, text, unknown_kind

FORMAT = "jfrog"
PUSH = "pushed"
OTHERS = {"deleted", "promoted"}


def looks_like(data: dict[str, Any]) -> bool:
    if isinstance(data.get("domain"), str) and "event_type" in data and "subscription_key" in data:
        return True
    return "repo_key" in data and "image_name" in data and "event_type" in data  # the bare ``data`` form


def parse(data: dict[str, Any]) -> ParseResult:
    result = ParseResult(FORMAT)
    domain = text(data.get("domain"), 50) if "domain" in data else "docker"
    kind = text(data.get("event_type"), 50)
    if domain != "docker":
        raise unknown_kind("JFrog webhook", "domain", domain, ["docker"], [])
    if kind in OTHERS:
        result.ignored.append(Ignored(f"event type {show('docker.' + kind)} is not a push", FORMAT))
        return result
    if kind != PUSH:
        raise unknown_kind("JFrog docker webhook", "event_type", kind, [PUSH], OTHERS)
    event = obj(data.get("data")) if "domain" in data else data
    name = text(event.get("image_name"), 300)
    if not name:
        raise UnreadablePush("JFrog docker pushed event without data.image_name: cannot tell what was pushed")
    checksum = text(event.get("sha256"), 200)
    add_push(result, FORMAT, event.get("tag"), f"sha256:{checksum}" if checksum else "", full_name=name)
    return result
