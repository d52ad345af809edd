"""SWR "manage" API handlers (reference section 6 and the seed pages), in SWR's documented shapes.

Routing works on the *raw* path (region prefix removed). The repository segment may carry ``$`` raw or as
``%24``; a ``%2F`` (or a raw ``/``) inside it is not a repository, so such a path does not match any route.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote

from .state import EmulatorState
from .swr_listings import list_namespaces, list_regions, list_repos, list_tags
from .swr_params import validate_names
from .swr_sync import create_sync_repo, delete_sync_repo, list_sync_jobs, list_sync_repos, sync_images
from .wire import Request, Response

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
    validate_names(namespace, repository)
    return repo_handler(state, request, namespace, repository)
