"""Google Cloud Pub/Sub push deliveries: ``{"message": {"data": <base64>, "attributes", "messageId",
"publishTime", ...}, "subscription": "projects/.../subscriptions/..."}`` (cloud.google.com/pubsub/docs/push).

Artifact Registry publishes to the topic ``gcr`` (cloud.google.com/artifact-registry/docs/configure-notifications):
``{"action": "INSERT"|"DELETE", "digest": "<host>/<project>/<repo>/<image>@sha256:...", "tag":
"<host>/<project>/<repo>/<image>:<tag>"}``; ``tag`` is absent for an untagged upload. The image maps to SWR as
``<project>/<repo>/<image>`` (namespace = the project). Any other message data is parsed as a supported payload.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from functions.push_sync.model import Ignored, ParseResult, PayloadError
from functions.push_sync.parsers.common import UnreadablePush, add_push, loads, obj, show, text, unknown_kind
from functions.push_sync.parsers.harbor import split_resource_url
from shared.lazyre import lazy

FORMAT = "gcp-artifact-registry"
_BASE64 = lazy(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def looks_like(data: dict[str, Any]) -> bool:
    return isinstance(data.get("message"), dict) and "subscription" in data


def is_gar(payload: Any) -> bool:
    return (
        isinstance(payload, dict)
        and "action" in payload
        and "target" not in payload
        and ("digest" in payload or "tag" in payload)
    )


def parse(data: dict[str, Any], inner: Callable[[Any, int], ParseResult], depth: int) -> ParseResult:
    message = obj(data.get("message"))
    raw = message.get("data")
    what = f"Pub/Sub message {show(text(message.get('messageId') or message.get('message_id'), 100))}"
    if not isinstance(raw, str) or not raw:
        raise UnreadablePush(f"{what} carries no data")
    if not _BASE64.fullmatch(raw):
        raise UnreadablePush(f"{what}: 'data' is not valid base64")
    try:
        payload = loads(base64.b64decode(raw), f"{what} data")
    except (PayloadError, binascii.Error) as err:
        raise UnreadablePush(str(err)) from None
    if is_gar(payload):
        return parse_gar(payload)
    try:
        return inner(payload, depth + 1)
    except UnreadablePush:
        raise
    except PayloadError as err:
        raise UnreadablePush(f"{what}: data is not a recognised push payload ({err})") from None


def parse_gar(payload: dict[str, Any]) -> ParseResult:
    result = ParseResult(FORMAT)
    action = text(payload.get("action"), 50)
    tag_ref, digest_ref = text(payload.get("tag"), 600), text(payload.get("digest"), 600)
    if action == "DELETE":
        result.ignored.append(Ignored("action DELETE is not a push", FORMAT, {"digest": show(digest_ref)}))
        return result
    if action != "INSERT":
        raise unknown_kind("Artifact Registry notification", "action", action, ["INSERT"], ["DELETE"])
    tag_name, tag, _ = split_resource_url(tag_ref)
    digest_name, _, digest = split_resource_url(digest_ref)
    if tag_ref and not tag:
        raise UnreadablePush(f"Artifact Registry INSERT: tag {show(tag_ref)} is not <image>:<tag>")
    add_push(result, FORMAT, tag, digest, full_name=tag_name or digest_name)
    return result
