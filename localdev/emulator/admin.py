"""The emulator's own admin API under ``/_emulator/`` (not SWR's; no authentication; never faulted or logged)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from shared.swr.names import InvalidName

from . import webhooks
from .faults import FaultError
from .state import JOB_STATUSES, EmulatorState, StateError
from .wire import Request, Response

SEED_MAX_REPOS = 20_000
SEED_MAX_TAGS = 1_000
SEED_MAX_JOBS = 2_000_000


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def push(
    state: EmulatorState,
    namespace: str,
    repository: str,
    tag: str,
    digest: str | None = None,
    region: str | None = None,
    asynchronous: bool = False,
    timeout: float = webhooks.DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """Simulate a push: store the tag, start auto-sync jobs, deliver webhooks (outside the state lock)."""
    src = region or state.default_region
    with state.mutating():
        record, job_ids = state.push_image(namespace, repository, tag, digest, src)
        repo = state.get_repo(namespace, repository, src)
        assert repo is not None
        event = webhooks.PushEvent(
            region=src,
            namespace=namespace,
            repository=repository,
            tag=tag,
            digest=record.digest,
            size=record.size,
            pushed_at=state.now(),
            repo_created=repo.created,
            operator=state.default_user().name,
        )
        hooks = state.webhook_list()
    deliveries = webhooks.deliver_all(hooks, event, state.record_delivery, timeout, asynchronous)
    return {
        "region": src,
        "namespace": namespace,
        "repository": repository,
        "tag": tag,
        "digest": record.digest,
        "sync_jobs": job_ids,
        "async": asynchronous,
        "deliveries": deliveries,
    }


def seed(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    """Bulk creation: ``{namespace, repositories, tags_per_repo?, jobs_per_repo?, ...}`` (see docs/emulator.md)."""
    namespace = _str(body, "namespace")
    n_repos = _int(body, "repositories", 1, 0, SEED_MAX_REPOS)
    n_tags = _int(body, "tags_per_repo", 1, 0, SEED_MAX_TAGS)
    n_jobs = _int(body, "jobs_per_repo", 0, 0, SEED_MAX_JOBS)
    if n_repos * n_jobs > SEED_MAX_JOBS:
        raise AdminError(400, f"at most {SEED_MAX_JOBS} jobs per seed call")
    region = body.get("region") or state.default_region
    prefix = body.get("prefix", "repo")
    status = body.get("job_status", "success")
    if status not in JOB_STATUSES:
        raise AdminError(400, f"job_status must be one of {', '.join(JOB_STATUSES)}")
    remote_region = body.get("remote_region") or next((r for r in state.regions if r != region), region)
    remote_namespace = body.get("remote_namespace") or namespace
    now = state.now()
    names: list[str] = []
    with state.mutating():
        state.add_namespace(namespace, region)
        if body.get("create_remote_namespace", True):
            state.add_namespace(remote_namespace, remote_region)
        width = max(4, len(str(n_repos)))
        for i in range(n_repos):
            name = f"{prefix}-{i:0{width}d}"
            names.append(name)
            state.add_repository(namespace, name, region)
            tags = [f"v{j}" for j in range(n_tags)]
            for tag in tags:
                state.add_image(namespace, name, tag, region=region)
            for k in range(n_jobs):
                state.add_job(
                    namespace,
                    name,
                    tags[k % len(tags)] if tags else "latest",
                    remote_region,
                    remote_namespace,
                    status=status,
                    created_at=now - timedelta(seconds=n_jobs - k),
                    region=region,
                )
    return {
        "region": region,
        "namespace": namespace,
        "repositories": len(names),
        "names": names if len(names) <= 1000 else names[:1000],
        "tags": n_repos * n_tags,
        "jobs": n_repos * n_jobs,
    }


def _str(body: dict[str, Any], key: str, required: bool = True) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise AdminError(400, f"{key} is required and must be a string")
    return value


def _int(body: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise AdminError(400, f"{key} must be an integer between {low} and {high}")
    return value


_JOB_PATH = re.compile(r"/_emulator/jobs/(\d+)")
_HOOK_PATH = re.compile(r"/_emulator/webhooks/(\d+)")


def handle(state: EmulatorState, request: Request) -> Response:
    try:
        return _route(state, request)
    except AdminError as err:
        return Response.json(err.status, {"error": err.message})
    except (StateError, FaultError, InvalidName) as err:
        return Response.json(400, {"error": str(err)})


def _body(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        data = json.loads(request.body)
    except ValueError as err:
        raise AdminError(400, "body is not valid JSON") from err
    if not isinstance(data, dict):
        raise AdminError(400, "body must be a JSON object")
    return data


def _route(state: EmulatorState, request: Request) -> Response:
    path = request.path.rstrip("/")
    for handler in (_service, _images, _webhooks, _faults, _job_faults, _jobs, _tokens):
        response = handler(state, request, path)
        if response is not None:
            return response
    raise AdminError(404, f"no admin endpoint {request.method} {path}")


def _service(state: EmulatorState, request: Request, path: str) -> Response | None:
    """Health, the state snapshot, the request log, reset, seed, namespaces."""
    method = request.method
    region = request.region
    q = request.query()
    if path == "/_emulator/health" and method == "GET":
        return Response.json(200, {"ok": True, "regions": list(state.regions)})
    if path == "/_emulator/state" and method == "GET":
        return Response.json(
            200, state.snapshot(include_requests=q.get("requests", "1") not in ("0", "false"))
        )
    if path == "/_emulator/requests" and method == "GET":
        return Response.json(200, state.requests)
    if path == "/_emulator/reset" and method == "POST":
        state.reset()
        return Response.json(200, {"reset": True})
    if path == "/_emulator/seed" and method == "POST":
        return Response.json(200, seed(state, {"region": region, **_body(request)}))
    if path == "/_emulator/namespaces" and method == "POST":
        body = _body(request)
        record = state.add_namespace(_str(body, "name"), body.get("region") or region)
        return Response.json(
            200, {"id": record.id, "name": record.name, "region": body.get("region") or region}
        )
    return None


def _images(state: EmulatorState, request: Request, path: str) -> Response | None:
    """Push (POST) or remove (DELETE) an image."""
    method = request.method
    region = request.region
    if path == "/_emulator/images":
        body = _body(request)
        ns, repo, tag = _str(body, "namespace"), _str(body, "repository"), _str(body, "tag")
        target_region = body.get("region") or region
        if method == "POST":
            timeout = body.get("timeout", webhooks.DEFAULT_TIMEOUT)
            if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 60:
                raise AdminError(400, "timeout must be a number of seconds in (0, 60]")
            result = push(
                state,
                ns,
                repo,
                tag,
                body.get("digest"),
                target_region,
                bool(body.get("async")),
                float(timeout),
            )
            return Response.json(200, result)
        if method == "DELETE":
            removed = state.remove_image(ns, repo, tag, target_region)
            return Response.json(200 if removed else 404, {"removed": removed})
    return None


def _webhooks(state: EmulatorState, request: Request, path: str) -> Response | None:
    """Webhook targets and their deliveries."""
    method = request.method
    if path == "/_emulator/webhooks":
        if method == "GET":
            return Response.json(200, {"webhooks": state.webhooks, "deliveries": state.deliveries})
        if method == "POST":
            body = _body(request)
            hook = state.add_webhook(_str(body, "url"), body.get("format", "harbor"), body.get("headers"))
            return Response.json(200, {"id": hook.id, "url": hook.url, "format": hook.format})
        if method == "DELETE":
            return Response.json(200, {"removed": state.remove_webhooks()})
    match = _HOOK_PATH.fullmatch(path)
    if match and method == "DELETE":
        count = state.remove_webhooks(int(match.group(1)))
        return Response.json(200 if count else 404, {"removed": count})
    return None


def _faults(state: EmulatorState, request: Request, path: str) -> Response | None:
    """Request faults."""
    method = request.method
    if path == "/_emulator/faults":
        if method == "GET":
            return Response.json(200, [f.describe() for f in state.faults])
        if method == "POST":
            body = _body(request)
            known = {"method", "path", "status", "body", "headers", "delay", "reset", "times"}
            unknown = set(body) - known
            if unknown:
                raise AdminError(400, f"unknown fault fields: {', '.join(sorted(unknown))}")
            fault = state.add_fault(
                body.get("path", ""),
                body.get("method"),
                body.get("status"),
                body.get("body"),
                body.get("headers"),
                body.get("delay"),
                body.get("reset", False),
                body.get("times", 1),
            )
            return Response.json(200, fault.describe())
        if method == "DELETE":
            state.clear_faults()
            return Response.json(200, {"cleared": True})
    return None


def _job_faults(state: EmulatorState, request: Request, path: str) -> Response | None:
    """Job outcome faults."""
    method = request.method
    if path == "/_emulator/job-faults":
        if method == "GET":
            return Response.json(200, [f.describe() for f in state.job_faults])
        if method == "POST":
            body = _body(request)
            known = {"outcome", "namespace", "repository", "tag", "target_region", "times"}
            unknown = set(body) - known
            if unknown:
                raise AdminError(400, f"unknown job fault fields: {', '.join(sorted(unknown))}")
            names = [body.get(k) for k in ("namespace", "repository", "tag", "target_region")]
            if any(v is not None and not isinstance(v, str) for v in names):
                raise AdminError(400, "namespace, repository, tag and target_region must be strings")
            try:
                job_fault = state.add_job_fault(
                    str(body.get("outcome", "")), names[0], names[1], names[2], names[3], body.get("times", 1)
                )
            except StateError as err:
                raise AdminError(400, str(err)) from err
            return Response.json(200, job_fault.describe())
    return None


def _jobs(state: EmulatorState, request: Request, path: str) -> Response | None:
    """Sync jobs: all, one, or one forced to a status."""
    method = request.method
    if path == "/_emulator/jobs" and method == "GET":
        return Response.json(200, state.jobs)
    match = _JOB_PATH.fullmatch(path)
    if match:
        job_id = int(match.group(1))
        try:
            if method == "GET":
                return Response.json(200, state.get_job(job_id))
            if method == "POST":
                status = _body(request).get("status")
                if not isinstance(status, str):
                    raise AdminError(400, "status is required")
                return Response.json(200, state.force_job_status(job_id, status))
        except StateError as err:
            raise AdminError(404 if "no sync job" in str(err) else 400, str(err)) from err
    return None


def _tokens(state: EmulatorState, request: Request, path: str) -> Response | None:
    """Issue tokens, or expire them."""
    method = request.method
    if path == "/_emulator/tokens/expire" and method == "POST":
        user = _body(request).get("user")
        if user is not None and not isinstance(user, str):
            raise AdminError(400, "user must be a string")
        return Response.json(200, {"expired": state.expire_tokens(user)})
    if path == "/_emulator/tokens" and method == "POST":
        body = _body(request)
        seconds = body.get("expires_in", 24 * 3600)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise AdminError(400, "expires_in must be a number of seconds")
        issued = state.issue_token(body.get("user"), body.get("project"), timedelta(seconds=seconds))
        return Response.json(200, {"token": issued.token, "expires_at": issued.expires_at.isoformat()})
    return None
