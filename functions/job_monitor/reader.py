"""Incremental reading of ``sync_job``: newest first, page by page (Content-Range driven), stopping at the first
page that reaches back past the read horizon. A repository with thousands of old jobs and nothing new costs one
request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from functions.job_monitor.scope import Gap, RepoRef, error_reason, parallel
from shared.record import field, record
from shared.swr.models import SyncJob
from shared.swr.paging import PageBudget, Progress

if TYPE_CHECKING:
    from shared.swr.client import SwrClient
    from shared.swr.http import Deadline


@record
class RepoJobs:
    """The jobs of one repository created at or after the horizon, newest first, and how reading ended.

    ``stop`` is ``horizon`` (a job older than the horizon was reached) or ``end`` (no more jobs); anything else
    (``page_limit``, ``no_progress``, ``deadline``, or an error reason for a later page) means the history was
    cut short.
    """

    repo: RepoRef
    jobs: list[SyncJob] = field(default_factory=list)
    pages: int = 0
    stop: str = "end"
    detail: str = ""

    @property
    def complete(self) -> bool:
        return self.stop in ("horizon", "end")


# Over 60 lines on purpose: a docstring of 12 and one paging loop whose seven exits (budget, error, no progress,
# horizon, end, page limit, deadline) read best side by side.
def read_repo(
    client: SwrClient,
    repo: RepoRef,
    horizon_start: datetime,
    page_size: int,
    max_pages: int,
    deadline: Deadline,
    budget: PageBudget | None = None,
) -> RepoJobs:
    """Page ``sync_job`` in ``desc`` order until a page reaches a job created before ``horizon_start``.

    Whether more pages exist comes from Content-Range when SWR sends one that matches the page, else from the
    page length.
    Jobs without ``createdAt`` are kept (their age is unknown). Raises what the client raises for the first
    page; a failure on a later page keeps what was read and ends with ``stop`` = the error's reason.

    Every loop is bounded by progress and by count: a page that brings no job not seen on an earlier page (the
    server ignores ``offset``) ends with ``no_progress``; ``max_pages`` per repository, and the scan's shared
    ``budget`` of pages, end with ``page_limit``.
    """
    out = RepoJobs(repo)
    offset = 0
    progress = Progress()
    budget = budget or PageBudget(None)
    while True:
        if not budget.take():
            out.stop, out.detail = "page_limit", "the scan's page budget ran out"
            if not out.pages:
                raise _NotRead("page_limit", "not scanned: the scan's page budget ran out")
            return out
        try:
            page = client.list_sync_jobs(repo.namespace, repo.repository, page_size, offset, "desc")
        except Exception as err:
            if not out.pages:
                raise
            out.stop, out.detail = error_reason(err)
            return out
        out.pages += 1
        if page.items and not progress.advanced(page.keys):
            out.stop = "no_progress"
            out.detail = f"the page at offset {offset} repeats earlier jobs (the server ignores offset)"
            return out
        reached_old = False
        for job in page.items:
            if job.created_at is not None and job.created_at < horizon_start:
                reached_old = True
                continue
            out.jobs.append(job)
        if reached_old:
            out.stop = "horizon"
            return out
        if not page.items or not page.has_more:
            out.stop = "end"
            return out
        if out.pages >= max_pages:
            out.stop = "page_limit"
            return out
        if deadline.expired:
            out.stop = "deadline"
            return out
        # The client keeps a Content-Range only when it matches this page, so this is its next offset too.
        offset += len(page.items)


class _NotRead(Exception):
    """Nothing of the repository could be read (before its first page)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@record
class ScanResult:
    """What one scan read: the repositories' jobs, the gaps, and errors by reason."""

    read: list[RepoJobs] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)  # reason -> repositories


def scan(
    client: SwrClient,
    repos: Sequence[RepoRef],
    horizon_start: datetime,
    page_size: int,
    max_pages: int,
    concurrency: int,
    deadline: Deadline,
    budget: PageBudget | None = None,
) -> ScanResult:
    """Read every repository with bounded concurrency; a repository is skipped once ``deadline`` expired or
    the scan's page ``budget`` is spent."""

    def one(repo: RepoRef) -> RepoJobs | Gap:
        if deadline.expired:
            return Gap(repo.full, "deadline", "not scanned: the scan's time ran out")
        try:
            return read_repo(client, repo, horizon_start, page_size, max_pages, deadline, budget)
        except _NotRead as err:
            return Gap(repo.full, err.reason, err.detail)
        except Exception as err:
            reason, detail = error_reason(err)
            if reason == "unreachable" and deadline.expired:
                reason = "deadline"  # a socket timeout cut short by the function's own deadline
            return Gap(repo.full, reason, detail)

    result = ScanResult()
    for item in parallel(one, list(repos), concurrency):
        if isinstance(item, Gap):
            result.gaps.append(item)
            result.errors[item.reason] = result.errors.get(item.reason, 0) + 1
            continue
        result.read.append(item)
        if not item.complete:
            detail = f"history cut short after {item.pages} page(s)" + (
                f": {item.detail}" if item.detail else ""
            )
            result.gaps.append(Gap(item.repo.full, item.stop, detail, partial=True))
    return result
