"""Gitea and Forgejo package webhooks (``X-Gitea-Event: package``): ``{"action": "created"|"deleted",
"repository", "package": {"owner": {"login"}, "type", "name", "version", ...}, "organization", "sender"}``
(go-gitea/gitea ``modules/structs/hook.go`` PackagePayload, ``modules/structs/package.go`` Package).

A container image push is ``action: created`` of a package of ``type: container``: the image is
``<owner.login>/<name>``, the tag is ``version`` (a digest for a push by digest). No digest is sent, so such
pushes carry no identity (never deduplicated). ``deleted``, and packages of other types (npm, maven, ...), are
acknowledged non-pushes, and so is any other Gitea event, recognised by its ``X-Gitea-Event`` /
``X-Forgejo-Event`` header (e.g. ``push`` of git commits, which the "Test Delivery" button also sends).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from functions.push_sync.model import Ignored, ParseResult
from functions.push_sync.parsers.common import UnreadablePush, add_push, obj, show, text, unknown_kind

FORMAT = "gitea"
EVENT = "package"
EVENT_HEADERS = ("x-forgejo-event", "x-gitea-event")
PUSH = "created"
OTHERS = {"deleted"}


def event_header(headers: Mapping[str, str]) -> str:
    return next((headers[h].strip().lower() for h in EVENT_HEADERS if headers.get(h)), "")


def other_event(event: str) -> ParseResult:
    result = ParseResult(FORMAT)
    result.ignored.append(Ignored(f"event type {show('gitea.' + event)} is not a push", FORMAT))
    return result


def looks_like(data: dict[str, Any]) -> bool:
    return isinstance(data.get("package"), dict) and "action" in data and "sender" in data


def parse(data: dict[str, Any]) -> ParseResult:
    result = ParseResult(FORMAT)
    action = text(data.get("action"), 50)
    package = obj(data.get("package"))
    kind = text(package.get("type"), 50)
    where = {"package": show(text(package.get("name"), 200)), "type": show(kind)}
    if action in OTHERS:
        result.ignored.append(Ignored(f"action {show(action)} is not a push", FORMAT, where))
        return result
    if action != PUSH:
        raise unknown_kind("Gitea package webhook", "action", action, [PUSH], OTHERS)
    if kind != "container":
        result.ignored.append(
            Ignored(f"push of a {show(kind)} package, not a container image", FORMAT, where)
        )
        return result
    owner = text(obj(package.get("owner")).get("login"), 200)
    name = text(package.get("name"), 300)
    if not owner or not name:
        raise UnreadablePush("Gitea container package event without package.owner.login or package.name")
    add_push(result, FORMAT, package.get("version"), "", full_name=f"{owner}/{name}")
    return result
