"""Pure classification and decisions: no I/O, no clock (``now`` is passed in).

A key is (namespace, repository, tag, target region, target namespace). Its state is decided by its latest job
(newest ``createdAt``, then highest id):

- ``success`` / ``existed`` → ``ok`` (an earlier failure in the window is a flap: ``recovered``, never alerted);
- ``failed`` / ``timeout`` / ``cancel`` → ``failed``;
- ``waiting`` / ``running`` created at least STUCK_AFTER_SECONDS ago → ``stuck``, else ``pending``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from shared.record import record
from shared.swr import timeutil
from shared.swr.models import SyncJob, SyncStatus

FAILING = frozenset({SyncStatus.FAILED, SyncStatus.TIMEOUT, SyncStatus.CANCEL})
IN_PROGRESS = frozenset({SyncStatus.WAITING, SyncStatus.RUNNING})

OK, FAILED, STUCK, PENDING = "ok", "failed", "stuck", "pending"
CATEGORIES = (OK, FAILED, STUCK, PENDING)


class Key(NamedTuple):
    namespace: str
    repository: str
    tag: str
    region: str  # target region
    target_namespace: str

    @classmethod
    def of(cls, job: SyncJob, namespace: str = "", repository: str = "") -> Key:
        """The job's key; the repository being read wins over the job's own (possibly empty) fields."""
        return cls(
            namespace or job.namespace,
            repository or job.repo_name,
            job.tag,
            job.remote_region_id,
            job.remote_namespace,
        )

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.repository}:{self.tag} -> {self.region}/{self.target_namespace}"

    def to_dict(self) -> dict[str, str]:
        return {
            "namespace": self.namespace,
            "repository": self.repository,
            "tag": self.tag,
            "target_region": self.region,
            "target_namespace": self.target_namespace,
        }


@record(frozen=True)
class Policy:
    """The knobs the decisions need (from settings and overrides)."""

    now: datetime
    lookback_start: datetime
    period: float
    settle: float
    stuck_after: float
    resync: bool
    max_resync: int


@record(frozen=True)
class KeyState:
    """One sync key's state in this poll: its category, latest job and how many jobs it had in the horizon."""

    key: Key
    category: str
    latest: SyncJob
    jobs: int  # jobs of this key within the read horizon
    streak: int  # consecutive failing jobs ending with the latest one (0 unless failed)
    recovered: bool  # ok now, but a failing job earlier within the horizon (a flap)
    recent: bool  # the latest job was created or updated within the look-back window
    age_seconds: float  # now - latest.createdAt
    history_complete: bool  # the repository's history was read up to the horizon
    due_at: (
        datetime | None
    )  # when this key becomes alertable (failed: final time + settle; stuck: created + stuck)

    @property
    def attempts_used(self) -> int:
        """Re-syncs already spent on the current failure streak: its failing jobs minus the first one."""
        return max(0, self.streak - 1)

    @property
    def relevant(self) -> bool:
        """Reported and acted on: latest job active within the look-back window, or still waiting/running."""
        return self.recent or self.latest.status in IN_PROGRESS

    @property
    def reason(self) -> str:
        status = self.latest.status.value
        if self.category == STUCK:
            return f"{status} for {int(self.age_seconds)}s"
        if self.category == FAILED:
            text = f"{status} (job {self.latest.id})"
            if self.attempts_used:
                text += f" after {self.attempts_used} re-sync attempt(s)"
            return text
        return status

    def to_dict(self) -> dict[str, Any]:
        job = self.latest
        return {
            **self.key.to_dict(),
            "job_id": job.id,
            "status": job.status.value,
            "created_at": _iso(job.created_at),
            "updated_at": _iso(job.updated_at),
            "override": job.override,
            "reason": self.reason,
            "attempts": self.attempts_used,
            "jobs_in_history": self.jobs,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _order(job: SyncJob) -> tuple[float, int]:
    return (job.created_at.timestamp() if job.created_at is not None else math.inf, job.id)


def classify_key(
    key: Key, jobs: Sequence[SyncJob], policy: Policy, history_complete: bool = True
) -> KeyState:
    """State of one key from its jobs (any order)."""
    ordered = sorted(jobs, key=_order, reverse=True)
    latest = ordered[0]
    created = latest.created_at
    age = (policy.now - created).total_seconds() if created is not None else 0.0
    # Recent = last activity (final time, else creation) within the look-back: a long job that failed just
    # now is news even if it was created before the window.
    last = latest.updated_at or created
    recent = last is None or last >= policy.lookback_start
    streak = 0
    for job in ordered:
        if job.status not in FAILING:
            break
        streak += 1
    due_at: datetime | None = None
    if latest.status.is_ok:
        category = OK
    elif latest.status in FAILING:
        category = FAILED
        final = latest.updated_at or created
        # Saturating: a job dated near year 9999 must not overflow the whole run.
        due_at = timeutil.add(final, policy.settle) if final is not None else policy.now
    elif created is not None and age >= policy.stuck_after:
        category = STUCK
        due_at = timeutil.add(created, policy.stuck_after)
    else:
        category = PENDING
    recovered = category == OK and any(j.status in FAILING for j in ordered[1:])
    return KeyState(
        key, category, latest, len(ordered), streak, recovered, recent, age, history_complete, due_at
    )


def classify(histories: Iterable[tuple[str, str, Sequence[SyncJob], bool]], policy: Policy) -> list[KeyState]:
    """Every key seen, sorted. ``histories``: (namespace, repository, jobs, history complete) per repository."""
    by_key: dict[Key, list[SyncJob]] = {}
    complete: dict[Key, bool] = {}
    for namespace, repository, jobs, whole in histories:
        for job in jobs:
            key = Key.of(job, namespace, repository)
            by_key.setdefault(key, []).append(job)
            complete[key] = whole
    return [classify_key(key, by_key[key], policy, complete[key]) for key in sorted(by_key)]


# -- decisions ----------------------------------------------------------------------------------------------

RESYNC, DISABLED, EXHAUSTED, INCOMPLETE = "resync", "disabled", "budget_exhausted", "history_incomplete"


def resync_decision(state: KeyState, policy: Policy) -> str | None:
    """For a recent failed key: ``resync``, or why not. None for keys that are not candidates."""
    if state.category != FAILED or not state.recent:
        return None
    if not policy.resync:
        return DISABLED
    if state.attempts_used >= policy.max_resync:
        return EXHAUSTED
    if not state.history_complete:
        return INCOMPLETE  # the attempt count may be short: do not risk going over the budget
    return RESYNC


def is_due(state: KeyState, policy: Policy) -> bool:
    """True in exactly one run per failure (if runs are one period apart): ``now - period < due_at <= now``.

    Stateless de-duplication: a key is alerted by the run whose period contains the moment it became
    alertable, i.e. after the previous run's cut-off, never again by later runs.
    """
    if state.due_at is None or state.category not in (FAILED, STUCK) or not state.relevant:
        return False
    return policy.now - timedelta(seconds=policy.period) < state.due_at <= policy.now


@record(frozen=True)
class SystemicGroup:
    """A target region (``namespace`` None) or target namespace where every decided key is failing."""

    region: str
    namespace: str | None
    failing: tuple[Key, ...]

    @property
    def kind(self) -> str:
        return "target_region" if self.namespace is None else "target_namespace"

    @property
    def label(self) -> str:
        return self.region if self.namespace is None else f"{self.region}/{self.namespace}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target_region": self.region,
            "target_namespace": self.namespace,
            "failing_keys": len(self.failing),
        }


