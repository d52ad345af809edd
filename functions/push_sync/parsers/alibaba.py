"""Alibaba Cloud Container Registry (ACR) triggers: ``{"push_data": {"digest", "pushed_at", "tag"},
"repository": {"date_created", "name", "namespace", "region", "repo_authentication_type", "repo_full_name",
"repo_origin_type", "repo_type"}}`` (alibabacloud.com/help/doc-detail/60949.htm, "Notification content").

Only image pushes are sent. Shaped like Docker Hub's, told apart by ``repository.repo_full_name`` (Docker Hub
has ``repo_name``). The digest is kept for the idempotency identity.
"""

from __future__ import annotations

from typing import Any

from functions.push_sync.model import ParseResult
from functions.push_sync.parsers.common import add_push, obj, text

FORMAT = "alibaba-acr"


def looks_like(data: dict[str, Any]) -> bool:
    repo = data.get("repository")
    return isinstance(data.get("push_data"), dict) and isinstance(repo, dict) and "repo_full_name" in repo


def parse(data: dict[str, Any]) -> ParseResult:
    result = ParseResult(FORMAT)
    push = obj(data.get("push_data"))
    repo = obj(data.get("repository"))
    add_push(result, FORMAT, push.get("tag"), push.get("digest"), full_name=text(repo.get("repo_full_name")))
    return result
