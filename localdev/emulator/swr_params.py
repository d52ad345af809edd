"""Reading an SWR API request: names, JSON bodies, fields, filters and paging, each refused with SWR's 400."""

from __future__ import annotations

from typing import Any

from shared.swr.names import InvalidName, validate_namespace, validate_repository

from .state import EmulatorState, RepoRecord
from .wire import INVALID_PARAM, NAMESPACE_NOT_FOUND, REPO_NOT_FOUND, Problem, Request

REPO_LIMIT_MAX = 1000


def bad(message: str, detail: str = "") -> Problem:
    return Problem.swr(400, INVALID_PARAM, message, detail)


def validate_names(namespace: str, repository: str) -> None:
    try:
        validate_namespace(namespace)
        validate_repository(repository)
    except InvalidName as err:
        raise bad(f"Invalid {err.kind} name: {err.detail} (rule: {err.rule})") from err


def require_json(request: Request) -> None:
    content_type = request.header("Content-Type") or ""
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise bad("Content-Type must be application/json", "got " + (repr(content_type[:60]) or "nothing"))


def existing_repo(state: EmulatorState, request: Request, namespace: str, repository: str) -> RepoRecord:
    data = state.region(request.region)
    if namespace not in data.namespaces:
        raise Problem.swr(404, NAMESPACE_NOT_FOUND, f"Namespace {namespace} not found")
    repo = data.repos.get((namespace, repository))
    if repo is None:
        raise Problem.swr(404, REPO_NOT_FOUND, f"Repository {namespace}/{repository} not found")
    return repo


def flag(body: dict[str, Any], key: str, default: bool = False) -> bool:
    if key not in body:
        return default
    value = body[key]
    if not isinstance(value, bool):
        raise bad(f"{key} must be a boolean")
    return value


def region_field(state: EmulatorState, body: dict[str, Any], key: str = "remoteRegionId") -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise bad(f"{key} is required and must be a string")
    if value not in state.regions:
        raise bad(f"{key} {value[:64]!r} is not a valid region", "valid regions: " + ", ".join(state.regions))
    return value


def namespace_field(body: dict[str, Any], key: str = "remoteNamespace") -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise bad(f"{key} is required and must be a string")
    try:
        return validate_namespace(value)
    except InvalidName as err:
        raise bad(f"Invalid {key}: {err.detail} (rule: {err.rule})") from err


def json_object(request: Request) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise bad("request body must be a JSON object")
    return body


def nonneg_int(name: str, text: str, low: int = 0, high: int | None = None) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise bad(f"{name} must be a non-negative integer")
    value = int(text)
    if value < low or (high is not None and value > high):
        raise bad(
            f"{name} must be between {low} and {high}" if high is not None else f"{name} must be >= {low}"
        )
    return value


def parse_filter(value: str, allowed: set[str]) -> dict[str, str]:
    """``k1::v1|k2::v2`` → dict; 400 on malformed items, unknown or repeated keys."""
    out: dict[str, str] = {}
    for item in value.split("|"):
        key, sep, val = item.partition("::")
        if not sep or key not in allowed or key in out:
            raise bad(f"invalid filter item {item[:40]!r}", "allowed keys: " + ", ".join(sorted(allowed)))
        out[key] = val
    return out


def content_range(offset: int, count: int, total: int) -> dict[str, str]:
    return {"Content-Range": f"{offset}-{count}/{total}"}


def paging(q: dict[str, str], default_limit: int | None) -> tuple[int, int | None]:
    has_limit, has_offset = "limit" in q, "offset" in q
    if has_limit != has_offset:
        raise bad("limit and offset must be used together")
    if not has_limit:
        return 0, default_limit
    limit = nonneg_int("limit", q["limit"], 1, REPO_LIMIT_MAX)
    offset = nonneg_int("offset", q["offset"])
    if offset % limit:
        raise bad("offset must be 0 or a multiple of limit")
    return offset, limit
