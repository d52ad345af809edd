"""Targeted re-sync: ``sync_images`` again for failed keys only, grouped like push-sync (one call per source
repository, target region, target namespace and override), within each key's budget."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from functions.job_monitor.classify import RESYNC, Key, KeyState, Policy, resync_decision
from functions.job_monitor.scope import error_reason
from shared.record import field, record
from shared.sync.batching import SyncItem, group_syncs, run_groups, sync_call

if TYPE_CHECKING:
    from shared.swr.client import SwrClient
    from shared.swr.http import Deadline

# Per-key outcomes (besides the decisions of classify.resync_decision).
ISSUED, ERROR, DRY_RUN, SKIPPED = "issued", "error", "dry_run", "skipped_deadline"


@record
class ResyncReport:
    """What the resync step did: per key, the groups it sent, and SWR's refusals."""

    outcome: dict[Key, str] = field(default_factory=dict)  # every recent failed key → what happened
    groups: list[dict[str, Any]] = field(default_factory=list)
    auth_errors: int = 0  # sync_images calls answered 401/403

    @property
    def issued(self) -> int:
        return sum(1 for v in self.outcome.values() if v == ISSUED)

    def remediating(self, key: Key) -> bool:
        """A re-sync job was created (or would be, in a dry run): do not alert this key now."""
        return self.outcome.get(key) in (ISSUED, DRY_RUN)


def resync(
    client: SwrClient,
    states: Sequence[KeyState],
    policy: Policy,
    concurrency: int,
    dry_run: bool,
    deadline: Deadline,
) -> ResyncReport:
    report = ResyncReport()
    candidates: list[KeyState] = []
    for state in states:
        decision = resync_decision(state, policy)
        if decision is None:
            continue
        report.outcome[state.key] = decision
        if decision == RESYNC:
            candidates.append(state)
    if not candidates:
        return report
    # The failed job's own override: a re-sync must not overwrite where the original would not have.
    items = [
        SyncItem(
            s.key.namespace,
            s.key.repository,
            s.key.tag,
            s.key.region,
            s.key.target_namespace,
            s.latest.override,
        )
        for s in candidates
    ]
    groups = group_syncs(items)
    if dry_run or deadline.expired:
        label = DRY_RUN if dry_run else SKIPPED
        for state in candidates:
            report.outcome[state.key] = label
        report.groups = [{**_group_dict(g.to_dict()), "outcome": label} for g in groups]
        return report
    for result in run_groups(groups, sync_call(client), concurrency):
        group = result.group
        entry = _group_dict(group.to_dict())
        if result.error is not None:
            reason, detail = error_reason(result.error)
            if reason == "auth":
                report.auth_errors += 1
            entry.update(outcome=ERROR, error=f"{reason}: {detail}")
        else:
            # 200 = triggered; SWR's list is kept verbatim, never read as synced or failed (shared.sync.batching).
            entry.update(outcome="triggered", swr_list=list(result.swr_list))
        report.groups.append(entry)
        for tag in group.tags:
            key = Key(group.namespace, group.repository, tag, group.region, group.target_namespace)
            report.outcome[key] = ERROR if result.error is not None else ISSUED
    return report


def _group_dict(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "namespace": raw["namespace"],
        "repository": raw["repository"],
        "target_region": raw["region"],
        "target_namespace": raw["target_namespace"],
        "override": raw["override"],
        "tags": raw["tags"],
    }
