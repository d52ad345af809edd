"""AWS ECR events through EventBridge (an API destination POSTs the event as it is): ``{"version": "0", "id",
"detail-type": "ECR Image Action", "source": "aws.ecr", "account", "time", "region", "resources": [],
"detail": {"result": "SUCCESS", "repository-name", "image-digest", "action-type": "PUSH", "image-tag"}}``
(docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html).

``ECR Image Action`` with ``action-type: PUSH`` and ``result: SUCCESS`` is the push (the digest kept); a push
without ``image-tag`` is a push by digest. ``DELETE``, a ``FAILURE`` result, and ECR's other detail types
(scans, pull-through cache, replication, referrers) are acknowledged non-pushes.
"""

from __future__ import annotations

from typing import Any

from functions.push_sync.model import Ignored, ParseResult
from functions.push_sync.parsers.common import UnreadablePush, add_push, obj, show, text, unknown_kind

FORMAT = "ecr"
IMAGE_ACTION = "ECR Image Action"
OTHER_TYPES = {
    "ECR Image Scan",
    "ECR Pull Through Cache Action",
    "ECR Replication Action",
    "ECR Referrer Action",
    "ECR Scan Resource Change",
}


def looks_like(data: dict[str, Any]) -> bool:
    return "detail-type" in data and isinstance(data.get("detail"), dict) and "source" in data


def parse(data: dict[str, Any]) -> ParseResult:
    result = ParseResult(FORMAT)
    source, kind = text(data.get("source"), 100), text(data.get("detail-type"), 100)
    if source != "aws.ecr":
        raise unknown_kind("EventBridge event", "source", source, ["aws.ecr"], [])
    detail = obj(data.get("detail"))
    name = text(detail.get("repository-name"), 300)
    where = {"repository": show(name)}
    if kind in OTHER_TYPES:
        result.ignored.append(Ignored(f"event type {show(kind)} is not a push", FORMAT, where))
        return result
    if kind != IMAGE_ACTION:
        raise unknown_kind("ECR event", "detail-type", kind, [IMAGE_ACTION], OTHER_TYPES)
    action, outcome = text(detail.get("action-type"), 50), text(detail.get("result"), 50)
    if action == "DELETE":
        result.ignored.append(Ignored("action DELETE is not a push", FORMAT, where))
        return result
    if action != "PUSH":
        raise unknown_kind("ECR Image Action", "action-type", action, ["PUSH"], ["DELETE"])
    if outcome == "FAILURE":
        result.ignored.append(Ignored("action PUSH with result FAILURE is not a push", FORMAT, where))
        return result
    if outcome != "SUCCESS":
        raise UnreadablePush(
            f"ECR Image Action PUSH with result {show(outcome)!r}: expected SUCCESS or FAILURE"
        )
    add_push(result, FORMAT, detail.get("image-tag"), detail.get("image-digest"), full_name=name)
    return result
