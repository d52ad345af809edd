"""Sync jobs: their records, creation (``sync_images``, seeding), lifecycle on the clock, outcome, and wire shape.

A job is ``waiting`` for ``waiting_seconds`` after it was created, then ``running`` for ``running_seconds``, then
it finishes; :meth:`JobsMixin.advance` applies its outcome (the image copied to the target region) once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .accounts import User
from .common import Listing, StateError, fmt_time, random_digest
from .fault_injection import FaultsMixin
from .repositories import RepoRecord, RepositoriesMixin

JOB_STATUSES = ("waiting", "running", "success", "failed", "timeout", "cancel", "existed")
FINAL_STATUSES = ("success", "failed", "timeout", "cancel", "existed")


@dataclass
class SyncJobRecord:
    id: int
    region: str  # source region
    namespace: str
    repo_name: str
    tag: str
    remote_region_id: str
    remote_namespace: str
    override: bool
    created_at: datetime
    domain_id: str
    domain_name: str
    operator_id: str
    operator_name: str
    forced_status: str | None = None
    forced_at: datetime | None = None
    final_status: str | None = None
    finished_at: datetime | None = None
    reason: str = ""  # why it failed / existed (emulator-only, shown in /_emulator/state)


class JobsMixin(RepositoriesMixin, FaultsMixin):
    """Every sync job by id and by source repository; ``_pending`` holds those not finished yet."""

    _jobs: dict[int, SyncJobRecord]
    _jobs_by_repo: dict[tuple[str, str, str], list[int]]
    _pending: set[int]

    def _reset_jobs(self) -> None:
        self._jobs = {}
        self._jobs_by_repo = {}
        self._pending = set()

    def _new_job(
        self,
        region: str,
        namespace: str,
        repo_name: str,
        tag: str,
        remote_region_id: str,
        remote_namespace: str,
        override: bool,
        user: User,
        created_at: datetime | None = None,
    ) -> SyncJobRecord:
        job = SyncJobRecord(
            id=self._next("job"),
            region=region,
            namespace=namespace,
            repo_name=repo_name,
            tag=tag,
            remote_region_id=remote_region_id,
            remote_namespace=remote_namespace,
            override=override,
            created_at=created_at or self.now(),
            domain_id=user.domain_id,
            domain_name=user.domain,
            operator_id=user.id,
            operator_name=user.name,
        )
        self._index_job(job)
        self._pending.add(job.id)
        return job

    def _index_job(self, job: SyncJobRecord) -> None:
        self._jobs[job.id] = job
        self._jobs_by_repo.setdefault((job.region, job.namespace, job.repo_name), []).append(job.id)

    def create_sync_jobs(
        self,
        namespace: str,
        repository: str,
        tags: list[str],
        remote_region_id: str,
        remote_namespace: str,
        override: bool = False,
        region: str | None = None,
        user: User | None = None,
    ) -> tuple[list[str], list[int]]:
        """What ``sync_images`` does: one job per distinct existing tag. Returns (failed tags, job ids)."""
        with self.mutating():
            src = region or self.default_region
            repo = self.region(src).repos.get((namespace, repository))
            if repo is None:
                raise StateError(f"repository {namespace}/{repository} does not exist in {src}")
            if remote_region_id not in self.data:
                raise StateError(f"unknown region {remote_region_id!r}")
            user = user or self.default_user()
            failed: list[str] = []
            ids: list[int] = []
            seen: set[str] = set()
            for tag in tags:
                if tag in seen:
                    continue
                seen.add(tag)
                if tag not in repo.tags:
                    failed.append(tag)
                    continue
                job = self._new_job(
                    src, namespace, repository, tag, remote_region_id, remote_namespace, override, user
                )
                ids.append(job.id)
            return failed, ids

    def add_job(
        self,
        namespace: str,
        repository: str,
        tag: str,
        remote_region_id: str | None = None,
        remote_namespace: str | None = None,
        status: str | None = None,
        created_at: datetime | None = None,
        override: bool = False,
        region: str | None = None,
    ) -> int:
        """Seed a job directly (history). With a final ``status`` it is recorded as finished, no side effects;
        without one it follows the normal lifecycle from ``created_at`` (default now)."""
        if status is not None and status not in JOB_STATUSES:
            raise StateError(f"status must be one of {', '.join(JOB_STATUSES)}")
        with self.mutating():
            src = region or self.default_region
            self.add_repository(namespace, repository, src)
            remote_region_id = remote_region_id or next((r for r in self.regions if r != src), src)
            remote_namespace, user = remote_namespace or namespace, self.default_user()
            job = self._new_job(
                src,
                namespace,
                repository,
                tag,
                remote_region_id,
                remote_namespace,
                override,
                user,
                created_at,
            )
            if status in FINAL_STATUSES:
                self._pending.discard(job.id)
                job.final_status = status
                job.finished_at = job.created_at + timedelta(
                    seconds=self.waiting_seconds + self.running_seconds
                )
            elif status is not None:
                job.forced_status, job.forced_at = status, job.created_at
                self._pending.discard(job.id)
            return job.id

    def force_job_status(self, job_id: int, status: str) -> dict[str, Any]:
        """Pin a job to ``status`` (any of the seven). No side effect on images; the lifecycle stops."""
        if status not in JOB_STATUSES:
            raise StateError(f"status must be one of {', '.join(JOB_STATUSES)}")
        with self.mutating():
            job = self._jobs.get(int(job_id))
            if job is None:
                raise StateError(f"no sync job {job_id}")
            self._pending.discard(job.id)
            job.forced_status, job.forced_at = status, self.now()
            return self.job_wire(job)

    def advance(self) -> None:
        """Finish every job whose time has come, in id order, applying its outcome once."""
        with self.lock:
            if not self._pending:
                return
            now = self.now()
            total = timedelta(seconds=self.waiting_seconds + self.running_seconds)
            due = sorted(j for j in self._pending if now >= self._jobs[j].created_at + total)
            if not due:
                return
            with self.mutating():
                for job_id in due:
                    self._pending.discard(job_id)
                    job = self._jobs[job_id]
                    job.finished_at = job.created_at + total
                    job.final_status, job.reason = self._outcome(job)

    def _outcome(self, job: SyncJobRecord) -> tuple[str, str]:
        source = self.data[job.region].repos.get((job.namespace, job.repo_name))
        src_tag = source.tags.get(job.tag) if source else None
        if src_tag is None:
            return "failed", "source tag no longer exists"
        target = self.data.get(job.remote_region_id)
        if target is None:
            return "failed", "unknown target region"
        if job.remote_namespace not in target.namespaces:
            return "failed", f"namespace {job.remote_namespace} does not exist in {job.remote_region_id}"
        repo = target.repos.get((job.remote_namespace, job.repo_name))
        existing = repo.tags.get(job.tag) if repo else None
        if existing is not None and existing.digest == src_tag.digest:
            return "existed", "identical image already in target"
        if existing is not None and not job.override:
            return "failed", "target has a different image with this tag and override is false"
        fault = self._take_job_fault(job)
        if fault is not None and fault.outcome == "no_tag":
            return "success", "fault: succeeded without copying the tag"
        if repo is None:
            now = self.now()
            repo = RepoRecord(job.remote_namespace, job.repo_name, now, now)
            target.repos[(job.remote_namespace, job.repo_name)] = repo
        # The copy lands when the job finishes (not when the state is next looked at): a faithful lag.
        if fault is not None:  # other_digest
            self._put_tag(repo, job.tag, random_digest(), src_tag.size, job.finished_at)
            return "success", "fault: copied another image"
        self._put_tag(repo, job.tag, src_tag.digest, src_tag.size, job.finished_at)
        return "success", ""

    def job_status(self, job: SyncJobRecord) -> tuple[str, datetime]:
        """(status, updatedAt) of a job now. Call :meth:`advance` first for final outcomes."""
        if job.forced_status is not None:
            return job.forced_status, job.forced_at or job.created_at
        if job.final_status is not None:
            return job.final_status, job.finished_at or job.created_at
        elapsed = (self.now() - job.created_at).total_seconds()
        if elapsed < self.waiting_seconds:
            return "waiting", job.created_at
        return "running", job.created_at + timedelta(seconds=self.waiting_seconds)

    def job_wire(self, job: SyncJobRecord) -> dict[str, Any]:
        """A job exactly in SWR's SyncJob shape."""
        status, updated = self.job_status(job)
        return {
            "createdAt": fmt_time(job.created_at),
            "domainID": job.domain_id,
            "domainName": job.domain_name,
            "id": job.id,
            "namespace": job.namespace,
            "override": job.override,
            "remoteNamespace": job.remote_namespace,
            "remoteRegionId": job.remote_region_id,
            "repoName": job.repo_name,
            "status": status,
            "syncOperatorId": job.operator_id,
            "syncOperatorName": job.operator_name,
            "tag": job.tag,
            "updatedAt": fmt_time(updated),
        }

    def list_jobs(self, namespace: str, repository: str, region: str | None = None) -> list[SyncJobRecord]:
        """Jobs of one source repository, ascending by id."""
        with self.lock:
            self.advance()
            ids = self._jobs_by_repo.get((region or self.default_region, namespace, repository), [])
            return [self._jobs[i] for i in ids]

    def get_job(self, job_id: int) -> dict[str, Any]:
        with self.lock:
            self.advance()
            job = self._jobs.get(int(job_id))
            if job is None:
                raise StateError(f"no sync job {job_id}")
            return {**self.job_wire(job), "region": job.region, "reason": job.reason}

    @property
    def jobs(self) -> Listing:
        """Every job (wire shape plus ``region`` and ``reason``), ascending by id, status as of now."""
        with self.lock:
            self.advance()
            return Listing(
                {**self.job_wire(j), "region": j.region, "reason": j.reason} for j in self._jobs.values()
            )
