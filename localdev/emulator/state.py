"""The emulator's in-memory model: regions, namespaces, repositories, tags, sync jobs, auto-sync policies, tokens.

Pure Python, no HTTP. Every public method takes the state lock, so tests may call it while the server runs.
Job status is a pure function of the clock: a job is ``waiting`` for ``waiting_seconds`` after it was created,
then ``running`` for ``running_seconds``, then it finishes; its outcome is applied (image copied to the target
region) once, the first time anything looks at the state after that moment (see :meth:`EmulatorState.advance`).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from shared.swr.names import validate_namespace, validate_repository

from .faults import Fault

Clock = Callable[[], datetime]

DEFAULT_REGIONS = ("cn-north-4", "ap-southeast-1", "ap-southeast-3")
JOB_STATUSES = ("waiting", "running", "success", "failed", "timeout", "cancel", "existed")
FINAL_STATUSES = ("success", "failed", "timeout", "cancel", "existed")
TOKEN_LIFETIME = timedelta(hours=24)
REQUEST_LOG_MAX = 20_000
DELIVERY_LOG_MAX = 5_000
STATE_VERSION = 1


def utcnow() -> datetime:
    """Default clock, looked up at call time so freezegun controls it."""
    return datetime.now(timezone.utc)


def fmt_time(value: datetime) -> str:
    """SWR's time format: ``2020-03-12T08:11:36.518144Z``."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def stable_id(*parts: str) -> str:
    """A deterministic 32-hex id (IAM style) derived from names."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]


def random_digest() -> str:
    return "sha256:" + secrets.token_hex(32)


class Listing(list[dict[str, Any]]):
    """A snapshot list that may also be called: ``state.jobs`` and ``state.jobs()`` are the same."""

    def __call__(self) -> Listing:
        return self


class StateError(Exception):
    """A Python-API or admin-API misuse (unknown job, bad status...)."""


@dataclass
class TagRecord:
    tag: str
    digest: str
    size: int
    created: datetime
    updated: datetime


@dataclass
class RepoRecord:
    namespace: str
    name: str
    created: datetime
    updated: datetime
    tags: dict[str, TagRecord] = field(default_factory=dict)
    category: str = "other"
    description: str = ""
    is_public: bool = False


@dataclass
class NamespaceRecord:
    id: int
    name: str
    creator_name: str
    created: datetime


@dataclass
class RegionData:
    namespaces: dict[str, NamespaceRecord] = field(default_factory=dict)
    repos: dict[tuple[str, str], RepoRecord] = field(default_factory=dict)


@dataclass
class User:
    name: str
    password: str
    domain: str

    @property
    def id(self) -> str:
        return stable_id("user", self.domain, self.name)

    @property
    def domain_id(self) -> str:
        return stable_id("domain", self.domain)


@dataclass
class TokenRecord:
    token: str
    user: str
    domain: str
    project: str
    issued_at: datetime
    expires_at: datetime


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


JOB_OUTCOME_FAULTS = ("no_tag", "other_digest")


@dataclass
class JobFault:
    """Make matching sync jobs *succeed* without the tag arriving (``no_tag``) or with another image
    (``other_digest``): what a proof of replication must catch. ``None`` fields match anything."""

    outcome: str
    namespace: str | None = None
    repository: str | None = None
    tag: str | None = None
    target_region: str | None = None
    remaining: int | None = 1  # None = forever
    hits: int = 0

    def matches(self, job: SyncJobRecord) -> bool:
        return all(
            want is None or want == have
            for want, have in (
                (self.namespace, job.namespace),
                (self.repository, job.repo_name),
                (self.tag, job.tag),
                (self.target_region, job.remote_region_id),
            )
        )

    def describe(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "namespace": self.namespace,
            "repository": self.repository,
            "tag": self.tag,
            "target_region": self.target_region,
            "remaining": self.remaining,
            "hits": self.hits,
        }


@dataclass
class SyncRepoRecord:
    id: int
    region: str
    namespace: str
    repo_name: str
    remote_region_id: str
    remote_namespace: str
    sync_auto: bool
    override: bool
    created_at: datetime
    updated_at: datetime
    domain_id: str
    domain_name: str


@dataclass
class Webhook:
    id: int
    url: str
    format: str
    headers: dict[str, str]


class EmulatorState:
    """Everything the emulator knows. Thread-safe; see the module docstring for job timing."""

    def __init__(
        self,
        regions: tuple[str, ...] | list[str] = DEFAULT_REGIONS,
        default_region: str | None = None,
        clock: Clock | None = None,
        waiting_seconds: float = 1.0,
        running_seconds: float = 2.0,
        users: dict[str, tuple[str, str]] | None = None,
        static_tokens: tuple[str, ...] | list[str] = (),
        aksk: dict[str, str] | None = None,
        state_file: str | os.PathLike[str] | None = None,
    ) -> None:
        if not regions:
            raise ValueError("at least one region is required")
        self.regions: tuple[str, ...] = tuple(regions)
        self.default_region = default_region or self.regions[0]
        if self.default_region not in self.regions:
            raise ValueError(f"default region {self.default_region!r} is not in regions")
        self._clock = clock
        self.waiting_seconds = float(waiting_seconds)
        self.running_seconds = float(running_seconds)
        users = {"demo": ("demo-password", "demo-domain")} if users is None else users
        self.users: dict[str, User] = {name: User(name, pw, dom) for name, (pw, dom) in users.items()}
        self.static_tokens: tuple[str, ...] = tuple(static_tokens)
        self.aksk: dict[str, str] = dict(aksk or {})
        self.state_file = Path(state_file) if state_file else None
        self.lock = threading.RLock()
        self._depth = 0
        self._dirty = False
        self.tokens: dict[str, TokenRecord] = {}
        self._clear()
        if self.state_file is not None and self.state_file.exists():
            self.load(self.state_file)

    # -- plumbing --------------------------------------------------------------------------------------------

    def _clear(self) -> None:
        self.data: dict[str, RegionData] = {r: RegionData() for r in self.regions}
        self._jobs: dict[int, SyncJobRecord] = {}
        self._jobs_by_repo: dict[tuple[str, str, str], list[int]] = {}
        self._pending: set[int] = set()
        self._sync_repos: dict[int, SyncRepoRecord] = {}
        self._webhooks: dict[int, Webhook] = {}
        self.faults: list[Fault] = []
        self.job_faults: list[JobFault] = []
        self._requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_MAX)
        self._deliveries: deque[dict[str, Any]] = deque(maxlen=DELIVERY_LOG_MAX)
        self._counters: dict[str, int] = {
            "job": 0,
            "sync_repo": 0,
            "namespace": 1000,
            "webhook": 0,
            "request": 0,
            "fault": 0,
        }

    def now(self) -> datetime:
        value = (self._clock or utcnow)()
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value

    def _next(self, name: str) -> int:
        self._counters[name] += 1
        return self._counters[name]

    @contextmanager
    def mutating(self) -> Iterator[None]:
        """Lock, and save the state file once the outermost mutation ends."""
        with self.lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                self._dirty = True
                if self._depth == 0:
                    self.flush()

    def flush(self) -> None:
        """Write the state file if something changed (no-op without a state file)."""
        with self.lock:
            if self.state_file is not None and self._dirty:
                self.save(self.state_file)
            self._dirty = False

    def region(self, region: str | None) -> RegionData:
        name = region or self.default_region
        if name not in self.data:
            raise StateError(f"unknown region {name!r}; known: {', '.join(self.regions)}")
        return self.data[name]

    def default_user(self) -> User:
        if self.users:
            return next(iter(self.users.values()))
        return User("emulator", "", "emulator-domain")

    # -- namespaces, repositories, tags ---------------------------------------------------------------------

    def add_namespace(
        self, name: str, region: str | None = None, creator: str | None = None
    ) -> NamespaceRecord:
        validate_namespace(name)
        with self.mutating():
            data = self.region(region)
            existing = data.namespaces.get(name)
            if existing is not None:
                return existing
            record = NamespaceRecord(
                self._next("namespace"), name, creator or self.default_user().name, self.now()
            )
            data.namespaces[name] = record
            return record

    def add_repository(self, namespace: str, repository: str, region: str | None = None) -> RepoRecord:
        validate_repository(repository)
        with self.mutating():
            self.add_namespace(namespace, region)
            data = self.region(region)
            repo = data.repos.get((namespace, repository))
            if repo is None:
                now = self.now()
                repo = RepoRecord(namespace, repository, now, now)
                data.repos[(namespace, repository)] = repo
            return repo

    def add_image(
        self,
        namespace: str,
        repository: str,
        tag: str,
        digest: str | None = None,
        region: str | None = None,
        size: int | None = None,
    ) -> TagRecord:
        """Seed a tag (creating namespace and repository). No webhook, no auto-sync: see :meth:`push_image`."""
        from shared.swr.models import TAG_RE

        if not isinstance(tag, str) or not TAG_RE.fullmatch(tag):
            raise StateError(f"invalid tag {str(tag)[:130]!r}")
        if digest is not None and not _valid_digest(digest):
            raise StateError("digest must look like sha256:<64 hex>")
        with self.mutating():
            repo = self.add_repository(namespace, repository, region)
            return self._put_tag(repo, tag, digest or random_digest(), size)

    def _put_tag(
        self, repo: RepoRecord, tag: str, digest: str, size: int | None = None, at: datetime | None = None
    ) -> TagRecord:
        now = at or self.now()
        size = size if size is not None else 1024 * 1024 + int(digest[7:13], 16) % (64 * 1024 * 1024)
        record = repo.tags.get(tag)
        if record is None:
            record = TagRecord(tag, digest, size, now, now)
            repo.tags[tag] = record
        else:
            record.digest, record.size, record.updated = digest, size, now
        repo.updated = now
        return record

    def push_image(
        self,
        namespace: str,
        repository: str,
        tag: str,
        digest: str | None = None,
        region: str | None = None,
    ) -> tuple[TagRecord, list[int]]:
        """A simulated ``docker push``: seed the tag, then create jobs for every ``syncAuto`` policy."""
        with self.mutating():
            record = self.add_image(namespace, repository, tag, digest, region)
            src = region or self.default_region
            job_ids: list[int] = []
            for policy in self._sync_repos.values():
                if (policy.region, policy.namespace, policy.repo_name) == (src, namespace, repository) and (
                    policy.sync_auto
                ):
                    user = self.default_user()
                    job = self._new_job(
                        src,
                        namespace,
                        repository,
                        tag,
                        policy.remote_region_id,
                        policy.remote_namespace,
                        policy.override,
                        user,
                    )
                    job_ids.append(job.id)
            return record, job_ids

    def remove_image(self, namespace: str, repository: str, tag: str, region: str | None = None) -> bool:
        with self.mutating():
            repo = self.region(region).repos.get((namespace, repository))
            return bool(repo and repo.tags.pop(tag, None))

    def get_repo(self, namespace: str, repository: str, region: str | None = None) -> RepoRecord | None:
        with self.lock:
            return self.region(region).repos.get((namespace, repository))

    def has_namespace(self, namespace: str, region: str | None = None) -> bool:
        with self.lock:
            return namespace in self.region(region).namespaces

    def tags(self, namespace: str, repository: str, region: str | None = None) -> dict[str, str]:
        """``{tag: digest}`` of a repository (empty if it does not exist)."""
        with self.lock:
            self.advance()
            repo = self.region(region).repos.get((namespace, repository))
            return {t.tag: t.digest for t in repo.tags.values()} if repo else {}

    # -- sync jobs ------------------------------------------------------------------------------------------

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
                    src,
                    namespace,
                    repository,
                    tag,
                    remote_region_id,
                    remote_namespace,
                    override,
                    user or self.default_user(),
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
            job = self._new_job(
                src,
                namespace,
                repository,
                tag,
                remote_region_id,
                remote_namespace or namespace,
                override,
                self.default_user(),
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

    def add_job_fault(
        self,
        outcome: str,
        namespace: str | None = None,
        repository: str | None = None,
        tag: str | None = None,
        target_region: str | None = None,
        times: int | None = 1,
    ) -> JobFault:
        """Jobs that would copy the image succeed without it (``no_tag``) or with another one
        (``other_digest``), ``times`` times (None or 0 = forever)."""
        if outcome not in JOB_OUTCOME_FAULTS:
            raise StateError(f"outcome must be one of {', '.join(JOB_OUTCOME_FAULTS)}")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
            raise StateError("times must be a non-negative integer or null")
        fault = JobFault(outcome, namespace, repository, tag, target_region, times or None)
        with self.lock:
            self.job_faults.append(fault)
        return fault

    def _take_job_fault(self, job: SyncJobRecord) -> JobFault | None:
        for fault in list(self.job_faults):
            if fault.matches(job):
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.job_faults.remove(fault)
                return fault
        return None

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

    # -- auto-sync policies ---------------------------------------------------------------------------------

    def add_sync_repo(
        self,
        namespace: str,
        repository: str,
        remote_region_id: str,
        remote_namespace: str,
        sync_auto: bool = True,
        override: bool = False,
        region: str | None = None,
        user: User | None = None,
    ) -> SyncRepoRecord:
        """Create an auto-sync policy; raises StateError if the same target already has one."""
        with self.mutating():
            src = region or self.default_region
            for p in self._sync_repos.values():
                if (p.region, p.namespace, p.repo_name, p.remote_region_id, p.remote_namespace) == (
                    src,
                    namespace,
                    repository,
                    remote_region_id,
                    remote_namespace,
                ):
                    raise StateError("an auto-sync policy to this target already exists")
            user = user or self.default_user()
            now = self.now()
            record = SyncRepoRecord(
                self._next("sync_repo"),
                src,
                namespace,
                repository,
                remote_region_id,
                remote_namespace,
                sync_auto,
                override,
                now,
                now,
                user.domain_id,
                user.domain,
            )
            self._sync_repos[record.id] = record
            return record

    def delete_sync_repo(
        self,
        namespace: str,
        repository: str,
        remote_region_id: str,
        remote_namespace: str,
        region: str | None = None,
    ) -> bool:
        with self.mutating():
            src = region or self.default_region
            for key, p in list(self._sync_repos.items()):
                if (p.region, p.namespace, p.repo_name, p.remote_region_id, p.remote_namespace) == (
                    src,
                    namespace,
                    repository,
                    remote_region_id,
                    remote_namespace,
                ):
                    del self._sync_repos[key]
                    return True
            return False

    def list_sync_repos(
        self, namespace: str, repository: str, region: str | None = None
    ) -> list[SyncRepoRecord]:
        with self.lock:
            src = region or self.default_region
            return [
                p
                for p in self._sync_repos.values()
                if (p.region, p.namespace, p.repo_name) == (src, namespace, repository)
            ]

    @staticmethod
    def sync_repo_wire(p: SyncRepoRecord) -> dict[str, Any]:
        return {
            "createdAt": fmt_time(p.created_at),
            "domainID": p.domain_id,
            "domainName": p.domain_name,
            "id": p.id,
            "namespace": p.namespace,
            "override": p.override,
            "remoteNamespace": p.remote_namespace,
            "remoteRegionId": p.remote_region_id,
            "repoName": p.repo_name,
            "syncAuto": p.sync_auto,
            "updatedAt": fmt_time(p.updated_at),
        }

    @property
    def sync_repos(self) -> Listing:
        with self.lock:
            return Listing({**self.sync_repo_wire(p), "region": p.region} for p in self._sync_repos.values())

    # -- tokens ---------------------------------------------------------------------------------------------

    def issue_token(
        self, user: str | None = None, project: str | None = None, lifetime: timedelta = TOKEN_LIFETIME
    ) -> TokenRecord:
        with self.mutating():
            account = self.users.get(user) if user else self.default_user()
            if account is None:
                raise StateError(f"unknown user {user!r}")
            now = self.now()
            token = "MIIemu" + secrets.token_urlsafe(48)
            record = TokenRecord(
                token, account.name, account.domain, project or self.default_region, now, now + lifetime
            )
            self.tokens[token] = record
            return record

    def check_token(self, token: str) -> tuple[User | None, str]:
        """(user, "") if valid, else (None, reason). Static tokens map to the default user."""
        with self.lock:
            if token in self.static_tokens:
                return self.default_user(), ""
            record = self.tokens.get(token)
            if record is None:
                return None, "invalid token"
            if self.now() >= record.expires_at:
                return None, "The token must be updated"
            return self.users.get(record.user) or User(record.user, "", record.domain), ""

    def expire_tokens(self, user: str | None = None) -> int:
        """Expire every issued token (of ``user``, if given) now, as IAM would after 24 h; static tokens are
        not affected. A client that cached one gets 401 "The token must be updated" on its next call."""
        with self.mutating():
            now = self.now()
            hit = [r for r in self.tokens.values() if user is None or r.user == user]
            for record in hit:
                record.expires_at = min(record.expires_at, now)
            return len(hit)

    # -- webhooks, faults, request log ---------------------------------------------------------------------

    def add_webhook(self, url: str, format: str = "harbor", headers: dict[str, str] | None = None) -> Webhook:
        from .webhooks import FORMATS

        if format not in FORMATS:
            raise StateError(f"format must be one of {', '.join(sorted(FORMATS))}")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise StateError("url must be an http(s) URL")
        if headers is not None and not (
            isinstance(headers, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
        ):
            raise StateError("headers must be an object of strings")
        with self.mutating():
            hook = Webhook(self._next("webhook"), url, format, dict(headers or {}))
            self._webhooks[hook.id] = hook
            return hook

    def remove_webhooks(self, webhook_id: int | None = None) -> int:
        with self.mutating():
            if webhook_id is None:
                n = len(self._webhooks)
                self._webhooks.clear()
                return n
            return 1 if self._webhooks.pop(int(webhook_id), None) else 0

    def webhook_list(self) -> list[Webhook]:
        with self.lock:
            return list(self._webhooks.values())

    @property
    def webhooks(self) -> Listing:
        from shared.logs.redact import redact

        with self.lock:
            return Listing(
                {"id": w.id, "url": w.url, "format": w.format, "headers": redact(w.headers)}
                for w in self._webhooks.values()
            )

    def record_delivery(self, result: dict[str, Any]) -> None:
        with self.lock:
            self._deliveries.append(result)

    @property
    def deliveries(self) -> Listing:
        with self.lock:
            return Listing(self._deliveries)

    def add_fault(
        self,
        path: str,
        method: str | None = None,
        status: int | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        delay: float | None = None,
        reset: bool = False,
        times: int | None = 1,
    ) -> Fault:
        fault = Fault.build(path, method, status, body, headers, delay, reset, times)
        with self.lock:
            fault.id = self._next("fault")
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self.job_faults.clear()

    def take_fault(self, method: str, raw_path: str) -> Fault | None:
        """The first fault matching this request, consuming one of its ``times``."""
        with self.lock:
            for fault in list(self.faults):
                if fault.matches(method, raw_path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self.faults.remove(fault)
                    fault.hits += 1
                    return fault
            return None

    def log_request(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            entry["seq"] = self._next("request")
            self._requests.append(entry)
            return entry

    @property
    def requests(self) -> Listing:
        """Received API requests (not admin ones), oldest first; secrets masked."""
        with self.lock:
            return Listing(self._requests)

    # -- reset, snapshot, persistence -----------------------------------------------------------------------

    def reset(self) -> None:
        """Forget all data, jobs, policies, webhooks, faults and logs. Issued tokens and configuration stay."""
        with self.mutating():
            self._clear()

    def snapshot(self, include_requests: bool = True) -> dict[str, Any]:
        with self.lock:
            self.advance()
            namespaces = []
            repositories = []
            tags = []
            for region, data in self.data.items():
                for ns in data.namespaces.values():
                    namespaces.append(
                        {"region": region, "id": ns.id, "name": ns.name, "creator_name": ns.creator_name}
                    )
                for repo in data.repos.values():
                    repositories.append(
                        {
                            "region": region,
                            "namespace": repo.namespace,
                            "name": repo.name,
                            "tags": {t.tag: t.digest for t in repo.tags.values()},
                        }
                    )
                    for t in repo.tags.values():
                        tags.append(
                            {
                                "region": region,
                                "namespace": repo.namespace,
                                "repository": repo.name,
                                "tag": t.tag,
                                "digest": t.digest,
                                "size": t.size,
                            }
                        )
            return {
                "regions": list(self.regions),
                "default_region": self.default_region,
                "now": fmt_time(self.now()),
                "namespaces": namespaces,
                "repositories": repositories,
                "tags": tags,
                "sync_jobs": self.jobs,
                "sync_repos": self.sync_repos,
                "webhooks": self.webhooks,
                "deliveries": self.deliveries,
                "faults": [f.describe() for f in self.faults],
                "requests": self.requests if include_requests else [],
            }

    def dump(self) -> dict[str, Any]:
        """Everything that survives a restart (not faults, logs or deliveries)."""
        with self.lock:
            regions = {}
            for region, data in self.data.items():
                regions[region] = {
                    "namespaces": [
                        {
                            "id": n.id,
                            "name": n.name,
                            "creator_name": n.creator_name,
                            "created": n.created.isoformat(),
                        }
                        for n in data.namespaces.values()
                    ],
                    "repositories": [
                        {
                            "namespace": r.namespace,
                            "name": r.name,
                            "created": r.created.isoformat(),
                            "updated": r.updated.isoformat(),
                            "category": r.category,
                            "description": r.description,
                            "is_public": r.is_public,
                            "tags": [
                                {
                                    "tag": t.tag,
                                    "digest": t.digest,
                                    "size": t.size,
                                    "created": t.created.isoformat(),
                                    "updated": t.updated.isoformat(),
                                }
                                for t in r.tags.values()
                            ],
                        }
                        for r in data.repos.values()
                    ],
                }
            return {
                "version": STATE_VERSION,
                "regions": regions,
                "sync_jobs": [_dump_dc(j) for j in self._jobs.values()],
                "pending": sorted(self._pending),
                "sync_repos": [_dump_dc(p) for p in self._sync_repos.values()],
                "webhooks": [_dump_dc(w) for w in self._webhooks.values()],
                "tokens": [_dump_dc(t) for t in self.tokens.values()],
                "counters": dict(self._counters),
            }

    def save(self, path: str | os.PathLike[str]) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(self.dump(), indent=1, sort_keys=True))
        os.replace(tmp, target)

    def load(self, path: str | os.PathLike[str]) -> None:
        raw = json.loads(Path(path).read_text())
        if raw.get("version") != STATE_VERSION:
            raise StateError(f"unsupported state file version {raw.get('version')!r}")
        with self.lock:
            self._clear()
            for region, rd in raw.get("regions", {}).items():
                if region not in self.data:
                    self.data[region] = RegionData()
                    self.regions = (*self.regions, region)
                data = self.data[region]
                for n in rd.get("namespaces", []):
                    data.namespaces[n["name"]] = NamespaceRecord(
                        n["id"], n["name"], n["creator_name"], datetime.fromisoformat(n["created"])
                    )
                for r in rd.get("repositories", []):
                    repo = RepoRecord(
                        r["namespace"],
                        r["name"],
                        datetime.fromisoformat(r["created"]),
                        datetime.fromisoformat(r["updated"]),
                        category=r.get("category", "other"),
                        description=r.get("description", ""),
                        is_public=r.get("is_public", False),
                    )
                    for t in r.get("tags", []):
                        repo.tags[t["tag"]] = TagRecord(
                            t["tag"],
                            t["digest"],
                            t["size"],
                            datetime.fromisoformat(t["created"]),
                            datetime.fromisoformat(t["updated"]),
                        )
                    data.repos[(repo.namespace, repo.name)] = repo
            for j in raw.get("sync_jobs", []):
                job = SyncJobRecord(**_load_dc(j))
                self._index_job(job)
            self._pending = set(raw.get("pending", []))
            for p in raw.get("sync_repos", []):
                policy = SyncRepoRecord(**_load_dc(p))
                self._sync_repos[policy.id] = policy
            for w in raw.get("webhooks", []):
                hook = Webhook(**w)
                self._webhooks[hook.id] = hook
            for t in raw.get("tokens", []):
                token = TokenRecord(**_load_dc(t))
                self.tokens[token.token] = token
            self._counters.update(raw.get("counters", {}))
            self._dirty = False


_TIME_FIELDS = {"created_at", "updated_at", "forced_at", "finished_at", "issued_at", "expires_at"}


def _dump_dc(obj: Any) -> dict[str, Any]:
    out = {}
    for key, value in vars(obj).items():
        out[key] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _load_dc(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (datetime.fromisoformat(v) if k in _TIME_FIELDS and isinstance(v, str) else v)
        for k, v in raw.items()
    }


def _valid_digest(value: str) -> bool:
    if not isinstance(value, str) or not value.startswith("sha256:") or len(value) != 71:
        return False
    try:
        int(value[7:], 16)
    except ValueError:
        return False
    return True
