"""SWR "manage" API handlers (reference section 6 and the seed pages), in SWR's documented shapes.

Routing works on the *raw* path (region prefix removed). The repository segment may carry ``$`` raw or as
``%24``; a ``%2F`` (or a raw ``/``) inside it is not a repository, so such a path does not match any route.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from shared.swr.models import TAG_RE
from shared.swr.names import InvalidName, validate_namespace, validate_repository

from .state import EmulatorState, RepoRecord, StateError, fmt_time
from .wire import (
    CONFLICT,
    INVALID_PARAM,
    NAMESPACE_NOT_FOUND,
    POLICY_NOT_FOUND,
    REPO_NOT_FOUND,
    Problem,
    Request,
    Response,
)

JOB_LIMIT_MAX = 1000
REPO_LIMIT_MAX = 1000
REPO_LIMIT_DEFAULT = 100

REGION_NAMES = {
    "cn-north-1": "CN North-Beijing1",
    "cn-north-2": "CN North-Beijing2",
    "cn-north-4": "CN North-Beijing4",
    "cn-north-9": "CN North-Ulanqab1",
    "cn-east-2": "CN East-Shanghai2",
    "cn-east-3": "CN East-Shanghai1",
    "cn-south-1": "CN South-Guangzhou",
    "cn-southwest-2": "CN Southwest-Guiyang1",
    "ap-southeast-1": "CN-Hong Kong",
    "ap-southeast-2": "AP-Bangkok",
    "ap-southeast-3": "AP-Singapore",
    "af-south-1": "AF-Johannesburg",
    "sa-brazil-1": "LA-Sao Paulo1",
    "la-south-2": "LA-Santiago",
    "la-north-2": "LA-Mexico City2",
    "tr-west-1": "TR-Istanbul",
    "me-east-1": "ME-Riyadh",
    "eu-west-101": "EU-Dublin",
}

_REPO_ROUTE = re.compile(
    r"/v2/manage/namespaces/([^/?#]+)/repos/([^/?#]+)/(sync_images|sync_job|sync_repo|tags)/?"
)
_ROUTES_FIXED = {
    "/v2/manage/repos": "repos",
    "/v2/manage/namespaces": "namespaces",
    "/v2/manage/regions": "regions",
}


class NoRoute(Exception):
    """The path/method pair is not an SWR API."""


def dispatch(state: EmulatorState, request: Request) -> Response:
    path = request.path.rstrip("/") or "/"
    fixed = _ROUTES_FIXED.get(path)
    if fixed is not None:
        if request.method != "GET":
            raise NoRoute
        handler: Callable[[EmulatorState, Request], Response] = {
            "repos": list_repos,
            "namespaces": list_namespaces,
            "regions": list_regions,
        }[fixed]
        return handler(state, request)
    match = _REPO_ROUTE.fullmatch(request.path)
    if match is None:
        raise NoRoute
    ns_raw, repo_raw, leaf = match.groups()
    namespace = unquote(ns_raw)
    repo_decoded = unquote(repo_raw)
    if "/" in namespace or "/" in repo_decoded:
        raise NoRoute  # %2F is a path separator, never part of a name
    repository = repo_decoded.replace("$", "/")
    key = (leaf, request.method)
    handlers: dict[tuple[str, str], Callable[[EmulatorState, Request, str, str], Response]] = {
        ("sync_images", "POST"): sync_images,
        ("sync_job", "GET"): list_sync_jobs,
        ("sync_repo", "GET"): list_sync_repos,
        ("sync_repo", "POST"): create_sync_repo,
        ("sync_repo", "DELETE"): delete_sync_repo,
        ("tags", "GET"): list_tags,
    }
    repo_handler = handlers.get(key)
    if repo_handler is None:
        raise NoRoute
    _validate_names(namespace, repository)
    return repo_handler(state, request, namespace, repository)


# -- helpers ----------------------------------------------------------------------------------------------------


def _bad(message: str, detail: str = "") -> Problem:
    return Problem.swr(400, INVALID_PARAM, message, detail)


def _validate_names(namespace: str, repository: str) -> None:
    try:
        validate_namespace(namespace)
        validate_repository(repository)
    except InvalidName as err:
        raise _bad(f"Invalid {err.kind} name: {err.detail} (rule: {err.rule})") from err


def _require_json(request: Request) -> None:
    content_type = request.header("Content-Type") or ""
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise _bad("Content-Type must be application/json", "got " + (repr(content_type[:60]) or "nothing"))


def _repo(state: EmulatorState, request: Request, namespace: str, repository: str) -> RepoRecord:
    data = state.region(request.region)
    if namespace not in data.namespaces:
        raise Problem.swr(404, NAMESPACE_NOT_FOUND, f"Namespace {namespace} not found")
    repo = data.repos.get((namespace, repository))
    if repo is None:
        raise Problem.swr(404, REPO_NOT_FOUND, f"Repository {namespace}/{repository} not found")
    return repo


def _bool(body: dict[str, Any], key: str, default: bool = False) -> bool:
    if key not in body:
        return default
    value = body[key]
    if not isinstance(value, bool):
        raise _bad(f"{key} must be a boolean")
    return value


def _region(state: EmulatorState, body: dict[str, Any], key: str = "remoteRegionId") -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise _bad(f"{key} is required and must be a string")
    if value not in state.regions:
        raise _bad(
            f"{key} {value[:64]!r} is not a valid region", "valid regions: " + ", ".join(state.regions)
        )
    return value


def _namespace_field(body: dict[str, Any], key: str = "remoteNamespace") -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise _bad(f"{key} is required and must be a string")
    try:
        return validate_namespace(value)
    except InvalidName as err:
        raise _bad(f"Invalid {key}: {err.detail} (rule: {err.rule})") from err


def _object(request: Request) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise _bad("request body must be a JSON object")
    return body


def _nonneg_int(name: str, text: str, low: int = 0, high: int | None = None) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise _bad(f"{name} must be a non-negative integer")
    value = int(text)
    if value < low or (high is not None and value > high):
        raise _bad(
            f"{name} must be between {low} and {high}" if high is not None else f"{name} must be >= {low}"
        )
    return value


def _parse_filter(value: str, allowed: set[str]) -> dict[str, str]:
    """``k1::v1|k2::v2`` → dict; 400 on malformed items, unknown or repeated keys."""
    out: dict[str, str] = {}
    for item in value.split("|"):
        key, sep, val = item.partition("::")
        if not sep or key not in allowed or key in out:
            raise _bad(f"invalid filter item {item[:40]!r}", "allowed keys: " + ", ".join(sorted(allowed)))
        out[key] = val
    return out


def _content_range(offset: int, count: int, total: int) -> dict[str, str]:
    return {"Content-Range": f"{offset}-{count}/{total}"}


# -- sync_images ------------------------------------------------------------------------------------------------


def sync_images(state: EmulatorState, request: Request, namespace: str, repository: str) -> Response:
    _require_json(request)
    body = _object(request)
    tags = body.get("imageTag")
    if not isinstance(tags, list) or not tags:
        raise _bad("imageTag is required and must be a non-empty array of strings")
    for tag in tags:
        if not isinstance(tag, str) or not tag:
            raise _bad("imageTag items must be non-empty strings")
        if not TAG_RE.fullmatch(tag):
            raise _bad(f"invalid tag {tag[:130]!r}", f"must match {TAG_RE.pattern}")
    remote_namespace = _namespace_field(body)
    remote_region = _region(state, body)
    override = _bool(body, "override")
    _repo(state, request, namespace, repository)
    try:
        failed, _ids = state.create_sync_jobs(
            namespace,
            repository,
            tags,
            remote_region,
            remote_namespace,
            override,
            request.region,
            request.user,
        )
    except StateError as err:
        raise _bad(str(err)) from err
    return Response.json(200, failed)


# -- sync_job ---------------------------------------------------------------------------------------------------


def list_sync_jobs(state: EmulatorState, request: Request, namespace: str, repository: str) -> Response:
    raw = request.query().get("filter")
    if raw is None:
        raise _bad("filter is required: limit::{limit}|offset::{offset}|order::{order}")
    parts = _parse_filter(raw, {"limit", "offset", "order"})
    if "limit" not in parts or "offset" not in parts:
        raise _bad("limit and offset are mandatory and must be used together")
    limit = _nonneg_int("limit", parts["limit"], 1, JOB_LIMIT_MAX)
    offset = _nonneg_int("offset", parts["offset"])
    order = parts.get("order", "desc")
    if order not in ("asc", "desc"):
        raise _bad("order must be asc or desc")
    _repo(state, request, namespace, repository)
    jobs = state.list_jobs(namespace, repository, request.region)
    jobs.sort(key=lambda j: j.id, reverse=order == "desc")
    page = jobs[offset : offset + limit]
    return Response.json(200, [state.job_wire(j) for j in page], _content_range(offset, len(page), len(jobs)))


# -- sync_repo --------------------------------------------------------------------------------------------------


def list_sync_repos(state: EmulatorState, request: Request, namespace: str, repository: str) -> Response:
    _repo(state, request, namespace, repository)
    policies = state.list_sync_repos(namespace, repository, request.region)
    return Response.json(200, [state.sync_repo_wire(p) for p in policies])


def create_sync_repo(state: EmulatorState, request: Request, namespace: str, repository: str) -> Response:
    _require_json(request)
    body = _object(request)
    remote_region = _region(state, body)
    remote_namespace = _namespace_field(body)
    sync_auto = _bool(body, "syncAuto")
    override = _bool(body, "override")
    _repo(state, request, namespace, repository)
    try:
        state.add_sync_repo(
            namespace,
            repository,
            remote_region,
            remote_namespace,
            sync_auto,
            override,
            request.region,
            request.user,
        )
    except StateError as err:
        raise Problem.swr(409, CONFLICT, "Auto sync policy already exists", str(err)) from err
    return Response.empty(200)


def delete_sync_repo(state: EmulatorState, request: Request, namespace: str, repository: str) -> Response:
    _require_json(request)
    body = _object(request)
    remote_region = _region(state, body)
    remote_namespace = _namespace_field(body)
    _repo(state, request, namespace, repository)
    if not state.delete_sync_repo(namespace, repository, remote_region, remote_namespace, request.region):
        raise Problem.swr(404, POLICY_NOT_FOUND, "Auto sync policy not found")
    return Response.empty(204)


# -- tags -------------------------------------------------------------------------------------------------------


def list_tags(state: EmulatorState, request: Request, namespace: str, repository: str) -> Response:
    state.advance()
    repo = _repo(state, request, namespace, repository)
    q = request.query()
    items = list(repo.tags.values())
    if q.get("tag"):
        items = [t for t in items if q["tag"] in t.tag]
    column = q.get("order_column", "updated_at")
    if column not in ("updated_at", "created_at", "tag", "name"):
        raise _bad("order_column must be updated_at, created_at or tag")
    order_type = q.get("order_type", "desc")
    if order_type not in ("asc", "desc"):
        raise _bad("order_type must be asc or desc")
    keyfunc: Callable[[Any], Any] = {
        "updated_at": lambda t: (t.updated, t.tag),
        "created_at": lambda t: (t.created, t.tag),
        "tag": lambda t: t.tag,
        "name": lambda t: t.tag,
    }[column]
    items.sort(key=keyfunc, reverse=order_type == "desc")
    offset, limit = _paging(q, default_limit=None)
    total = len(items)
    page = items[offset : offset + limit] if limit is not None else items[offset:]
    wire = [
        {
            "Tag": t.tag,
            "digest": t.digest,
            "size": t.size,
            "created": fmt_time(t.created),
            "updated": fmt_time(t.updated),
        }
        for t in page
    ]
    return Response.json(200, wire, _content_range(offset, len(page), total))


def _paging(q: dict[str, str], default_limit: int | None) -> tuple[int, int | None]:
    has_limit, has_offset = "limit" in q, "offset" in q
    if has_limit != has_offset:
        raise _bad("limit and offset must be used together")
    if not has_limit:
        return 0, default_limit
    limit = _nonneg_int("limit", q["limit"], 1, REPO_LIMIT_MAX)
    offset = _nonneg_int("offset", q["offset"])
    if offset % limit:
        raise _bad("offset must be 0 or a multiple of limit")
    return offset, limit


# -- repos, namespaces, regions ---------------------------------------------------------------------------------


def list_repos(state: EmulatorState, request: Request) -> Response:
    state.advance()
    q = request.query()
    if "filter" in q:
        q = _parse_filter(
            q["filter"], {"namespace", "name", "category", "offset", "limit", "order_column", "order_type"}
        )
    offset, limit = _paging(q, REPO_LIMIT_DEFAULT)
    assert limit is not None
    region = request.region
    data = state.region(region)
    repos = list(data.repos.values())
    if q.get("namespace"):
        repos = [r for r in repos if q["namespace"] in r.namespace]  # fuzzy, like SWR
    if q.get("name"):
        repos = [r for r in repos if q["name"] in r.name]
    if q.get("category"):
        repos = [r for r in repos if r.category == q["category"]]
    if q.get("is_public") in ("true", "false"):
        repos = [r for r in repos if r.is_public == (q["is_public"] == "true")]
    column = q.get("order_column")
    order_type = q.get("order_type", "desc" if column else "asc")
    if order_type not in ("asc", "desc"):
        raise _bad("order_type must be asc or desc")
    keys: dict[str, Callable[[RepoRecord], Any]] = {
        "name": lambda r: (r.namespace, r.name),
        "updated_time": lambda r: (r.updated, r.namespace, r.name),
        "tag_count": lambda r: (len(r.tags), r.namespace, r.name),
    }
    if column is not None and column not in keys:
        raise _bad("order_column must be name, updated_time or tag_count")
    repos.sort(key=keys[column or "name"], reverse=order_type == "desc")
    total = len(repos)
    page = repos[offset : offset + limit]
    domain = state.default_user().domain
    host = f"swr.{request.region}.myhuaweicloud.com"
    wire = [
        {
            "name": r.name,
            "namespace": r.namespace,
            "category": r.category,
            "description": r.description,
            "size": sum(t.size for t in r.tags.values()),
            "is_public": r.is_public,
            "num_images": len(r.tags),
            "num_download": 0,
            "created_at": fmt_time(r.created),
            "updated_at": fmt_time(r.updated),
            "logo": "",
            "url": "",
            "path": f"{host}/{r.namespace}/{r.name}",
            "internal_path": f"swr.{request.region}.internal/{r.namespace}/{r.name}",
            "domain_name": domain,
            "tags": sorted(r.tags),
            "status": False,
            "total_range": total,
        }
        for r in page
    ]
    return Response.json(200, wire, _content_range(offset, len(page), total))


def list_namespaces(state: EmulatorState, request: Request) -> Response:
    q = request.query()
    wanted = ""
    if "filter" in q:
        wanted = _parse_filter(q["filter"], {"namespace", "mode"}).get("namespace", "")
    data = state.region(request.region)
    items = [
        {"id": n.id, "name": n.name, "creator_name": n.creator_name, "auth": 7}
        for n in sorted(data.namespaces.values(), key=lambda n: n.name)
        if wanted in n.name
    ]
    return Response.json(200, {"namespaces": items})


def list_regions(state: EmulatorState, request: Request) -> Response:
    return Response.json(200, [{"regionID": r, "name": REGION_NAMES.get(r, r)} for r in state.regions])
