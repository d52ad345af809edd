"""Namespaces, repositories and tags of every region: adding, seeding, removing and reading them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.swr.names import validate_namespace, validate_repository

from .accounts import AccountsMixin
from .common import StateError, random_digest


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


class RepositoriesMixin(AccountsMixin):
    """Each region's namespaces and repositories (with their tags), in :attr:`data`."""

    data: dict[str, RegionData]

    def _reset_repositories(self) -> None:
        self.data = {r: RegionData() for r in self.regions}

    def region(self, region: str | None) -> RegionData:
        name = region or self.default_region
        if name not in self.data:
            raise StateError(f"unknown region {name!r}; known: {', '.join(self.regions)}")
        return self.data[name]

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


def _valid_digest(value: str) -> bool:
    if not isinstance(value, str) or not value.startswith("sha256:") or len(value) != 71:
        return False
    try:
        int(value[7:], 16)
    except ValueError:
        return False
    return True
