"""Trigger events used by the cases: a FunctionGraph APIG event carrying a Harbor PUSH_ARTIFACT webhook, and a
Docker Distribution notification envelope; plus the one-rule SYNC_RULES they are routed with."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bench.common import NAMESPACE, REPOSITORY, TARGET_NAMESPACE, TARGET_REGION

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DIST_MEDIA_TYPE = "application/vnd.docker.distribution.events.v1+json"


def sync_rules() -> str:
    """One rule: everything pushed to the bench namespace goes to one destination."""
    rule = {
        "name": "bench",
        "namespace": NAMESPACE,
        "repository": "**",
        "targets": [{"region": TARGET_REGION, "namespace": TARGET_NAMESPACE}],
    }
    return json.dumps([rule])


def digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def harbor_push(tag: str, namespace: str = NAMESPACE, repository: str = REPOSITORY) -> dict[str, Any]:
    """Harbor PUSH_ARTIFACT (default format), as SWR-compatible registries send it."""
    return {
        "type": "PUSH_ARTIFACT",
        "occur_at": 1_700_000_000,
        "operator": "bench",
        "event_data": {
            "resources": [
                {
                    "digest": digest(f"{namespace}/{repository}:{tag}"),
                    "tag": tag,
                    "resource_url": f"registry.example.com/{namespace}/{repository}:{tag}",
                }
            ],
            "repository": {
                "date_created": 1_690_000_000,
                "name": repository,
                "namespace": namespace,
                "repo_full_name": f"{namespace}/{repository}",
                "repo_type": "private",
            },
        },
    }


def distribution_envelope(count: int, salt: str = "") -> dict[str, Any]:
    """``count`` manifest pushes, each to its own repository (so none can be batched with another)."""
    events = []
    for i in range(count):
        repo = f"{NAMESPACE}/app-{i:03d}"
        tag = f"v1.{i}{salt}"
        events.append(
            {
                "id": f"bench-{salt}-{i}",
                "timestamp": "2024-01-01T00:00:00.000000000Z",
                "action": "push",
                "target": {
                    "mediaType": MANIFEST,
                    "digest": digest(f"{repo}:{tag}"),
                    "size": 708,
                    "length": 708,
                    "repository": repo,
                    "url": f"https://registry.example.com/v2/{repo}/manifests/{tag}",
                    "tag": tag,
                },
                "request": {
                    "id": f"req-{salt}-{i}",
                    "addr": "10.0.0.1:5000",
                    "host": "registry.example.com",
                    "method": "PUT",
                    "useragent": "docker/26.0",
                },
                "actor": {"name": "bench"},
                "source": {"addr": "registry.example.com:5000", "instanceID": "bench"},
            }
        )
    return {"events": events}


def apig(
    body: Any, path: str = "/", content_type: str = "application/json", request_id: str = "bench"
) -> dict:
    """A FunctionGraph APIG trigger event (POST, JSON body as a string)."""
    return {
        "httpMethod": "POST",
        "path": path,
        "headers": {
            "content-type": content_type,
            "user-agent": "Harbor-Webhook/2.x",
            "x-request-id": request_id,
        },
        "queryStringParameters": {},
        "pathParameters": {},
        "requestContext": {"requestId": request_id, "stage": "RELEASE", "apiId": "bench"},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }
