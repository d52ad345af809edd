"""The SWR API client on stdlib urllib: the calls swr-sync needs, typed, retried, deadline-bounded."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Hashable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, TypeAdapter, ValidationError

from shared.record import field, record
from shared.swr import wirejson
from shared.swr.auth import Auth
from shared.swr.errors import TransportError
from shared.swr.http import (
    CallStats,
    Deadline,
    HttpRequest,
    HttpResponse,
    RetryPolicy,
    Transport,
    UrllibTransport,
    call_with_retries,
)
from shared.swr.models import ContentRange, SyncImagesRequest, SyncJob, Tag
from shared.swr.names import repo_path, validate_namespace
from shared.swr.paging import ListingIncomplete, PageBudget, Progress

if TYPE_CHECKING:
    from shared.swr.catalog import Namespace, Region, Repository, SyncRepo, SyncRepoRequest

M = TypeVar("M", bound=BaseModel)
USER_AGENT = "swr-sync/0.1"
MAX_LIST_ITEMS = 100_000  # items of a list that is not paged (tags, policies, regions)


@record
class Page:
    """One page of a paged list, with SWR's Content-Range (None if the server sent none or garbage)."""

    items: list[Any]
    content_range: ContentRange | None
    offset: int
    limit: int
    fetched: int | None = None  # items the server sent, before any client-side filtering of ``items``
    keys: list[Hashable] = field(default_factory=list)  # identity of every item sent (progress checks)
    cut: bool = False  # the server sent more items than ``limit``: only ``limit`` were read

    @property
    def has_more(self) -> bool:
        if self.content_range is not None:
            return self.content_range.has_more
        sent = len(self.items) if self.fetched is None else self.fetched
        return sent >= self.limit > 0


