"""Helpers of the reliability suite.

- a clean process environment for the three functions (every variable they read is cleared first);
- the functions invoked through their real FunctionGraph entry points (``index.handler``) with a
  :class:`~localdev.context.FunctionGraphContext` whose timeout is the invocation's deadline;
- the emulator's view of what was really synced (jobs per tag and target) and of the requests it received;
- a transport that expires every IAM token after the N-th SWR request (a token that dies mid-run).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

from localdev.context import FunctionGraphContext
from localdev.emulator import Emulator
from shared.swr.http import HttpRequest, HttpResponse, Transport

SOURCE = "cn-north-4"
DST = "ap-southeast-1"
DST2 = "ap-southeast-3"
IAM_USER, IAM_PASSWORD, IAM_DOMAIN = "demo", "demo-password", "demo-domain"
WEBHOOK_SECRET = "reliability-webhook-secret-0123"
EXPORT_TOKEN = "reliability-export-token-0123456789"
MONITOR_TOKEN = "reliability-monitor-token-0123456789"
BUSY_BODY = [{"errorCode": "SVCSTG.SWR.4090023", "errorMessage": "system resource busy", "detail": ""}]
EXPIRED_BODY = [
    {
        "errorCode": "SVCSTG.SWR.4010000",
        "errorMessage": "Authenticate Error",
        "detail": "The token must be updated",
    }
]
MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def _aliases() -> list[str]:
    from functions.job_monitor.settings import MonitorSettings
    from functions.policy_export.settings import FunctionSettings
    from functions.push_sync.settings import PushSyncSettings

    names: set[str] = set()
    for model in (PushSyncSettings, MonitorSettings, FunctionSettings):
        for name, info in model.model_fields.items():
            names.add(info.alias or name.upper())
    return sorted(names)


def reset_functions() -> None:
    """Forget everything a warm instance keeps: settings, idempotency stores, alert guard, IAM tokens."""
    from functions.job_monitor import index as monitor_index
    from functions.job_monitor.alerts import REPEAT_GUARD
    from functions.policy_export import index as export_index
    from functions.push_sync import idempotency
    from functions.push_sync import index as push_index
    from shared.swr.auth import clear_token_cache

    for app in (push_index.APP, monitor_index.APP, export_index.APP):
        app.reset()
    idempotency.reset_stores()
    REPEAT_GUARD.clear()
    clear_token_cache()


def function_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    """Exactly ``env`` for the functions: every variable they read is cleared first."""
    for name in _aliases():
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name + "_FILE", raising=False)
    for name in ("exec_timeout", "EXEC_TIMEOUT", "OPENFAAS_SECRETS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENFAAS_SECRETS_DIR", "/nonexistent-openfaas-secrets")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_functions()


def swr_env(emulator: Emulator, auth: str = "password", **extra: str) -> dict[str, str]:
    """SWR access to the emulator; fast retries (the matrix's profile)."""
    env = {
        "SWR_REGION": SOURCE,
        "SWR_ENDPOINT": emulator.url,
        "HTTP_MAX_ATTEMPTS": "3",
        "HTTP_BACKOFF_BASE": "0.01",
        "HTTP_BACKOFF_MAX": "0.05",
        "HTTP_TIMEOUT": "2",
        "LOG_LEVEL": "WARNING",
    }
    if auth == "password":
        env.update(
            IAM_ENDPOINT=emulator.url, IAM_USERNAME=IAM_USER, IAM_PASSWORD=IAM_PASSWORD, IAM_DOMAIN=IAM_DOMAIN
        )
    elif auth == "token":
        from tests.conftest import EMULATOR_TOKEN

        env["SWR_AUTH_TOKEN"] = EMULATOR_TOKEN
    elif auth == "aksk":
        from tests.conftest import EMULATOR_AK, EMULATOR_SK

        env.update(CLOUD_SDK_AK=EMULATOR_AK, CLOUD_SDK_SK=EMULATOR_SK)
    env.update(extra)
    return env


# -- invoking the functions -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: int
    headers: dict[str, str]
    body: str
    data: Any
    elapsed: float
    raw: Any = None

    def header(self, name: str) -> str | None:
        return {k.lower(): v for k, v in self.headers.items()}.get(name.lower())


def apig_event(
    method: str,
    path: str,
    headers: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    body: bytes = b"",
) -> dict[str, Any]:
    return {
        "httpMethod": method,
        "path": path,
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "queryStringParameters": query or {},
        "pathParameters": {},
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
        "requestContext": {"apiId": "reliability", "requestId": f"rel-{time.monotonic_ns()}"},
    }


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def invoke(function: str, event: Any, timeout_s: float = 4.0) -> Outcome:
    """``index.handler(event, context)`` of ``function`` with a ``timeout_s`` deadline; HTTP or not."""
    from localdev.registry import load

    module = load(function)
    context = FunctionGraphContext(function, timeout_s=timeout_s)
    started = time.monotonic()
    result = module.handler(event, context)
    elapsed = time.monotonic() - started
    if isinstance(event, dict) and "httpMethod" in event:
        body = result["body"]
        if result.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        return Outcome(
            result["statusCode"], dict(result.get("headers") or {}), body, _json(body), elapsed, result
        )
    status = int(result.get("statusCode", 200)) if isinstance(result, dict) else 200
    if isinstance(result, dict) and isinstance(result.get("summary"), dict):
        status = int(result["summary"].get("http_status", status))
    return Outcome(status, {}, json.dumps(result, default=str), result, elapsed, result)


def push(
    payload: Any, timeout_s: float = 4.0, secret: str = WEBHOOK_SECRET, headers: dict[str, Any] | None = None
) -> Outcome:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    hdrs: dict[str, Any] = {"Content-Type": "application/json", "Authorization": secret}
    hdrs.update(headers or {})
    return invoke("push-sync", apig_event("POST", "/push-sync", hdrs, {}, body), timeout_s)


def timer_event(user_event: str = "") -> dict[str, Any]:
    return {
        "version": "v1.0",
        "time": "2026-01-01T00:00:00+08:00",
        "trigger_type": "TIMER",
        "trigger_name": "reliability",
        "user_event": user_event,
    }


def monitor(user_event: str = "", timeout_s: float = 4.0) -> Outcome:
    return invoke("job-monitor", timer_event(user_event), timeout_s)


def export(
    query: dict[str, Any], token: str | None = EXPORT_TOKEN, timeout_s: float = 4.0, **headers: str
) -> Outcome:
    hdrs: dict[str, Any] = {"Accept": "application/json", **headers}
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    return invoke("policy-export", apig_event("GET", "/policy-export", hdrs, query), timeout_s)


# -- payloads -------------------------------------------------------------------------------------------------


def digest_of(text: str) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def distribution(pushes: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    """A Docker Distribution envelope pushing ``(full name, tag, digest)`` manifests."""
    events = []
    for i, (name, tag, digest) in enumerate(pushes):
        events.append(
            {
                "id": f"evt-{i}",
                "timestamp": "2026-01-01T00:00:00Z",
                "action": "push",
                "target": {"mediaType": MANIFEST, "digest": digest, "repository": name, "tag": tag},
                "request": {"id": f"req-{i}", "host": "registry.example.com"},
                "actor": {"name": "ci"},
            }
        )
    return {"events": events}


def harbor(namespace: str, repository: str, tags: Iterable[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "PUSH_ARTIFACT",
        "occur_at": 1767225600,
        "operator": "ci",
        "event_data": {
            "resources": [
                {
                    "digest": digest,
                    "tag": tag,
                    "resource_url": f"swr.{SOURCE}.myhuaweicloud.com/{namespace}/{repository}:{tag}",
                }
                for tag, digest in tags
            ],
            "repository": {
                "name": repository,
                "namespace": namespace,
                "repo_full_name": f"{namespace}/{repository}",
                "repo_type": "private",
            },
        },
    }


# -- the emulator's view --------------------------------------------------------------------------------------

JobKey = tuple[str, str, str, str, str]  # namespace, repository, tag, target region, target namespace


def job_counts(emulator: Emulator) -> Counter[JobKey]:
    return Counter(
        (j["namespace"], j["repoName"], j["tag"], j["remoteRegionId"], j["remoteNamespace"])
        for j in emulator.state.jobs()
    )


def requests_to(emulator: Emulator, part: str, method: str | None = None) -> list[dict[str, Any]]:
    return [
        r
        for r in emulator.state.requests()
        if part in r["path"] and (method is None or r["method"] == method)
    ]


def iam_requests(emulator: Emulator) -> int:
    return len(requests_to(emulator, "/v3/auth/tokens", "POST"))


# -- a token that expires mid-run -----------------------------------------------------------------------------


@dataclass
class ExpiringTransport:
    """Delegates to ``inner``; after the ``after``-th exchange whose path contains ``part`` answered 2xx,
    expires every IAM token in the emulator (once), so the calls that follow present a token IAM no longer
    accepts: a token that dies in the middle of a run."""

    inner: Transport
    emulator: Emulator
    part: str = "/v2/"
    after: int = 1
    seen: int = 0
    expired: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
        response = self.inner.send(request, timeout)
        if self.part in request.path and 200 <= response.status < 300:
            with self._lock:
                self.seen += 1
                if not self.expired and self.seen >= self.after:
                    self.expired = True
                    self.emulator.state.expire_tokens()
        return response


def expire_tokens_mid_run(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator, part: str = "/v2/", after: int = 1
) -> ExpiringTransport:
    """Route every function's SWR and IAM traffic through an :class:`ExpiringTransport`."""
    import shared.runtime.connect

    transport = ExpiringTransport(shared.runtime.connect._TRANSPORT, emulator, part, after)
    monkeypatch.setattr(shared.runtime.connect, "_TRANSPORT", transport)
    return transport


# -- process memory -------------------------------------------------------------------------------------------


def proc_status_kib(field_name: str) -> int:
    """``VmRSS`` / ``VmHWM`` of this process in KiB (0 where /proc is not available)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0
