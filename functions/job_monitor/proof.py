"""Proof of replication: each run settles the open intents push-sync recorded.

For every open intent (oldest first, at most ``MONITOR_MAX_INTENTS``):

- ``verified``: the tag is in the target region's repository (one tag listing per target repository and region
  serves every intent of it), with the pushed digest where both are known;
- ``failed`` with a digest mismatch: the tag arrived, its job finished, but SWR reports another digest: alerted;
- ``failed`` job: re-synced while the intent's budget (``MONITOR_MAX_RESYNC``) lasts, then closed and alerted;
- ``missing``: neither a job nor the tag within ``VERIFY_AFTER`` of the push (or of our last re-sync): re-synced
  once, then closed and alerted;
- ``superseded``: a newer push of the same tag to the same target exists (that one is proven instead).

Overlapping runs are safe: each re-sync attempt and each alert is taken with a set-if-absent marker in the store
(``once``), so only one run issues attempt N of an intent or sends its alert; a run that loses a re-sync marker
does not write the intent back. A failure alerted earlier and then verified is announced as recovered, once.
A dry run decides and reports, but writes nothing and takes no marker.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from functions.job_monitor.alerts import PREFIX, Alert
from functions.job_monitor.classify import FAILING, IN_PROGRESS, INCOMPLETE, Key
from functions.job_monitor.resync import DRY_RUN, ERROR, ISSUED, SKIPPED
from shared.batching import SyncItem, group_syncs, run_groups, sync_call
from shared.client import SwrClient
from shared.errors import NotFound, SwrSyncError
from shared.intents import OPEN_INDEX, Intent, latest_id, open_intents, save
from shared.models import SyncJob, SyncStatus, Tag
from shared.redact import clip
from shared.state import StateRecord, StateStore, StateUnavailable

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


@dataclass
class ProofContext:
    """What the proof needs besides the run's client: the store and a client per target region."""

    state: StateStore
    client_for: Callable[[str], SwrClient]
    verify_after: float
    max_intents: int


@dataclass
class ProofResult:
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


@dataclass
class _Decision:
    intent: Intent
    status: str = "pending"  # pending (unchanged) | verified | failed | missing | superseded | resync
    reason: str = ""
    job: SyncJob | None = None
    tag: Tag | None = None


def _key(intent: Intent) -> Key:
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
) -> _Decision:
    """Pure: what the evidence says about one open intent."""
    tag, job = tags.get(intent.tag), _job_for(intent, jobs)
    finished_ok = job is not None and job.status in FINISHED_OK
    overdue = now - intent.last_action_at >= timedelta(seconds=verify_after)
    mismatch = tag is not None and bool(intent.digest and tag.digest and tag.digest != intent.digest)
    if tag is not None and not mismatch:
        fresh = tag.updated is None or tag.updated >= intent.created_at - CLOCK_SLACK
        if intent.digest or fresh or finished_ok:
            return _Decision(intent, "verified", "tag present in the target region", job, tag)
    if job is not None and job.status in FAILING:
        return _Decision(intent, "failed", f"sync job {job.id} {job.status.value}", job, tag)
    if job is not None and job.status in IN_PROGRESS:
        return _Decision(intent, "pending", f"sync job {job.id} {job.status.value}", job, tag)
    if mismatch and tag is not None and (finished_ok or overdue):
        why = f"digest mismatch: pushed {intent.digest}, target region has {tag.digest}"
        return _Decision(intent, "failed", why, job, tag)
    if overdue:
        what = "job finished but no tag" if finished_ok else "no sync job"
        return _Decision(intent, "missing", f"{what} within {int(verify_after)}s", job)
    return _Decision(intent, "pending", "waiting for the sync", job, tag)


