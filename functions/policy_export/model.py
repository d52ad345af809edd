"""The exported row, repository references, per-repository errors and the export result."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from shared.record import field, record
from shared.swr.catalog import SyncRepo
from shared.swr.errors import ApiError, DeadlineExceeded, SwrSyncError, TransportError

# Stable column order of every format (CSV header, JSON object keys, NDJSON line keys).
COLUMNS = (
    "namespace",
    "repository",
    "remote_region_id",
    "remote_namespace",
    "sync_auto",
    "override",
    "id",
    "created_at",
    "updated_at",
)
MESSAGE_MAX = 300


def fmt_time(value: datetime | None) -> str:
    """UTC, microseconds, ``Z``: ``2020-04-17T02:11:03.531830Z``; ``""`` when SWR sent no time."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@record(frozen=True, order=True)
class RepoRef:
    """One repository to export (namespace, repository)."""

    namespace: str
    repository: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.repository}"


@record(frozen=True)
class Policy:
    """One auto-sync policy of one repository, as exported."""

    namespace: str
    repository: str
    remote_region_id: str
    remote_namespace: str
    sync_auto: bool
    override: bool
    id: int
    created_at: str
    updated_at: str

    @classmethod
    def from_sync_repo(cls, ref: RepoRef, item: SyncRepo) -> Policy:
        # The path we asked for is authoritative; SWR's echo of it (namespace/repoName) may be empty.
        return cls(
            ref.namespace,
            ref.repository,
            item.remote_region_id,
            item.remote_namespace,
            item.sync_auto,
            item.override,
            item.id,
            fmt_time(item.created_at),
            fmt_time(item.updated_at),
        )

    @property
    def sort_key(self) -> tuple[str, str, str, str, int]:
        return (self.namespace, self.repository, self.remote_region_id, self.remote_namespace, self.id)

    def as_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in COLUMNS}


@record(frozen=True)
class FetchError:
    """A repository whose policies could not be listed: it is reported, never silently left out."""

    namespace: str
    repository: str
    kind: str  # api | not_found | auth | transport | deadline | internal
    status: int | None
    code: str
    message: str
    retryable: bool
    request_id: str = ""

    @classmethod
    def from_exception(cls, ref: RepoRef, err: BaseException) -> FetchError:
        message = _one_line(str(err))
        if isinstance(err, ApiError):
            kind = {401: "auth", 403: "auth", 404: "not_found"}.get(err.status, "api")
            text = _one_line(err.message) or message
            return cls(
                ref.namespace, ref.repository, kind, err.status, err.code, text, err.retryable, err.request_id
            )
        if isinstance(err, DeadlineExceeded):
            return cls(ref.namespace, ref.repository, "deadline", None, "", message, True)
        if isinstance(err, TransportError):
            return cls(ref.namespace, ref.repository, "transport", None, "", message, True)
        retryable = isinstance(err, SwrSyncError) and err.retryable
        return cls(ref.namespace, ref.repository, "internal", None, "", type(err).__name__, retryable)

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.namespace, self.repository)

    def as_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "repository": self.repository,
            "kind": self.kind,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "retryable": self.retryable,
            "request_id": self.request_id,
        }

    def summary(self) -> str:
        status = f"HTTP {self.status}" if self.status else self.kind
        code = f" {self.code}" if self.code else ""
        return f"{self.namespace}/{self.repository}: {status}{code}: {self.message}".rstrip(": ")


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MESSAGE_MAX else flat[: MESSAGE_MAX - 3] + "..."


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def content_hash(policies: list[Policy]) -> str:
    """sha256 of the canonical (sorted, compact, key-sorted) policy list: equal data, equal hash."""
    return hashlib.sha256(canonical_json([p.as_dict() for p in policies]).encode()).hexdigest()


@record
class FetchStats:
    """Counts of one export's SWR calls."""

    repositories: int = 0
    requests: int = 0
    retries: int = 0
    failures: int = 0
    max_in_flight: int = 0
    duration_ms: float = 0.0


@record
class ExportResult:
    """Everything one export found; rendering and paging work on this."""

    namespaces: tuple[str, ...]
    repositories: list[RepoRef]
    policies: list[Policy]  # sorted by Policy.sort_key, filtered by remote_region
    errors: list[FetchError]  # sorted by repository
    stats: FetchStats = field(default_factory=FetchStats)

    @property
    def coverage_complete(self) -> bool:
        return not self.errors

    @cached_property
    def content_hash(self) -> str:
        return content_hash(self.policies)
