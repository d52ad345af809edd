"""Docker Hub push webhooks: ``{"push_data": {"tag", "pushed_at", ...}, "repository": {"repo_name": "ns/repo"}}``.

Docker Hub sends no digest; ``pushed_at`` tells two pushes of the same tag apart (used for idempotency).
"""

from __future__ import annotations

from typing import Any

from functions.push_sync.model import ParseResult
from functions.push_sync.parsers.common import add_push, obj, text

FORMAT = "dockerhub"


def looks_like(data: dict[str, Any]) -> bool:
    repo = data.get("repository")
    # Alibaba ACR sends the same two objects; its repository has repo_full_name (Docker Hub's: repo_name).
    return isinstance(data.get("push_data"), dict) and isinstance(repo, dict) and "repo_full_name" not in repo


def parse(data: dict[str, Any]) -> ParseResult:
    result = ParseResult(FORMAT)
    push = obj(data.get("push_data"))
    repo = obj(data.get("repository"))
    full_name = text(repo.get("repo_name"))
    if not full_name and text(repo.get("namespace")) and text(repo.get("name")):
        full_name = f"{text(repo.get('namespace'))}/{text(repo.get('name'))}"
    pushed_at = push.get("pushed_at")
    version = (
        str(pushed_at) if isinstance(pushed_at, (int, float, str)) and not isinstance(pushed_at, bool) else ""
    )
    add_push(result, FORMAT, push.get("tag"), "", full_name=full_name, version=version[:64])
    return result
