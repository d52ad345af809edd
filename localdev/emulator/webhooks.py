"""Push-webhook payloads (one builder per format, shapes as in the reference samples) and their delivery.

Formats:
- ``harbor``: Harbor "Default" PUSH_ARTIFACT (``Content-Type: application/json``);
- ``harbor-cloudevents``: Harbor CloudEvents 1.0 structured mode (``application/cloudevents+json``);
- ``distribution``: Docker Distribution v3 envelope (``application/vnd.docker.distribution.events.v2+json``);
- ``distribution-v1``: the same with the registry v2.x media type ``...events.v1+json``;
- ``dockerhub``: Docker Hub push (``application/json``);
- ``zot``: zot's ``zotregistry.image.updated`` CloudEvent in binary mode, as cloudevents/sdk-go sends it (the
  attributes in ``Ce-*`` headers, the data as the JSON body).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from shared.logs.redact import scrub

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DEFAULT_TIMEOUT = 3.0  # Harbor's webhook_job_http_client_timeout default


@dataclass(frozen=True)
class PushEvent:
    region: str
    namespace: str
    repository: str  # may contain "/"
    tag: str
    digest: str
    size: int
    pushed_at: datetime
    repo_created: datetime
    operator: str

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.repository}"

    @property
    def registry_host(self) -> str:
        return f"swr.{self.region}.myhuaweicloud.com"


def _harbor_data(e: PushEvent) -> dict[str, Any]:
    return {
        "resources": [
            {
                "digest": e.digest,
                "tag": e.tag,
                "resource_url": f"{e.registry_host}/{e.full_name}:{e.tag}",
            }
        ],
        "repository": {
            "date_created": int(e.repo_created.timestamp()),
            # Harbor cuts repo_full_name at the first "/": name is everything after the namespace.
            "name": e.repository,
            "namespace": e.namespace,
            "repo_full_name": e.full_name,
            "repo_type": "private",
        },
    }


def harbor(e: PushEvent, hook_id: int) -> tuple[dict[str, Any], str]:
    payload = {
        "type": "PUSH_ARTIFACT",
        "occur_at": int(e.pushed_at.timestamp()),
        "operator": e.operator,
        "event_data": _harbor_data(e),
    }
    return payload, "application/json"


def harbor_cloudevents(e: PushEvent, hook_id: int) -> tuple[dict[str, Any], str]:
    payload = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "requestid": str(uuid.uuid4()),
        "source": f"/projects/1/webhook/policies/{hook_id}",
        "type": "harbor.artifact.pushed",
        "datacontenttype": "application/json",
        "time": e.pushed_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": _harbor_data(e),
        "operator": e.operator,
    }
    return payload, "application/cloudevents+json"


def _distribution(e: PushEvent) -> dict[str, Any]:
    return {
        "events": [
            {
                "id": str(uuid.uuid4()),
                "timestamp": e.pushed_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
                "action": "push",
                "target": {
                    "mediaType": MANIFEST_V2,
                    "digest": e.digest,
                    "size": e.size,
                    "length": e.size,
                    "repository": e.full_name,
                    "url": f"https://{e.registry_host}/v2/{e.full_name}/manifests/{e.digest}",
                    "tag": e.tag,
                },
                "request": {
                    "id": str(uuid.uuid4()),
                    "addr": "127.0.0.1",
                    "host": e.registry_host,
                    "method": "PUT",
                    "useragent": "docker/24.0.7",
                },
                "actor": {"name": e.operator},
                "source": {"addr": f"{e.registry_host}:443", "instanceID": str(uuid.uuid4())},
            }
        ]
    }


def distribution(e: PushEvent, hook_id: int) -> tuple[dict[str, Any], str]:
    return _distribution(e), "application/vnd.docker.distribution.events.v2+json"


def distribution_v1(e: PushEvent, hook_id: int) -> tuple[dict[str, Any], str]:
    return _distribution(e), "application/vnd.docker.distribution.events.v1+json"


def dockerhub(e: PushEvent, hook_id: int) -> tuple[dict[str, Any], str]:
    base = f"https://{e.registry_host}/u/{e.full_name}/"
    payload = {
        "callback_url": f"{base}hook/{uuid.uuid4().hex}/",
        "push_data": {"pushed_at": int(e.pushed_at.timestamp()), "pusher": e.operator, "tag": e.tag},
        "repository": {
            "comment_count": 0,
            "date_created": int(e.repo_created.timestamp()),
            "description": "",
            "dockerfile": "",
            "full_description": "",
            "is_official": False,
            "is_private": True,
            "is_trusted": False,
            "name": e.repository,
            "namespace": e.namespace,
            "owner": e.namespace,
            "repo_name": e.full_name,
            "repo_url": base,
            "star_count": 0,
            "status": "Active",
        },
    }
    return payload, "application/json"


def zot(e: PushEvent, hook_id: int) -> tuple[dict[str, Any], str]:
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}
    payload = {
        "name": e.full_name,
        "reference": e.tag,
        "digest": e.digest,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "manifest": json.dumps(manifest),
    }
    return payload, "application/json"


def _binary_ce_headers(e: PushEvent) -> dict[str, str]:
    """zot's CloudEvent attributes (project-zot/zot pkg/extensions/events: source zotregistry.dev)."""
    return {
        "Ce-Specversion": "1.0",
        "Ce-Id": str(uuid.uuid4()),
        "Ce-Source": "zotregistry.dev",
        "Ce-Type": "zotregistry.image.updated",
        "Ce-Time": e.pushed_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
    }


