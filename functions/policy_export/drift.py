"""Drift between exported policies and the desired targets of push-sync's rules. Pure: no I/O.

For each compared repository, a destination is ``(remote_region_id, remote_namespace)``:

- ``missing``: the rules want the destination and no policy has it;
- ``extra``: a policy has the destination and the rules do not want it (also a second policy to the same
  destination);
- ``different``: both exist and ``override`` differs.

Repositories whose policies could not be listed are skipped (``complete`` is then false): reporting their
desired targets as missing would be a lie.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any, Protocol

from functions.policy_export.model import Policy, RepoRef
from shared.record import field, record

KINDS = ("missing", "extra", "different")
DRIFT_COLUMNS = (
    "drift",
    "namespace",
    "repository",
    "remote_region_id",
    "remote_namespace",
    "desired_override",
    "actual_override",
    "sync_auto",
    "id",
)


class DesiredTarget(Protocol):
    @property
    def region(self) -> str: ...

    @property
    def namespace(self) -> str: ...

    @property
    def override(self) -> bool: ...


@record(frozen=True)
class DriftEntry:
    """One difference between the policies in SWR and the rules."""

    drift: str  # missing | extra | different
    namespace: str
    repository: str
    remote_region_id: str
    remote_namespace: str
    desired_override: bool | None = None
    actual_override: bool | None = None
    sync_auto: bool | None = None
    id: int | None = None

    @property
    def sort_key(self) -> tuple[int, str, str, str, str, int]:
        return (
            KINDS.index(self.drift),
            self.namespace,
            self.repository,
            self.remote_region_id,
            self.remote_namespace,
            self.id or 0,
        )

    def as_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in DRIFT_COLUMNS}


@record
class DriftReport:
    """Every difference found, by kind, and how many repositories were compared."""

    missing: list[DriftEntry] = field(default_factory=list)
    extra: list[DriftEntry] = field(default_factory=list)
    different: list[DriftEntry] = field(default_factory=list)
    repositories_compared: int = 0
    repositories_skipped: int = 0

    @property
    def entries(self) -> list[DriftEntry]:
        """missing, then extra, then different; each sorted."""
        return [*self.missing, *self.extra, *self.different]

    @property
    def complete(self) -> bool:
        return self.repositories_skipped == 0

    @property
    def in_sync(self) -> bool:
        return not (self.missing or self.extra or self.different)

    def summary(self) -> dict[str, Any]:
        return {
            "in_sync": self.in_sync,
            "complete": self.complete,
            "missing": len(self.missing),
            "extra": len(self.extra),
            "different": len(self.different),
            "repositories_compared": self.repositories_compared,
            "repositories_skipped": self.repositories_skipped,
        }


def compute_drift(
    repositories: Iterable[RepoRef],
    policies: Iterable[Policy],
    desired: Callable[[str, str], Iterable[DesiredTarget]],
    regions: Collection[str] = (),
    skip: Collection[RepoRef] = (),
) -> DriftReport:
    """Compare each repository's policies with ``desired(namespace, repository)``.

    ``regions`` (non-empty) restricts both sides to those target regions, as the export's ``remote_region``
    filter does; ``skip`` lists repositories whose policies are unknown.
    """
    by_repo: dict[RepoRef, list[Policy]] = {}
    for policy in policies:
        by_repo.setdefault(RepoRef(policy.namespace, policy.repository), []).append(policy)
    report = DriftReport()
    skipped = set(skip)
    for ref in sorted(set(repositories)):
        if ref in skipped:
            report.repositories_skipped += 1
            continue
        report.repositories_compared += 1
        wanted: dict[tuple[str, str], bool] = {}
        for target in desired(ref.namespace, ref.repository):
            if regions and target.region not in regions:
                continue
            key = (target.region, target.namespace)
            wanted[key] = wanted.get(key, False) or bool(target.override)
        seen: set[tuple[str, str]] = set()
        for policy in sorted(by_repo.get(ref, []), key=lambda p: p.sort_key):
            key = (policy.remote_region_id, policy.remote_namespace)
            if key not in wanted or key in seen:
                report.extra.append(
                    DriftEntry(
                        "extra", ref.namespace, ref.repository, *key,
                        None, policy.override, policy.sync_auto, policy.id,
                    )
                )  # fmt: skip
            elif wanted[key] != policy.override:
                report.different.append(
                    DriftEntry(
                        "different", ref.namespace, ref.repository, *key,
                        wanted[key], policy.override, policy.sync_auto, policy.id,
                    )
                )  # fmt: skip
            seen.add(key)
        for key, override in wanted.items():
            if key not in seen:
                report.missing.append(DriftEntry("missing", ref.namespace, ref.repository, *key, override))
    for entries in (report.missing, report.extra, report.different):
        entries.sort(key=lambda e: e.sort_key)
    return report
