"""Auto-sync policies (SWR's ``sync_repo``) and the push that triggers them (a job per matching policy)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .accounts import User
from .common import Listing, StateError, fmt_time
from .jobs import JobsMixin
from .repositories import TagRecord


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


class PoliciesMixin(JobsMixin):
    """Auto-sync policies by id."""

    _sync_repos: dict[int, SyncRepoRecord]

    def _reset_policies(self) -> None:
        self._sync_repos = {}

    def push_image(
        self, namespace: str, repository: str, tag: str, digest: str | None = None, region: str | None = None
    ) -> tuple[TagRecord, list[int]]:
        """A simulated ``docker push``: seed the tag, then create jobs for every ``syncAuto`` policy."""
        with self.mutating():
            record = self.add_image(namespace, repository, tag, digest, region)
            src = region or self.default_region
            job_ids: list[int] = []
            user = self.default_user()
            for p in self.list_sync_repos(namespace, repository, src):
                if not p.sync_auto:
                    continue
                job = self._new_job(
                    src, namespace, repository, tag, p.remote_region_id, p.remote_namespace, p.override, user
                )
                job_ids.append(job.id)
            return record, job_ids

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
            if self._policy_to(src, namespace, repository, remote_region_id, remote_namespace) is not None:
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
            key = self._policy_to(src, namespace, repository, remote_region_id, remote_namespace)
            if key is None:
                return False
            del self._sync_repos[key]
            return True

    def _policy_to(self, *route: str) -> int | None:
        """The id of the policy of (source region, namespace, repository, target region, target namespace)."""
        for key, p in self._sync_repos.items():
            if (p.region, p.namespace, p.repo_name, p.remote_region_id, p.remote_namespace) == route:
                return key
        return None

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