FORMATS: dict[str, Callable[[PushEvent, int], tuple[dict[str, Any], str]]] = {
    "harbor": harbor,
    "harbor-cloudevents": harbor_cloudevents,
    "distribution": distribution,
    "distribution-v1": distribution_v1,
    "dockerhub": dockerhub,
    "zot": zot,
}
BINARY_MODE = {"zot"}  # formats delivered as binary-mode CloudEvents


def build(format: str, event: PushEvent, hook_id: int = 1) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of one delivery."""
    payload, content_type = FORMATS[format](event, hook_id)
    headers = {"Content-Type": content_type, "User-Agent": "swr-sync-emulator/1"}
    if format in BINARY_MODE:
        headers.update(_binary_ce_headers(event))
    return json.dumps(payload).encode(), headers


def deliver(
    url: str, body: bytes, headers: dict[str, str], timeout: float = DEFAULT_TIMEOUT
) -> tuple[int | None, str | None, float, Any]:
    """POST once; (status, error, seconds, response JSON or None). Never raises, never follows redirects."""
    started = time.monotonic()
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, None, time.monotonic() - started, _json_or_none(resp.read(65536))
    except urllib.error.HTTPError as err:
        return err.code, None, time.monotonic() - started, _json_or_none(err.read(65536))
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return None, scrub(f"{type(err).__name__}: {reason}")[:300], time.monotonic() - started, None


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


def deliver_all(
    hooks: list[Any],
    event: PushEvent,
    record: Callable[[dict[str, Any]], None],
    timeout: float = DEFAULT_TIMEOUT,
    asynchronous: bool = False,
) -> list[dict[str, Any]]:
    """Deliver ``event`` to every subscriber (objects with id, url, format, headers).

    Synchronous: returns the results (also passed to ``record``). Asynchronous: returns ``[]`` at once; each
    result is passed to ``record`` when its delivery ends.
    """

    def one(hook: Any) -> dict[str, Any]:
        body, headers = build(hook.format, event, hook.id)
        headers.update(hook.headers)
        status, error, seconds, response = deliver(hook.url, body, headers, timeout)
        result = {
            "webhook_id": hook.id,
            "url": hook.url,
            "format": hook.format,
            "event": {"region": event.region, "repository": event.full_name, "tag": event.tag},
            "status": status,
            "ok": status is not None and 200 <= status < 400,
            "error": error,
            "duration_ms": round(seconds * 1000, 1),
            "payload": _json_or_none(body),  # what was sent (headers, which may hold secrets, are not kept)
            "response": response,
        }
        record(result)
        return result

    if asynchronous:
        for hook in hooks:
            threading.Thread(target=one, args=(hook,), daemon=True, name=f"webhook-{hook.id}").start()
        return []
    return [one(hook) for hook in hooks]
