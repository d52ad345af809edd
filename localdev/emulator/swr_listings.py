"""SWR API listings: a repository's tags, the repositories, namespaces and regions of a region."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .state import EmulatorState, RepoRecord, fmt_time
from .swr_params import bad, content_range, existing_repo, paging, parse_filter
from .wire import Request, Response

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


# -- tags -------------------------------------------------------------------------------------------------------


def list_tags(state: EmulatorState, request: Request, namespace: str, repository: str) -> Response:
    state.advance()
    repo = existing_repo(state, request, namespace, repository)
    q = request.query()
    items = list(repo.tags.values())
    if q.get("tag"):
        items = [t for t in items if q["tag"] in t.tag]
    column = q.get("order_column", "updated_at")
    if column not in ("updated_at", "created_at", "tag", "name"):
        raise bad("order_column must be updated_at, created_at or tag")
    order_type = q.get("order_type", "desc")
    if order_type not in ("asc", "desc"):
        raise bad("order_type must be asc or desc")
    keyfunc: Callable[[Any], Any] = {
        "updated_at": lambda t: (t.updated, t.tag),
        "created_at": lambda t: (t.created, t.tag),
        "tag": lambda t: t.tag,
        "name": lambda t: t.tag,
    }[column]
    items.sort(key=keyfunc, reverse=order_type == "desc")
    offset, limit = paging(q, default_limit=None)
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
    return Response.json(200, wire, content_range(offset, len(page), total))


# -- repos, namespaces, regions ---------------------------------------------------------------------------------


def list_repos(state: EmulatorState, request: Request) -> Response:
    state.advance()
    q = request.query()
    if "filter" in q:
        q = parse_filter(
            q["filter"], {"namespace", "name", "category", "offset", "limit", "order_column", "order_type"}
        )
    offset, limit = paging(q, REPO_LIMIT_DEFAULT)
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
        raise bad("order_type must be asc or desc")
    keys: dict[str, Callable[[RepoRecord], Any]] = {
        "name": lambda r: (r.namespace, r.name),
        "updated_time": lambda r: (r.updated, r.namespace, r.name),
        "tag_count": lambda r: (len(r.tags), r.namespace, r.name),
    }
    if column is not None and column not in keys:
        raise bad("order_column must be name, updated_time or tag_count")
    repos.sort(key=keys[column or "name"], reverse=order_type == "desc")
    total = len(repos)
    page = repos[offset : offset + limit]
    domain = state.default_user().domain
    wire = [_repo_wire(r, request.region, domain, total) for r in page]
    return Response.json(200, wire, content_range(offset, len(page), total))


def _repo_wire(r: RepoRecord, region: str, domain: str, total: int) -> dict[str, Any]:
    """A repository exactly in SWR's ``list repos`` item shape."""
    host = f"swr.{region}.myhuaweicloud.com"
    return {
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
        "internal_path": f"swr.{region}.internal/{r.namespace}/{r.name}",
        "domain_name": domain,
        "tags": sorted(r.tags),
        "status": False,
        "total_range": total,
    }


def list_namespaces(state: EmulatorState, request: Request) -> Response:
    q = request.query()
    wanted = ""
    if "filter" in q:
        wanted = parse_filter(q["filter"], {"namespace", "mode"}).get("namespace", "")
    data = state.region(request.region)
    items = [
        {"id": n.id, "name": n.name, "creator_name": n.creator_name, "auth": 7}
        for n in sorted(data.namespaces.values(), key=lambda n: n.name)
        if wanted in n.name
    ]
    return Response.json(200, {"namespaces": items})


def list_regions(state: EmulatorState, request: Request) -> Response:
    return Response.json(200, [{"regionID": r, "name": REGION_NAMES.get(r, r)} for r in state.regions])