def _percentile(values: Sequence[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
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


class Settler:
    """One run's settling of the open intents."""

    def __init__(
        self,
        ctx: ProofContext,
        client: SwrClient,
        jobs_by_repo: dict[tuple[str, str], list[SyncJob]],
        now: datetime,
        settings: Any,
        resync: bool,
        dry_run: bool,
        classic: dict[Key, str | None],
        log: Any,
    ) -> None:
        self.ctx, self.state, self.client = ctx, ctx.state, client
        self.jobs_by_repo: dict[tuple[str, str], list[SyncJob] | None] = dict(jobs_by_repo)
        self.now, self.max_resync, self.resync_on, self.dry_run = now, settings.max_resync, resync, dry_run
        # Keys the job-based check decided on this run (failed ones), with its re-sync outcome.
        self.classic = classic
        self.concurrency, self.page_size, self.log = settings.concurrency, settings.page_size, log
        self.reserve = 2 * settings.alert_timeout + settings.http_timeout + 1.0
        self.result = ProofResult()
        self.alerts: list[Alert] = []

    # -- evidence ----------------------------------------------------------------------------------------------

    def _jobs(self, namespace: str, repository: str) -> list[SyncJob] | None:
        """The repository's recent jobs; None if they could not be read (then only a tag proves anything)."""
        key = (namespace, repository)
        if key not in self.jobs_by_repo:
            try:  # outside the monitor's scope: the newest page is enough for recent pushes
                page = self.client.list_sync_jobs(namespace, repository, self.page_size)
                self.jobs_by_repo[key] = page.items
            except SwrSyncError as err:
                self._problem("jobs", f"{namespace}/{repository}", err)
                self.jobs_by_repo[key] = None
        return self.jobs_by_repo[key]

    def _tags(self, region: str, namespace: str, repository: str) -> dict[str, Tag] | None:
        try:
            client = self.ctx.client_for(region)
            self.result.listings += 1
            return {t.tag: t for t in client.list_tags(namespace, repository)}
        except NotFound:
            return {}  # the repository does not exist in the target yet: no tag of it arrived
        except (SwrSyncError, ValueError) as err:
            self._problem("tags", f"{region}/{namespace}/{repository}", err)
            return None

    def _problem(self, what: str, where: str, err: BaseException) -> None:
        detail = clip(str(err), 300)
        self.result.problems.append({"what": what, "where": where, "error": detail})
        self.log.warning("proof: could not read", what=what, where=where, error=detail)

    # -- the run -----------------------------------------------------------------------------------------------

    def run(self) -> tuple[ProofResult, list[Alert]]:
        try:
            self._run()
        except StateUnavailable as err:
            self.result.degraded = str(err)
            self.log.warning("proof: state store unavailable, the run goes on without it", error=str(err))
        return self.result, self.alerts

    def _run(self) -> None:
        intents = open_intents(self.state, self.ctx.max_intents)
        self.result.checked = len(intents)
        groups: dict[tuple[str, str, str], list[Intent]] = {}
        for intent in intents:
            if intent.status == "failed":  # recorded failed by push-sync (a permanent failure): alert it once
                self._close(intent, "failed", intent.reason, "rejected")
                continue
            if latest_id(self.state, intent) not in (None, intent.id):
                self._close(intent, "superseded", "a newer push of this tag to this target exists", None)
                continue
            groups.setdefault((intent.region, intent.target_namespace, intent.repository), []).append(intent)
        decisions: list[_Decision] = []
        for n, ((region, target_ns, repository), members) in enumerate(groups.items()):
            if self.client.deadline.remaining() < self.reserve:
                # Keep the time alerts and the answer need: the rest waits (open) for the next run.
                left = len(groups) - n
                self.result.problems.append(
                    {"what": "deadline", "where": f"{left} repositories", "error": ""}
                )
                break
            tags = self._tags(region, target_ns, repository)
            if tags is None:
                continue  # unreadable this run: the intents stay open as they are
            for intent in members:
                jobs = self._jobs(intent.namespace, intent.repository)
                d = decide(intent, tags, jobs or [], self.now, self.ctx.verify_after)
                if jobs is not None or d.status == "verified":  # no job history: no failed/missing verdict
                    decisions.append(d)
        self._apply(decisions)
        self._summarise()

    def _apply(self, decisions: list[_Decision]) -> None:
        to_resync: list[_Decision] = []
        for d in decisions:
            intent = d.intent
            if d.status == "verified":
                self._verified(d)
            elif d.status == "failed" and d.reason.startswith("digest mismatch"):
                self._close(intent, "failed", d.reason, "mismatch")
            elif d.status == "failed" and _key(intent) in self.classic:
                # The job-based check owns this failed job: its re-sync counts, its alert covers the key.
                outcome = self.classic[_key(intent)]
                if outcome == ISSUED:
                    to_resync.append(d)
                elif outcome not in PASSING:
                    self._close(intent, "failed", f"{d.reason}; re-sync budget used, alerted by key", None)
            elif d.status == "failed":
                if self._may_resync(intent, self.max_resync):
                    to_resync.append(d)
                else:
                    why = f"{d.reason}; re-sync budget used ({intent.resyncs} of {self.max_resync})"
                    self._close(intent, "failed", why, "failed")
            elif d.status == "missing":
                if self._may_resync(intent, 1):
                    to_resync.append(d)
                else:
                    self._close(
                        intent, "missing", f"{d.reason}; {intent.resyncs} re-sync(s) issued", "missing"
                    )
        self._resync(to_resync)

    def _may_resync(self, intent: Intent, budget: int) -> bool:
        return self.resync_on and intent.resyncs < budget

    def _verified(self, d: _Decision) -> None:
        intent = d.intent
        arrived = d.tag.updated if d.tag is not None and d.tag.updated is not None else self.now
        arrived = min(max(arrived, intent.created_at), self.now)
        lag = (arrived - intent.created_at).total_seconds()
        self.result.verified += 1
        self._save_closed(intent, "verified", d.reason, job=d.job)
        if self.dry_run:
            return  # a dry run writes nothing and takes no marker (a recovery stays to announce)
        self.state.push_recent(LagSample(seconds=lag, at=self.now), intent.region, LAG_KEPT, MARKER_TTL)
        known = self.state.read(LagRegions, "all")
        regions = set(known.regions) if known is not None else set()
        if intent.region not in regions:
            regions.add(intent.region)
            self.state.write(LagRegions(regions=sorted(regions)[:200]), "all", MARKER_TTL)
        alerted = self.state.read(Alerted, intent.target_key)
        if alerted is not None and self.state.once(
            "recovery", f"{intent.target_key}:{alerted.at.isoformat()}", MARKER_TTL
        ):
            self.state.remove(Alerted, intent.target_key)
            reason = f"verified in the target region (alerted {alerted.at.strftime('%Y-%m-%d %H:%M:%SZ')})"
            self.alerts.append(intent_alert(intent, "recovered", reason))

    def _save_closed(
        self, intent: Intent, status: str, reason: str, job: SyncJob | None = None, alerted: bool = False
    ) -> Intent:
        updated = intent.model_copy(
            update={
                "status": status,
                "reason": clip(reason, 500),
                "settled_at": self.now,
                "job_id": job.id if job is not None else intent.job_id,
                "alerted": alerted or intent.alerted,
            }
        )
        if not self.dry_run:
            save(self.state, updated)
        self.result.settled.append(
            {"intent": intent.id, "key": intent.label, "status": status, "reason": reason}
        )
        return updated

    def _close(self, intent: Intent, status: str, reason: str, alert_kind: str | None) -> None:
        if status == "missing":
            self.result.missing += 1
        elif status == "failed":
            self.result.failed += 1
        elif status == "superseded":
            self.result.superseded += 1
        if alert_kind is None:
            self._save_closed(intent, status, reason)
            return
        # Only the run that takes the marker alerts (overlapping runs, repeated runs, a spoofed trigger).
        if self.dry_run or self.state.once("intent-alert", f"{intent.id}:{status}", MARKER_TTL):
            self.alerts.append(intent_alert(intent, alert_kind, reason))
            if intent.region and not self.dry_run:
                self.state.write(Alerted(at=self.now, label=intent.label), intent.target_key, MARKER_TTL)
        self._save_closed(intent, status, reason, alerted=True)

    def _resync(self, decisions: list[_Decision]) -> None:
        if self.dry_run:
            for d in decisions:
                self.result.settled.append(
                    {
                        "intent": d.intent.id,
                        "key": d.intent.label,
                        "status": "would_resync",
                        "reason": d.reason,
                    }
                )
            return
        mine: list[_Decision] = []
        for d in decisions:
            intent = d.intent
            if self.classic.get(_key(intent)) == ISSUED:
                mine.append(d)  # the job-based re-sync of this run covered it: count it, issue nothing more
                continue
            # One run per attempt: the marker is the lock against overlapping runs re-syncing the same key.
            if self.state.once("intent-resync", f"{intent.id}:{intent.resyncs + 1}", MARKER_TTL):
                mine.append(d)
        items = [
            SyncItem(i.namespace, i.repository, i.tag, i.region, i.target_namespace, i.override)
            for i in (d.intent for d in mine)
            if self.classic.get(_key(i)) != ISSUED
        ]
        failed_items: set[tuple[Any, ...]] = set()
        if items:
            for outcome in run_groups(group_syncs(items), sync_call(self.client), self.concurrency):
                # A 200 means triggered: SWR's list is never read as failed tags (see shared/batching.py).
                if outcome.error is not None:
                    self._problem("resync", "/".join(outcome.group.key[:3]), outcome.error)
                    failed_items.update((*outcome.group.key, t) for t in outcome.group.tags)
        for d in mine:
            i = d.intent
            if (i.namespace, i.repository, i.region, i.target_namespace, i.override, i.tag) in failed_items:
                continue  # not issued: the intent stays as it was, the next run tries attempt N again
            self.result.resynced += 1
            updated = i.model_copy(
                update={
                    "resyncs": i.resyncs + 1,
                    "last_action_at": self.now,
                    "reason": clip(f"{d.status}: {d.reason}; re-synced", 500),
                }
            )
            save(self.state, updated)
            self.log.info("proof: re-synced", key=i.label, why=d.status, attempt=updated.resyncs)

    def _summarise(self) -> None:
        self.result.pending = self.state.index_size(OPEN_INDEX)
        oldest = self.state.index_oldest(OPEN_INDEX, 1)
        if oldest:
            self.result.oldest_pending_age_seconds = round(max(0.0, self.now.timestamp() - oldest[0][1]), 1)
        known = self.state.read(LagRegions, "all")
        self.result.lag = lag_by_region(self.state, known.regions if known is not None else [])
