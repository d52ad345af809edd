"""Which repositories the monitor scans: explicit ``namespace/repository`` entries, globs expanded by listing,
and whole namespaces discovered with ``client.iter_repos`` (paginated), listed with bounded concurrency."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from shared.logs.redact import clip
from shared.record import record
from shared.rules import Pattern, RuleError, compile_pattern
from shared.swr.errors import ApiError, AuthError, DeadlineExceeded, NotFound, TransportError
from shared.swr.names import InvalidName, validate_namespace, validate_repository
from shared.swr.paging import ListingIncomplete

if TYPE_CHECKING:
    from shared.swr.catalog import Repository  # loaded by the client with a run's first namespace listing
    from shared.swr.client import SwrClient
    from shared.swr.http import Deadline
    from shared.swr.paging import PageBudget

T = TypeVar("T")
R = TypeVar("R")
REPO_PAGE_SIZE = 100
_GLOB_CHARS = frozenset("*?{}")


@record(frozen=True, order=True)
class RepoRef:
    """One repository in scope (namespace, repository)."""

    namespace: str
    repository: str

    @property
    def full(self) -> str:
        return f"{self.namespace}/{self.repository}"


@record(frozen=True)
class Gap:
    """Something that was not (completely) scanned, and why.

    ``reason`` is one of: ``auth`` (401/403), ``unreachable`` (network, 5xx after retries), ``not_found``,
    ``deadline``, ``page_limit`` (MONITOR_MAX_PAGES or the scan's page budget reached), ``no_progress`` (a
    listing repeated itself: the server ignores ``offset``), ``error`` (anything else).
    """

    target: str  # "ns/repo", or "ns/*" for a namespace that could not be listed, or a pattern
    reason: str
    detail: str = ""
    partial: bool = False  # some of the target's history was read

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"repository": self.target, "reason": self.reason}
        if self.detail:
            out["detail"] = self.detail
        if self.partial:
            out["partial"] = True
        return out


def error_reason(err: BaseException) -> tuple[str, str]:
    """(reason, detail) of a failed SWR call, for reports; never a credential (errors are scrubbed)."""
    if isinstance(err, DeadlineExceeded):
        return "deadline", "the function's time ran out"
    if isinstance(err, ListingIncomplete):
        return err.reason, clip(str(err), 200)
    if isinstance(err, AuthError):
        return "auth", f"HTTP {err.status} {err.code}".strip()
    if isinstance(err, NotFound):
        return "not_found", f"HTTP 404 {err.code}".strip()
    if isinstance(err, TransportError):
        return "unreachable", str(err)[:200]
    if isinstance(err, ApiError):
        if err.status >= 500 or err.status == 429:
            return "unreachable", f"HTTP {err.status} {err.code}".strip()
        return "error", f"HTTP {err.status} {err.code}: {err.message}"[:200]
    return "error", clip(f"{type(err).__name__}: {err}", 200)


def is_glob(text: str) -> bool:
    return text.startswith("re:") or any(c in _GLOB_CHARS for c in text)


def _split(entry: str) -> tuple[str, str]:
    namespace, sep, repository = entry.partition("/")
    if not sep or not namespace or not repository:
        raise RuleError(f"{entry[:80]!r}: expected namespace/repository")
    return namespace, repository


def _namespace_pattern(text: str) -> Pattern:
    if is_glob(text):
        return compile_pattern(text, allow_slash=False)
    validate_namespace(text)
    return compile_pattern(text, allow_slash=False)


def _repository_pattern(text: str) -> Pattern:
    if is_glob(text):
        return compile_pattern(text, allow_slash=True)
    validate_repository(text)
    return compile_pattern(text, allow_slash=True)


def pattern_problems(entries: Sequence[str], repos: bool) -> list[str]:
    """Every invalid entry of MONITOR_REPOS (``repos=True``) or MONITOR_NAMESPACES, one message each."""
    problems: list[str] = []
    for entry in entries:
        try:
            if repos:
                namespace, repository = _split(entry)
                _namespace_pattern(namespace)
                _repository_pattern(repository)
            else:
                _namespace_pattern(entry)
        except (RuleError, InvalidName) as err:
            problems.append(str(err))
    return problems


@record(frozen=True)
class _Entry:
    """One parsed MONITOR_REPOS / MONITOR_NAMESPACES entry."""

    text: str
    namespace: Pattern
    repository: Pattern | None  # None: every repository of the namespace
    exact_namespace: str | None
    exact_repository: str | None


def _entries(repo_patterns: Sequence[str], namespaces: Sequence[str]) -> list[_Entry]:
    out: list[_Entry] = []
    for text in repo_patterns:
        ns, repo = _split(text)
        out.append(
            _Entry(
                text,
                _namespace_pattern(ns),
                _repository_pattern(repo),
                None if is_glob(ns) else ns,
                None if is_glob(repo) else repo,
            )
        )
    for text in namespaces:
        out.append(_Entry(f"{text}/*", _namespace_pattern(text), None, None if is_glob(text) else text, None))
    return out


def parallel(fn: Callable[[T], R], items: Sequence[T], concurrency: int) -> list[R]:
    """``[fn(x) for x in items]`` with at most ``concurrency`` threads; log context carried into workers."""
    if not items:
        return []
    workers = max(1, min(concurrency, len(items)))
    if workers == 1:
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="monitor") as pool:
        futures = [pool.submit(contextvars.copy_context().run, fn, item) for item in items]
        return [f.result() for f in futures]


def resolve(
    client: SwrClient,
    repo_patterns: Sequence[str],
    namespaces: Sequence[str],
    concurrency: int,
    deadline: Deadline,
    max_pages: int = 10_000,
    budget: PageBudget | None = None,
) -> tuple[list[RepoRef], list[Gap]]:
    """Expand the configured scope to concrete repositories; what could not be listed comes back as gaps.

    Exact ``namespace/repository`` entries cost nothing (a missing one is reported ``not_found`` by the scan).
    A glob in the namespace part needs one ``list_namespaces`` call; every namespace that must be searched
    (glob in either part, or monitored whole) is listed once with ``iter_repos``.
    """
    entries = _entries(repo_patterns, namespaces)
    found: set[RepoRef] = set()
    gaps: list[Gap] = []
    to_list: dict[str, list[_Entry]] = {}
    glob_ns = [e for e in entries if e.exact_namespace is None]
    for entry in entries:
        if entry.exact_namespace is not None and entry.exact_repository is not None:
            found.add(RepoRef(entry.exact_namespace, entry.exact_repository))
        elif entry.exact_namespace is not None:
            to_list.setdefault(entry.exact_namespace, []).append(entry)
    if glob_ns:
        try:
            known = [n.name for n in client.list_namespaces()]
        except Exception as err:
            reason, detail = error_reason(err)
            gaps.extend(Gap(e.text, reason, detail) for e in glob_ns)
            known = []
        for name in known:
            for entry in glob_ns:
                if entry.namespace.matches(name):
                    # Listed even for an exact repository part: "*/app" must not report every namespace
                    # without an "app" as a missing repository.
                    to_list.setdefault(name, []).append(entry)

    def list_namespace(namespace: str) -> tuple[list[str], Gap | None]:
        if deadline.expired:
            return [], Gap(f"{namespace}/*", "deadline", "not listed: the scan's time ran out")
        try:
            repos: Iterator[Repository] = client.iter_repos(
                namespace, page_size=REPO_PAGE_SIZE, max_pages=max_pages, budget=budget
            )
            return [r.name for r in repos], None
        except Exception as err:
            reason, detail = error_reason(err)
            return [], Gap(f"{namespace}/*", reason, detail)

    listed = parallel(list_namespace, sorted(to_list), concurrency)
    for namespace, (names, gap) in zip(sorted(to_list), listed, strict=True):
        if gap is not None:
            gaps.append(gap)
        for name in names:
            if any(e.repository is None or e.repository.matches(name) for e in to_list[namespace]):
                found.add(RepoRef(namespace, name))
    return sorted(found), gaps
