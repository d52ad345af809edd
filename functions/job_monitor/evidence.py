"""The evidence of replication, read without side effects: the decision on one open intent from its jobs and
the target region's tags (:func:`decide`), lag statistics, the alert of a closed intent, and the records proof
keeps in the state store. The run that acts on them (re-syncs, closes, alerts) is :mod:`functions.job_monitor.proof`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from functions.job_monitor.alerts import PREFIX, Alert
from functions.job_monitor.classify import FAILING, IN_PROGRESS, INCOMPLETE, Key
from functions.job_monitor.resync import DRY_RUN, ERROR, SKIPPED
from shared.record import field, record
from shared.state import StateRecord, StateStore
from shared.state.intents import Intent
from shared.swr.client import SwrClient
from shared.swr.models import SyncJob, SyncStatus, Tag

FINISHED_OK = frozenset({SyncStatus.SUCCESS, SyncStatus.EXISTED})
# Job-based re-sync outcomes that leave the intent open for the next run (nothing was decided for good).
ELSEWHERE = "elsewhere"  # an overlapping run holds the key's re-sync marker
PASSING = frozenset({ERROR, SKIPPED, DRY_RUN, INCOMPLETE, ELSEWHERE})
# A job is the intent's if created no earlier than this before the push (or our re-sync): clocks differ a little.
CLOCK_SLACK = timedelta(seconds=120)
LAG_KEPT = 1000  # lag samples kept per region (p50/p95 over the latest ones)
MARKER_TTL = 7 * 86400


class LagSample(StateRecord):
    """Push to verified, seconds, for one intent of a region."""

    KIND: ClassVar[str] = "lag"
    seconds: float
    at: datetime


class LagRegions(StateRecord):
    """The regions that have lag samples (so a run without intents still reports every region's lag)."""

    KIND: ClassVar[str] = "lag-regions"
    regions: list[str]


class Alerted(StateRecord):
    """A (tag, target) whose failure was alerted: its next verification is announced as a recovery."""

    KIND: ClassVar[str] = "alerted"
    at: datetime
    label: str


@record
class ProofContext:
    """What the proof needs besides the run's client: the store and a client per target region."""

    state: StateStore
    client_for: Callable[[str], SwrClient]
    verify_after: float
    max_intents: int


@record
class ProofResult:
    """Counts of the intents checked in one poll, by outcome."""

    checked: int = 0
    verified: int = 0
    missing: int = 0
    failed: int = 0
    superseded: int = 0
    pending: int = 0
    resynced: int = 0
    listings: int = 0
    oldest_pending_age_seconds: float | None = None
    lag: dict[str, dict[str, float]] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)  # listing/re-sync errors, intents untouched
    settled: list[dict[str, Any]] = field(default_factory=list)
    degraded: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "verified": self.verified,
            "pending": self.pending,
            "missing": self.missing,
            "failed": self.failed,
            "superseded": self.superseded,
            "resynced": self.resynced,
            "tag_listings": self.listings,
            "oldest_pending_age_seconds": self.oldest_pending_age_seconds,
            "lag_seconds": self.lag,
            "settled": self.settled[:100],
            "problems": self.problems[:50],
            **({"degraded": self.degraded} if self.degraded else {}),
        }


@record
class IntentDecision:
    """What the monitor decided about one recorded intent, and the job that decided it."""

    intent: Intent
    status: str = "pending"  # pending (unchanged) | verified | failed | missing | superseded | resync
    reason: str = ""
    job: SyncJob | None = None
    tag: Tag | None = None


def intent_key(intent: Intent) -> Key:
    return Key(intent.namespace, intent.repository, intent.tag, intent.region, intent.target_namespace)


def _job_for(intent: Intent, jobs: Sequence[SyncJob]) -> SyncJob | None:
    """The newest job of this (tag, target) created since the push or our last re-sync."""
    since = intent.last_action_at - CLOCK_SLACK
    mine = [
        j
        for j in jobs
        if j.tag == intent.tag
        and j.remote_region_id == intent.region
        and j.remote_namespace == intent.target_namespace
        and (j.created_at is None or j.created_at >= since)
    ]
    return max(mine, key=lambda j: (j.created_at or since, j.id), default=None)


def decide(
    intent: Intent, tags: dict[str, Tag], jobs: Sequence[SyncJob], now: datetime, verify_after: float
) -> IntentDecision:
    """Pure: what the evidence says about one open intent."""
    tag, job = tags.get(intent.tag), _job_for(intent, jobs)
    finished_ok = job is not None and job.status in FINISHED_OK
    overdue = now - intent.last_action_at >= timedelta(seconds=verify_after)
    mismatch = tag is not None and bool(intent.digest and tag.digest and tag.digest != intent.digest)
    if tag is not None and not mismatch:
        fresh = tag.updated is None or tag.updated >= intent.created_at - CLOCK_SLACK
        if intent.digest or fresh or finished_ok:
            return IntentDecision(intent, "verified", "tag present in the target region", job, tag)
    if job is not None and job.status in FAILING:
        return IntentDecision(intent, "failed", f"sync job {job.id} {job.status.value}", job, tag)
    if job is not None and job.status in IN_PROGRESS:
        return IntentDecision(intent, "pending", f"sync job {job.id} {job.status.value}", job, tag)
    if mismatch and tag is not None and (finished_ok or overdue):
        why = f"digest mismatch: pushed {intent.digest}, target region has {tag.digest}"
        return IntentDecision(intent, "failed", why, job, tag)
    if overdue:
        what = "job finished but no tag" if finished_ok else "no sync job"
        return IntentDecision(intent, "missing", f"{what} within {int(verify_after)}s", job)
    return IntentDecision(intent, "pending", "waiting for the sync", job, tag)


def _percentile(values: Sequence[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    import statistics  # here: only runs with lag samples need it (#22)

    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[max(0, min(98, int(q) - 1))]


def lag_by_region(state: StateStore, regions: Iterable[str]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for region in sorted(set(regions)):
        samples = [s.seconds for s in state.recent(LagSample, region, LAG_KEPT)]
        if samples:
            out[region] = {
                "p50": round(_percentile(samples, 50), 1),
                "p95": round(_percentile(samples, 95), 1),
                "samples": len(samples),
            }
    return out


def intent_alert(intent: Intent, kind: str, reason: str) -> Alert:
    titles = {
        "missing": "image never arrived",
        "failed": "image sync failed",
        "mismatch": "image arrived with another digest",
        "rejected": "push could not be synced",
        "recovered": "recovered",
    }
    lines = [reason]
    if kind != "recovered":
        lines.append(
            f"pushed {intent.created_at.strftime('%Y-%m-%d %H:%M:%SZ')} (delivery {intent.delivery_id or '?'}), "
            f"re-syncs: {intent.resyncs}"
        )
    key = {
        "namespace": intent.namespace,
        "repository": intent.repository,
        "tag": intent.tag,
        "target_region": intent.region,
        "target_namespace": intent.target_namespace,
        "digest": intent.digest,
        "intent": intent.id,
        "status": intent.status,
    }
    return Alert(f"intent_{kind}", f"{PREFIX} {titles[kind]}: {intent.label}", lines, [key])


def cap_alerts(alerts: list[Alert], room: int) -> list[Alert]:
    """At most ``room`` messages: past it, the rest share one summary."""
    room = max(1, room)
    if len(alerts) <= room:
        return alerts
    rest = alerts[room - 1 :]
    lines = [f"- {a.title.removeprefix(PREFIX).strip()}" for a in rest[:20]]
    if len(rest) > 20:
        lines.append(f"- ... and {len(rest) - 20} more")
    keys = [k for a in rest for k in a.keys]
    return [
        *alerts[: room - 1],
        Alert("intent_digest", f"{PREFIX} {len(rest)} more replication problems", lines, keys),
    ]
