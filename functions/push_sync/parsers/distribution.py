"""Docker Distribution (registry) notification envelopes: ``{"events": [...]}``, also sent by GitLab's container
registry (gitlab-org/container-registry, a Distribution fork: same events, plus ``rename`` and
``actor.user_type``).

Media types: ``application/vnd.docker.distribution.events.v1+json`` (registry 2.x),
``application/vnd.docker.distribution.events.v2+json`` (3.x) or plain ``application/json``. Only ``push`` events of
a manifest or index are pushes of a tag; layer (blob) pushes, pulls, mounts and deletes are ignored, each with a
reason; any other action, or a push with neither mediaType nor tag, is a 400. An envelope may mix unrelated
events.
"""

from __future__ import annotations

from typing import Any

from functions.push_sync.model import Ignored, ParseResult
from functions.push_sync.parsers.common import UnreadablePush, add_push, items, obj, show, text, unknown_kind

FORMAT = "distribution"
GITLAB = "gitlab"
MEDIA_TYPES = {
    "application/vnd.docker.distribution.events.v1+json",
    "application/vnd.docker.distribution.events.v2+json",
}
OTHER_ACTIONS = {
    "pull",
    "mount",
    "delete",
    "rename",
}  # notifications/event.go (+ GitLab's rename); push pushes
MANIFEST_TYPES = {
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v1+json",  # schema1
    "application/vnd.docker.distribution.manifest.v1+prettyjws",  # signed schema1
}


def looks_like(data: dict[str, Any]) -> bool:
    events = data.get("events")
    return isinstance(events, list) and all(isinstance(e, dict) and "action" in e for e in events)


def is_gitlab(data: dict[str, Any]) -> bool:
    """GitLab's registry (a Distribution fork) sends the same envelope; its events carry ``actor.user_type``
    (from the JWT) and it alone has ``rename``. The parsing is the same; the answer names the source."""
    return any(
        "user_type" in obj(obj(e).get("actor")) or obj(e).get("action") == "rename"
        for e in items(data.get("events"))
    )


def parse(data: dict[str, Any]) -> ParseResult:
    source = GITLAB if is_gitlab(data) else FORMAT
    result = ParseResult(source)
    if data.get("events") == []:
        result.ignored.append(Ignored("empty batch: no event in it", source))
    for raw in items(data.get("events")):  # a non-list never crashes a direct caller
        event = obj(raw)
        action = text(event.get("action"), 50)
        target = obj(event.get("target"))
        media = text(target.get("mediaType"), 200).split(";", 1)[0].strip().lower()
        name = text(target.get("repository"), 300)
        where = {"id": show(text(event.get("id"), 100)), "repository": show(name)}
        if action in OTHER_ACTIONS:
            result.ignored.append(Ignored(f"action {show(action)} is not a push", source, where))
            continue
        if action != "push":
            raise unknown_kind("Distribution", "action", action, ["push"], OTHER_ACTIONS)
        if media and media not in MANIFEST_TYPES:
            result.ignored.append(
                Ignored(f"push of a layer or blob ({show(media)}), not a manifest", source, where)
            )
            continue
        if not media and not text(target.get("tag")):
            # No media type says "layer" and no tag says "manifest": could be either, so refuse, never guess.
            raise UnreadablePush(f"Distribution push event {where['id']} has neither mediaType nor tag")
        add_push(result, source, target.get("tag"), target.get("digest"), full_name=name)
    return result
