"""SWR API routes of sync jobs and auto-sync policies: ``sync_images``, ``sync_job`` and ``sync_repo``."""

from __future__ import annotations

from shared.swr.models import TAG_RE

from .state import EmulatorState, StateError
from .swr_params import (
    bad,
    content_range,
    existing_repo,
    flag,
    json_object,
    namespace_field,
    nonneg_int,
    parse_filter,
    region_field,
    require_json,
)
from .wire import CONFLICT, POLICY_NOT_FOUND, Problem, Request, Response

JOB_LIMIT_MAX = 1000


# -- sync_images ------------------------------------------------------------------------------------------------


def sync_images(state: EmulatorState, request: Request, namespace: str, repository: str) -> Response:
    require_json(request)
    body = json_object(request)
    tags = body.get("imageTag")
    if not isinstance(tags, list) or not tags:
        raise bad("imageTag is required and must be a non-empty array of strings")
    for tag in tags:
        if not isinstance(tag, str) or not tag:
            raise bad("imageTag items must be non-empty strings")
        if not TAG_RE.fullmatch(tag):
            raise bad(f"invalid tag {tag[:130]!r}", f"must match {TAG_RE.pattern}")
    remote_namespace = namespace_field(body)
    remote_region = region_field(state, body)
    override = flag(body, "override")
    existing_repo(state, request, namespace, repository)
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
        raise bad(str(err)) from err
    return Response.json(200, failed)


# -- sync_job ---------------------------------------------------------------------------------------------------


def list_sync_jobs(state: EmulatorState, request: Request, namespace: str, repository: str) -> Response:
    raw = request.query().get("filter")
    if raw is None:
        raise bad("filter is required: limit::{limit}|offset::{offset}|order::{order}")
    parts = parse_filter(raw, {"limit", "offset", "order"})
    if "limit" not in parts or "offset" not in parts:
        raise bad("limit and offset are mandatory and must be used together")
    limit = nonneg_int("limit", parts["limit"], 1, JOB_LIMIT_MAX)
    offset = nonneg_int("offset", parts["offset"])
    order = parts.get("order", "desc")
    if order not in ("asc", "desc"):
        raise bad("order must be asc or desc")
    existing_repo(state, request, namespace, repository)
    jobs = state.list_jobs(namespace, repository, request.region)
    jobs.sort(key=lambda j: j.id, reverse=order == "desc")
    page = jobs[offset : offset + limit]
    return Response.json(200, [state.job_wire(j) for j in page], content_range(offset, len(page), len(jobs)))


# -- sync_repo --------------------------------------------------------------------------------------------------


def list_sync_repos(state: EmulatorState, request: Request, namespace: str, repository: str) -> Response:
    existing_repo(state, request, namespace, repository)
    policies = state.list_sync_repos(namespace, repository, request.region)
    return Response.json(200, [state.sync_repo_wire(p) for p in policies])


def create_sync_repo(state: EmulatorState, request: Request, namespace: str, repository: str) -> Response:
    require_json(request)
    body = json_object(request)
    remote_region = region_field(state, body)
    remote_namespace = namespace_field(body)
    sync_auto = flag(body, "syncAuto")
    override = flag(body, "override")
    existing_repo(state, request, namespace, repository)
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
    require_json(request)
    body = json_object(request)
    remote_region = region_field(state, body)
    remote_namespace = namespace_field(body)
    existing_repo(state, request, namespace, repository)
    if not state.delete_sync_repo(namespace, repository, remote_region, remote_namespace, request.region):
        raise Problem.swr(404, POLICY_NOT_FOUND, "Auto sync policy not found")
    return Response.empty(204)
