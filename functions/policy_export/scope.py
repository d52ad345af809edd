"""Which repositories an export covers: named ones directly, globs against the namespace's listing."""

from __future__ import annotations

from functions.policy_export.model import RepoRef
from functions.policy_export.params import ExportQuery, RepoPattern
from shared.logs.logs import get_logger
from shared.record import record
from shared.swr.client import SwrClient
from shared.swr.errors import ApiError, DeadlineExceeded, NotFound, SwrSyncError, TransportError


class ScopeError(Exception):
    """A namespace could not be listed (or does not exist): no export is possible, so the request fails.

    ``status`` is what the HTTP function answers: 404 unknown namespace, 502 SWR answered with an error,
    503 SWR did not answer in time (retry later).
    """

    def __init__(self, namespace: str, status: int, message: str, cause: BaseException | None = None) -> None:
        self.namespace = namespace
        self.status = status
        self.message = message
        self.cause = cause
        super().__init__(message)

    def detail(self) -> dict[str, object]:
        out: dict[str, object] = {"namespace": self.namespace}
        if isinstance(self.cause, ApiError):
            out["upstream"] = self.cause.to_dict()
        elif self.cause is not None:
            out["upstream"] = {"error": type(self.cause).__name__, "message": str(self.cause)}
        return out


@record
class Scope:
    """The repositories an export covers."""

    repositories: list[RepoRef]
    listed_namespaces: int = 0


def resolve(client: SwrClient, query: ExportQuery, page_size: int = 100) -> Scope:
    """Repositories to export, sorted and de-duplicated. Raises ScopeError if a namespace cannot be listed."""
    log = get_logger()
    refs: set[RepoRef] = set()
    listed = 0
    for namespace in query.namespaces:
        patterns = query.repositories
        literals = [p for p in patterns if p.literal]
        if patterns and len(literals) == len(patterns):
            refs.update(RepoRef(namespace, p.text) for p in literals)
            continue
        names = _list(client, namespace, page_size)
        listed += 1
        matched = [n for n in names if _selected(n, patterns)]
        refs.update(RepoRef(namespace, n) for n in matched)
        # A named repository missing from the listing is still asked for: its 404 becomes an error entry.
        refs.update(RepoRef(namespace, p.text) for p in literals)
        log.info(
            "namespace listed",
            namespace=namespace,
            repositories=len(names),
            selected=len(matched),
            patterns=[p.text for p in patterns],
        )
    return Scope(sorted(refs), listed)


def _selected(name: str, patterns: tuple[RepoPattern, ...]) -> bool:
    return not patterns or any(p.matches(name) for p in patterns)


def _list(client: SwrClient, namespace: str, page_size: int) -> list[str]:
    try:
        names = [r.name for r in client.iter_repos(namespace, page_size=page_size)]
        if not names and not _namespace_exists(client, namespace):
            raise ScopeError(
                namespace, 404, f"namespace {namespace!r} not found (or not visible to this account)"
            )
        return names
    except ScopeError:
        raise
    except NotFound as err:
        raise ScopeError(namespace, 404, f"namespace {namespace!r} not found", err) from err
    except (DeadlineExceeded, TransportError) as err:
        raise ScopeError(
            namespace, 503, f"SWR did not answer while listing namespace {namespace!r}; try again later", err
        ) from err
    except ApiError as err:
        status = 503 if err.status == 429 or (err.retryable and err.status < 500) else 502
        raise ScopeError(
            namespace, status, f"SWR refused to list the repositories of namespace {namespace!r}: {err}", err
        ) from err
    except SwrSyncError as err:
        raise ScopeError(namespace, 502, f"listing namespace {namespace!r} failed: {err}", err) from err


def _namespace_exists(client: SwrClient, namespace: str) -> bool:
    """SWR's repository listing filters namespaces fuzzily and answers [] for unknown ones: ask explicitly.

    If the namespace list itself cannot be read (e.g. no permission), the namespace is assumed to exist: an
    empty export is then the honest answer, and failing the whole request would not be.
    """
    try:
        return any(n.name == namespace for n in client.list_namespaces())
    except SwrSyncError as err:
        get_logger().warning("namespace check skipped", namespace=namespace, error=str(err))
        return True