def systemic_groups(states: Iterable[KeyState], threshold: int) -> list[SystemicGroup]:
    """Target regions, then target namespaces, with at least ``threshold`` failed/stuck keys and no ok key.

    Pending keys do not count either way. A namespace inside a systemic region is not reported again.
    """
    relevant = [s for s in states if s.relevant and s.category != PENDING]
    groups: list[SystemicGroup] = []
    covered: set[Key] = set()
    for level in ("region", "namespace"):
        buckets: dict[tuple[str, str | None], list[KeyState]] = {}
        for s in relevant:
            if s.key in covered:
                continue
            ident = (s.key.region, None) if level == "region" else (s.key.region, s.key.target_namespace)
            buckets.setdefault(ident, []).append(s)
        for (region, namespace), members in sorted(
            buckets.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
        ):
            failing = [s.key for s in members if s.category in (FAILED, STUCK)]
            if len(failing) >= threshold and len(failing) == len(members):
                groups.append(SystemicGroup(region, namespace, tuple(failing)))
                covered.update(failing)
    return groups


# -- statistics ---------------------------------------------------------------------------------------------


def status_counts(jobs: Iterable[SyncJob], since: datetime) -> dict[str, int]:
    """Jobs created at or after ``since``, by status (all seven statuses, zeros included; ``unknown`` only
    when SWR sent an undocumented status)."""
    counts = {s.value: 0 for s in SyncStatus.documented()}
    for job in jobs:
        if job.created_at is None or job.created_at >= since:
            counts[job.status.value] = counts.get(job.status.value, 0) + 1
    return counts


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending, non-empty sequence."""
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def lag_stats(jobs: Iterable[SyncJob], since: datetime) -> dict[str, dict[str, float]]:
    """Replication lag (createdAt → updatedAt of ``success`` jobs created since ``since``) per target region."""
    by_region: dict[str, list[float]] = {}
    for job in jobs:
        if job.status != SyncStatus.SUCCESS or job.created_at is None or job.updated_at is None:
            continue
        if job.created_at < since:
            continue
        by_region.setdefault(job.remote_region_id, []).append(
            max(0.0, (job.updated_at - job.created_at).total_seconds())
        )
    out: dict[str, dict[str, float]] = {}
    for region, values in sorted(by_region.items()):
        values.sort()
        out[region] = {
            "count": len(values),
            "p50_seconds": round(percentile(values, 50), 3),
            "p95_seconds": round(percentile(values, 95), 3),
            "max_seconds": round(values[-1], 3),
        }
    return out