@record
class SwrClient:
    """The SWR API client: endpoint, authentication, transport and retry policy."""

    endpoint: str
    auth: Auth
    transport: Transport = field(default_factory=UrllibTransport)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    deadline: Deadline = field(default_factory=lambda: Deadline(None))
    stats: CallStats = field(default_factory=CallStats)
    on_retry: Callable[[int, float, BaseException], None] | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("SWR endpoint must be an http(s) URL")
        self.endpoint = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._host = parts.netloc
        self._prefix = parts.path.rstrip("/")

    # -- plumbing -------------------------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, query: dict[str, str] | None = None, body: Any = None
    ) -> HttpResponse:
        raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        full_path = self._prefix + path
        qs = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(query.items())) if query else ""

        def build() -> HttpRequest:
            req = HttpRequest(
                method,
                f"{self.endpoint}{path}{'?' + qs if qs else ''}",
                full_path,
                dict(query or {}),
                # urllib would add a form Content-Type to POSTs; SWR requires JSON on every call.
                {"Host": self._host, "Content-Type": "application/json", "User-Agent": USER_AGENT},
                raw,
            )
            self.auth.apply(req, self.deadline)
            return req

        return call_with_retries(
            self.transport, build, self.policy, self.deadline, self.auth.refresh, self.stats, self.on_retry
        )

    @staticmethod
    def _json(resp: HttpResponse, method: str, path: str, required: bool = False) -> Any:
        """The body as JSON; ``None`` for an empty body unless ``required``.

        Every call that reads an answer documents a JSON body (a list, even when empty): a 2xx without one is
        an answer we cannot interpret, so it is a (retryable) TransportError, never "nothing" or "success".
        """
        if not resp.body.strip():
            if required:
                raise TransportError(f"HTTP {resp.status} with an empty body: expected JSON", method, path)
            return None
        try:
            return wirejson.loads(resp.body)
        except wirejson.JsonError as err:
            raise TransportError(f"response body is not JSON ({err})", method, path) from None

    def _list(
        self, model: type[M], resp: HttpResponse, method: str, path: str, max_items: int | None = None
    ) -> list[M]:
        return self._list_cut(model, resp, method, path, max_items)[0]

    def _list_cut(
        self, model: type[M], resp: HttpResponse, method: str, path: str, max_items: int | None
    ) -> tuple[list[M], bool]:
        """The page's items (at most ``max_items``: the rest is not decoded), and whether it was cut.

        A list that is not paged (``max_items`` None) is refused beyond :data:`MAX_LIST_ITEMS` rather than
        decoded whole: a byte limit is not an item limit (16 MiB of ``{}`` is millions of models).
        """
        if not resp.body.strip():
            raise TransportError(f"HTTP {resp.status} with an empty body: expected JSON", method, path)
        try:
            data, cut = wirejson.loads_list(resp.body, MAX_LIST_ITEMS if max_items is None else max_items)
        except wirejson.JsonError as err:
            raise TransportError(f"response body is not JSON ({err})", method, path) from None
        if cut and max_items is None:
            raise TransportError(f"more than {MAX_LIST_ITEMS} items in one answer: refused", method, path)
        if not isinstance(data, list):
            raise TransportError(
                f"unexpected response shape: expected a JSON list, got {type(data).__name__}", method, path
            )
        try:
            return _list_adapter(model).validate_python(data), cut
        except ValidationError as err:
            raise TransportError(
                f"unexpected response shape: {err.error_count()} error(s)", method, path
            ) from err

    # -- manual sync ----------------------------------------------------------------------------------------

    def sync_images(self, namespace: str, repository: str, request: SyncImagesRequest) -> list[str]:
        """Trigger a manual sync; returns SWR's 200 list of tags verbatim.

        A 200 means "sync triggered". The seed pages disagree on what the list holds (tags synced successfully,
        or tags that failed), so callers keep it as it is and never call a tag synced or failed from it. Any
        other 2xx answer (empty, not JSON, not a list of strings) is not the documented answer: it raises a
        retryable :class:`TransportError` rather than claim the sync was triggered, because a redelivered sync
        only costs an ``existed`` job and a wrongly claimed one loses the image.
        """
        path = repo_path(namespace, repository, "sync_images")
        resp = self._call("POST", path, body=request.wire())
        data = self._json(resp, "POST", path, required=True)
        if not isinstance(data, list) or not all(isinstance(t, str) for t in data):
            raise TransportError("unexpected sync_images answer: expected a JSON list of tags", "POST", path)
        return list(data)

    # -- sync jobs ------------------------------------------------------------------------------------------

    def list_sync_jobs(
        self, namespace: str, repository: str, limit: int = 100, offset: int = 0, order: str = "desc"
    ) -> Page:
        if order not in ("asc", "desc"):
            raise ValueError("order must be asc or desc")
        path = repo_path(namespace, repository, "sync_job")
        resp = self._call("GET", path, {"filter": f"limit::{limit}|offset::{offset}|order::{order}"})
        # A server that ignores the limit gets its page cut at the limit (the rest is never decoded).
        jobs, cut = self._list_cut(SyncJob, resp, "GET", path, max(1, limit))
        content_range = None if cut else _content_range(resp, offset, len(jobs))
        return Page(jobs, content_range, offset, limit, keys=[job.id for job in jobs], cut=cut)

    def iter_sync_jobs(
        self,
        namespace: str,
        repository: str,
        page_size: int = 100,
        order: str = "desc",
        max_pages: int = 10_000,
    ) -> Iterator[SyncJob]:
        """Jobs page by page, driven by Content-Range; break out of the loop to stop early.

        Raises :class:`ListingIncomplete` when a page brings nothing new or ``max_pages`` run out first.
        """
        offset = 0
        progress = Progress()
        path = repo_path(namespace, repository, "sync_job")
        for _ in range(max_pages):
            page = self.list_sync_jobs(namespace, repository, page_size, offset, order)
            if page.items and not progress.advanced(page.keys):
                raise ListingIncomplete("no_progress", f"page at offset {offset} repeats earlier jobs", path)
            yield from page.items
            if not page.has_more or not page.items:
                return
            offset += len(page.items)
        raise ListingIncomplete("page_limit", f"more than {max_pages} pages", path)

    # -- auto-sync policies ---------------------------------------------------------------------------------

    def list_sync_repos(self, namespace: str, repository: str) -> list[SyncRepo]:
        from shared.swr.catalog import SyncRepo  # the catalogue's models: defined by the callers that read it

        path = repo_path(namespace, repository, "sync_repo")
        return self._list(SyncRepo, self._call("GET", path), "GET", path)

    def create_sync_repo(self, namespace: str, repository: str, request: SyncRepoRequest) -> None:
        self._call(
            "POST", repo_path(namespace, repository, "sync_repo"), body=request.model_dump(by_alias=True)
        )

    def delete_sync_repo(
        self, namespace: str, repository: str, remote_region_id: str, remote_namespace: str
    ) -> None:
        body = {"remoteRegionId": remote_region_id, "remoteNamespace": validate_namespace(remote_namespace)}
        self._call("DELETE", repo_path(namespace, repository, "sync_repo"), body=body)

    # -- discovery ------------------------------------------------------------------------------------------

    def list_repos(self, namespace: str, limit: int = 100, offset: int = 0) -> Page:
        from shared.swr.catalog import Repository

        path = "/v2/manage/repos"
        query = {"namespace": validate_namespace(namespace), "limit": str(limit), "offset": str(offset)}
        resp = self._call("GET", path, query)
        repos, cut = self._list_cut(Repository, resp, "GET", path, max(1, limit))
        # The namespace filter is a fuzzy match on SWR: keep exact matches only.
        exact = [r for r in repos if not r.namespace or r.namespace == namespace]
        content_range = None if cut else _content_range(resp, offset, len(repos))
        keys: list[Hashable] = [(r.namespace, r.name) for r in repos]
        return Page(exact, content_range, offset, limit, len(repos), keys, cut)

    def iter_repos(
        self,
        namespace: str,
        page_size: int = 100,
        max_pages: int = 10_000,
        budget: PageBudget | None = None,
    ) -> Iterator[Repository]:
        """Every repository of ``namespace``. Raises :class:`ListingIncomplete` when a page brings no repository
        not seen before (the server ignores ``offset``), or ``max_pages`` (or the scan's ``budget``) run out
        before the end: a listing never ends silently short."""
        offset = 0
        progress = Progress()
        path = "/v2/manage/repos"
        for _ in range(max_pages):
            if budget is not None and not budget.take():
                raise ListingIncomplete("page_limit", "the scan's page budget ran out", path)
            page = self.list_repos(namespace, page_size, offset)
            if page.fetched and not progress.advanced(page.keys):
                raise ListingIncomplete(
                    "no_progress", f"page at offset {offset} repeats earlier repositories", path
                )
            yield from page.items
            if not page.has_more or not page.fetched:
                return  # an empty page ends the listing whatever Content-Range claims
            offset += page_size  # SWR wants offset to be a multiple of limit
        raise ListingIncomplete("page_limit", f"more than {max_pages} pages of {page_size}", path)

    def list_namespaces(self) -> list[Namespace]:
        path = "/v2/manage/namespaces"
        data = self._json(self._call("GET", path), "GET", path, required=True)
        items = data.get("namespaces") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise TransportError("unexpected namespaces shape", "GET", path)
        from shared.swr.catalog import Namespace

        try:
            return _list_adapter(Namespace).validate_python(items)  # type: ignore[no-any-return]
        except ValidationError as err:
            raise TransportError("unexpected namespaces shape", "GET", path) from err

    def list_tags(self, namespace: str, repository: str) -> list[Tag]:
        path = repo_path(namespace, repository, "tags")
        return self._list(Tag, self._call("GET", path), "GET", path)

    def list_tags_page(self, namespace: str, repository: str, limit: int = 100, offset: int = 0) -> Page:
        """One page of a repository's tags, newest push first (a page longer than asked is cut at ``limit``)."""
        path = repo_path(namespace, repository, "tags")
        query = {
            "order_column": "updated_at",
            "order_type": "desc",
            "limit": str(limit),
            "offset": str(offset),
        }
        resp = self._call("GET", path, query)
        tags, cut = self._list_cut(Tag, resp, "GET", path, max(1, limit))
        content_range = None if cut else _content_range(resp, offset, len(tags))
        return Page(tags, content_range, offset, limit, len(tags), [t.tag for t in tags], cut)

    def iter_tags(
        self,
        namespace: str,
        repository: str,
        page_size: int = 100,
        max_pages: int = 1_000,
        on_page: Callable[[], None] | None = None,
    ) -> Iterator[Tag]:
        """Every tag, one request per page (``on_page`` counts them). Raises :class:`ListingIncomplete` when a
        page brings no tag not seen before, or ``max_pages`` run out: a listing never ends silently short."""
        offset = 0
        progress = Progress()
        path = repo_path(namespace, repository, "tags")
        for _ in range(max_pages):
            page = self.list_tags_page(namespace, repository, page_size, offset)
            if on_page is not None:
                on_page()
            if page.fetched and not progress.advanced(page.keys):
                raise ListingIncomplete("no_progress", f"page at offset {offset} repeats earlier tags", path)
            yield from page.items
            if not page.has_more or not page.fetched:
                return
            offset += page_size
        raise ListingIncomplete("page_limit", f"more than {max_pages} pages of {page_size}", path)

    def list_regions(self) -> list[Region]:
        from shared.swr.catalog import Region

        path = "/v2/manage/regions"
        return self._list(Region, self._call("GET", path), "GET", path)


@functools.lru_cache(maxsize=32)
def _list_adapter(model: type[BaseModel]) -> TypeAdapter[Any]:
    # Building a TypeAdapter costs 50-90 µs: keep one per model.
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _content_range(resp: HttpResponse, offset: int, received: int) -> ContentRange | None:
    """The page's Content-Range if it describes this very page (its offset, the items received), else None.

    A header that contradicts the page (another offset, another count) is a server bug: trusting it could skip
    items (a jump in offset) or stop early (a short total). Paging then falls back to the page length.
    """
    content_range = ContentRange.parse(resp.header("content-range"))
    if content_range is None or content_range.offset != offset or content_range.count != received:
        return None
    return content_range


def _quote(value: str) -> str:
    # Same encoding as the signer's canonical query, so the wire query equals the signed one.
    return quote(value, safe="~")
